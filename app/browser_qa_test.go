package main

import (
	"testing"

	"github.com/chromedp/chromedp"

	"parley/models/store/storetest"
)

// TestBrowserQA makes a test case from the seeded transcript (Make a test,
// the proposed assertions checked, a new suite), runs the suite and watches
// the progress bar reach 100% and the case pass, in chromium.
func TestBrowserQA(t *testing.T) {
	chrome := chromiumPath(t)
	bin := buildBinary(t)
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			base, _ := seeded(t, bin, d, "qa-lead@example.com")
			ctx := newBrowser(t, chrome)
			step := stepper(t, ctx)
			shot := func(name string) { screenshot(ctx, "qa-"+name+"-"+d) }
			step("sign in", signIn(base, "qa-lead@example.com"))
			step("open the seeded transcript",
				click(link("Conversations")),
				click(link("Sample: refund question")),
				chromedp.WaitVisible(heading("Sample: refund question")))
			step("make a test: the proposals are checked",
				click(link("Make a test")),
				chromedp.WaitVisible(heading("New test case")),
				visible(`//table[contains(@class,"assertions")]//tr[.//select/option[@selected and @value="retrieved"] and .//input[@type="checkbox" and @checked]]`),
				visible(`//textarea[@name="t0-user" and contains(., "annual Plus plan")]`))
			shot("case-form")
			step("save it into a new suite",
				fill(field("Or a new suite named"), "Refunds"),
				click(button("Save test case")),
				chromedp.WaitVisible(heading("Refunds")),
				visible(`//table//a[normalize-space()="From Sample: refund question"]`))
			step("run the suite and see the progress bar reach 100%",
				click(button("Run suite")),
				visible(`//h1[starts-with(normalize-space(), "Run ") and contains(., "of Refunds")]`),
				visible(`//progress[@id="run-bar" and @max="1" and @value="1"]`),
				visible(`//p[@id="run-counts" and contains(., "100%") and contains(., "1 of 1 finished") and contains(., "1 passed")]`),
				visible(`//ol[@class="results"]//summary[contains(., "✓ pass") and contains(., "From Sample: refund question")]`))
			shot("run")
			step("the result's timeline is one click away",
				click(chromedp.Search(`//ol[@class="results"]//summary[contains(., "From Sample: refund question")]`)),
				click(link("Why: the replayed conversation's timeline")),
				visible(`//dt[normalize-space()="Test data"]`),
				visible(`//ol[@id="timeline"]/li[contains(@class,"type-context")]`))
		})
	}
}
