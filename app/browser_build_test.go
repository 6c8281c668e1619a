package main

import (
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"parley/models/store/storetest"
)

// TestBrowserBuildABot builds a bot from an empty install with the forms
// alone — no JSON typed: a dataset with a record, a skillset with an HTTP
// fetch ability (its parameter added in place), the bot with both attached —
// tests it, then edits its backstory beside the chat and retries, seeing the
// second answer linked to the first.
func TestBrowserBuildABot(t *testing.T) {
	chrome := chromiumPath(t)
	bin := buildBinary(t)
	d := storetest.Dialects(t)[0]
	base := startBinary(t, bin, storetest.URL(t, d))
	ctx := newBrowser(t, chrome)
	step := stepper(t, ctx)
	step("set up the first admin",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(heading("Welcome to Parley")),
		fill(field("Email"), "builder@example.com"),
		fill(field("Password"), "correct horse battery"),
		fill(field("Confirm password"), "correct horse battery"),
		click(button("Create admin account")),
		chromedp.WaitVisible(heading("Dashboard")))

	// From the dashboard on, count what a builder does: clicks (buttons,
	// links, radio buttons), choices in a select, and full page loads.
	var clicks, picks int
	var loads atomic.Int32
	tap := func(sel chromedp.Search) chromedp.Action[chromedp.Void] { clicks++; return click(sel) }
	pick := func(label, option string) chromedp.Action[chromedp.Void] { picks++; return choose(label, option) }
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventLoadEventFired); ok {
			loads.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	phase := func(name string, clicks0, picks0 int, loads0 int32) (int, int32) {
		c, l := clicks-clicks0, loads.Load()-loads0
		t.Logf("%s: %d clicks, %d choices in a select, %d page loads", name, c, picks-picks0, l)
		return c, l
	}
	step("a dataset with a record",
		tap(link("Datasets")),
		tap(link("New dataset")),
		fill(field("Name"), "Weather FAQ"),
		tap(button("Create dataset")),
		chromedp.WaitVisible(heading("Weather FAQ")),
		fill(field("Text"), "Forecasts cover the next 5 days and are updated every hour."),
		tap(button("Add record")),
		visible(`//td[contains(., "Forecasts cover the next 5 days")]`))
	step("a skillset with an HTTP fetch ability, through the form",
		tap(link("Skillsets")),
		tap(link("New skillset")),
		fill(field("Name"), "Weather tools"),
		tap(button("Create skillset")),
		tap(chromedp.Search(`//a[normalize-space()="New ability" or starts-with(normalize-space(), "Add the first ability")]`)),
		fill(field("Name"), "Forecast"),
		fill(field("When to use it"), "Use when asked about the weather in a city."),
		tap(chromedp.Search(`//input[@name="action" and @value="fetch"]`)),
		visible(`//label[normalize-space()="URL template"]`),
		fill(field("URL template"), "https://weather.example/forecast?city={city}"),
		visible(`//p[@id="url-check" and contains(., "No parameter for {city}")]`),
		fill(chromedp.Search(`//input[@name="paramName"]`), "city"),
		fill(chromedp.Search(`//input[@name="paramDescription"]`), "The city to forecast"),
		waitJS(`document.getElementById("url-check").textContent === ""`),
		tap(button("Add a parameter")),
		waitJS(`document.querySelectorAll('input[name="paramName"]').length === 2`),
		tap(chromedp.Search(`(//button[normalize-space()="Remove"])[2]`)),
		waitJS(`document.querySelectorAll('input[name="paramName"]').length === 1`),
		tap(button("Add ability")),
		chromedp.WaitVisible(heading("Forecast")),
		visible(`//code[normalize-space()="GET https://weather.example/forecast?city={city}"]`),
		visible(`//section[@id="ability-try"]//code[normalize-space()="city"]`))
	step("the bot, with the dataset and the skillset",
		tap(link("Bots")),
		tap(chromedp.Search(`//a[normalize-space()="New bot" or normalize-space()="Create your first bot"]`)),
		fill(field("Name"), "Weather bot"),
		fill(field("Backstory"), "You answer questions about forecasts."),
		tap(button("Create bot")),
		chromedp.WaitVisible(heading("Weather bot")),
		pick("Dataset to attach", "Weather FAQ"),
		tap(button("Attach dataset")),
		visible(`//section[@aria-labelledby="h-datasets"]//a[normalize-space()="Weather FAQ"]`),
		pick("Skillset to attach", "Weather tools"),
		tap(button("Attach skillset")),
		visible(`//section[@aria-labelledby="h-skillsets"]//a[normalize-space()="Weather tools"]`))
	step("test it: the first answer",
		tap(button("Test this bot")),
		visible(`//h1[starts-with(normalize-space(), "Test of Weather bot")]`),
		fill(field("Message"), "How many days do forecasts cover?"),
		tap(button("Send")),
		visible(`//div[@id="chat"]/div[contains(@class,"bot") and not(contains(@class,"streaming")) and contains(., "next 5 days")]`))
	phase("empty install → bot with a dataset, an ability and its first answer", 0, 0, 0)
	clicks0, picks0, loads0 := clicks, picks, loads.Load()
	step("edit the backstory beside the chat and retry: two clicks",
		tap(chromedp.Search(`//summary[starts-with(normalize-space(), "Edit Weather bot beside the chat")]`)),
		fill(field("Backstory"), "You answer questions about forecasts, in one sentence."),
		tap(button("Save and retry last turn")),
		waitJS(`document.querySelectorAll('#chat .bubble.bot:not(.streaming)').length === 2`),
		visible(`//ol[@id="timeline"]/li[contains(@class,"type-bot")]//span[contains(@class,"badge") and normalize-space()="retried"]`),
		visible(`//ol[@id="timeline"]/li[contains(@class,"type-bot")]//a[normalize-space()="version 4"]`))
	if c, l := phase("edit the backstory → the new answer", clicks0, picks0, loads0); c != 2 || l != 0 {
		t.Errorf("edit and retry took %d clicks and %d page loads, want 2 and 0", c, l)
	}
}
