package main

import (
	"testing"

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
	step("a dataset with a record",
		click(link("Datasets")),
		click(link("New dataset")),
		fill(field("Name"), "Weather FAQ"),
		click(button("Create dataset")),
		chromedp.WaitVisible(heading("Weather FAQ")),
		fill(field("Text"), "Forecasts cover the next 5 days and are updated every hour."),
		click(button("Add record")),
		visible(`//td[contains(., "Forecasts cover the next 5 days")]`))
	step("a skillset with an HTTP fetch ability, through the form",
		click(link("Skillsets")),
		click(link("New skillset")),
		fill(field("Name"), "Weather tools"),
		click(button("Create skillset")),
		click(chromedp.Search(`//a[normalize-space()="New ability" or starts-with(normalize-space(), "Add the first ability")]`)),
		fill(field("Name"), "Forecast"),
		fill(field("When to use it"), "Use when asked about the weather in a city."),
		click(chromedp.Search(`//input[@name="action" and @value="fetch"]`)),
		visible(`//label[normalize-space()="URL template"]`),
		fill(field("URL template"), "https://weather.example/forecast?city={city}"),
		visible(`//p[@id="url-check" and contains(., "No parameter for {city}")]`),
		fill(chromedp.Search(`//input[@name="paramName"]`), "city"),
		fill(chromedp.Search(`//input[@name="paramDescription"]`), "The city to forecast"),
		waitJS(`document.getElementById("url-check").textContent === ""`),
		click(button("Add a parameter")),
		waitJS(`document.querySelectorAll('input[name="paramName"]').length === 2`),
		click(chromedp.Search(`(//button[normalize-space()="Remove"])[2]`)),
		waitJS(`document.querySelectorAll('input[name="paramName"]').length === 1`),
		click(button("Add ability")),
		chromedp.WaitVisible(heading("Forecast")),
		visible(`//code[normalize-space()="GET https://weather.example/forecast?city={city}"]`),
		visible(`//section[@id="ability-try"]//code[normalize-space()="city"]`))
	step("the bot, with the dataset and the skillset",
		click(link("Bots")),
		click(chromedp.Search(`//a[normalize-space()="New bot" or normalize-space()="Create your first bot"]`)),
		fill(field("Name"), "Weather bot"),
		fill(field("Backstory"), "You answer questions about forecasts."),
		click(button("Create bot")),
		chromedp.WaitVisible(heading("Weather bot")),
		choose("Dataset to attach", "Weather FAQ"),
		click(button("Attach dataset")),
		visible(`//section[@aria-labelledby="h-datasets"]//a[normalize-space()="Weather FAQ"]`),
		choose("Skillset to attach", "Weather tools"),
		click(button("Attach skillset")),
		visible(`//section[@aria-labelledby="h-skillsets"]//a[normalize-space()="Weather tools"]`))
	step("test it: the first answer",
		click(button("Test this bot")),
		visible(`//h1[starts-with(normalize-space(), "Test of Weather bot")]`),
		fill(field("Message"), "How many days do forecasts cover?"),
		click(button("Send")),
		visible(`//div[@id="chat"]/div[contains(@class,"bot") and not(contains(@class,"streaming")) and contains(., "next 5 days")]`))
	step("edit the backstory beside the chat and retry: two clicks",
		click(chromedp.Search(`//summary[starts-with(normalize-space(), "Edit Weather bot beside the chat")]`)),
		fill(field("Backstory"), "You answer questions about forecasts, in one sentence."),
		click(button("Save and retry last turn")),
		waitJS(`document.querySelectorAll('#chat .bubble.bot:not(.streaming)').length === 2`),
		visible(`//ol[@id="timeline"]/li[contains(@class,"type-bot")]//span[contains(@class,"badge") and normalize-space()="retried"]`),
		visible(`//ol[@id="timeline"]/li[contains(@class,"type-bot")]//a[normalize-space()="version 4"]`))
}
