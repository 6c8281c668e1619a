package main

import (
	"testing"

	"github.com/chromedp/chromedp"

	"parley/models/store/storetest"
)

// TestBrowserBotHistory edits the seeded bot with a note, reads its History,
// compares the two versions with the selects, and restores the first one
// through its confirmation page, in chromium.
func TestBrowserBotHistory(t *testing.T) {
	chrome := chromiumPath(t)
	bin := buildBinary(t)
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			base, _ := seeded(t, bin, d, "lead@example.com")
			ctx := newBrowser(t, chrome)
			step := stepper(t, ctx)
			shot := func(name string) { screenshot(ctx, "history-"+name+"-"+d) }
			step("sign in", signIn(base, "lead@example.com"))
			step("edit the bot's backstory with a note",
				click(link("Bots")),
				click(link("Northwind Support")),
				click(link("Edit")),
				fill(field("Backstory"), "You are Northwind's support assistant.\nAnswer in two sentences at most."),
				fill(field("Change note"), "Shorter answers"),
				click(button("Save bot")),
				chromedp.WaitVisible(heading("Northwind Support")))
			step("open History and see the new version with its note",
				click(link("History")),
				chromedp.WaitVisible(heading("History of Northwind Support")),
				visible(`//table//tr[td/a[normalize-space()="Version 2"] and contains(., "Shorter answers") and contains(., "backstory edited")]`),
				visible(`//p[contains(., "Dataset records are not versioned")]`))
			shot("list")
			step("compare version 1 with version 2",
				choose("From version", "Version 1"),
				choose("To version", "Version 2 — Shorter answers"),
				click(button("Compare")),
				chromedp.WaitVisible(heading("Northwind Support: version 1 → version 2")),
				visible(`//div[@class="diff"]/div[contains(@class,"insert") and contains(., "two sentences")]`))
			shot("diff")
			step("restore version 1 after confirming",
				click(link("version 1")),
				click(link("Restore this version")),
				chromedp.WaitVisible(heading(`Restore version 1 of "Northwind Support"?`)),
				visible(`//p[contains(., "are not restored")]`),
				click(button("Restore version 1")),
				chromedp.WaitVisible(heading("History of Northwind Support")),
				visible(`//*[contains(., "Version 1 restored as version 3.")]`),
				visible(`//table//tr[td/a[normalize-space()="Version 3"] and contains(., "Restored version 1")]`))
			shot("restored")
		})
	}
}
