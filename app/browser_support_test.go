package main

import (
	"context"
	"fmt"
	"strings"

	"testing"

	"github.com/chromedp/chromedp"

	"parley/models/store/storetest"
)

// TestBrowserSupportReview is support's round trip in chromium: search for a
// phrase, open the hit in its transcript, make a tag and put it on the
// message, set the review to needs fix, find the conversation again by the
// tag, and export that filtered list.
func TestBrowserSupportReview(t *testing.T) {
	chrome := chromiumPath(t)
	bin := buildBinary(t)
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			base, _ := seeded(t, bin, d, "lead@example.com")
			ctx := newBrowser(t, chrome)
			step := stepper(t, ctx)
			userMsg := `//li[contains(@class,"type-user") and contains(., "money back")]`
			step("sign in", signIn(base, "lead@example.com"))
			step("search for a phrase",
				click(link("Conversations")),
				fill(field("Search messages"), "money back"),
				click(button("Filter")),
				visible(`//a[contains(@class,"hit")]/mark[normalize-space()="money"]`))
			step("open the hit in its transcript",
				click(chromedp.Search(`//a[contains(@class,"hit")]`)),
				chromedp.WaitVisible(heading("Sample: refund question")),
				visible(userMsg))
			step("make a tag for the bot",
				click(chromedp.Search(`//summary[starts-with(normalize-space(),"Tags of this bot")]`)),
				fill(field("New tag"), "wrong answer"),
				choose("Colour", "red"),
				click(button("Add tag")),
				visible(`//section[@id="review-card"]//span[contains(@class,"tag-red") and contains(., "wrong answer")]`))
			step("tag the message",
				chromedp.Reload(),
				click(chromedp.Search(userMsg+`//button[normalize-space()="Tag"]`)),
				visible(userMsg+`//ul[@aria-label="Tags"]//span[normalize-space()="wrong answer"]`))
			step("set the review to needs fix",
				choose("Status", "Needs fix"),
				click(button("Save review")),
				visible(`//section[@id="review-card"]//*[@role="status" and normalize-space()="Review saved."]`))
			screenshot(ctx, "conversation-"+d)
			step("find the conversation by its tag",
				click(link("Conversations")),
				choose("Tag", "wrong answer · Northwind Support"),
				click(button("Filter")),
				chromedp.WaitVisible(link("Show all")), // the filtered page, not the one before
				visible(`//table[contains(@class,"conversation-list")]//tr[contains(., "Sample: refund question") and contains(., "Needs fix")]`))
			screenshot(ctx, "conversations-"+d)
			step("export the filtered list", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				body, err := chromedp.Evaluate[string](`fetch(document.evaluate('//a[normalize-space()="Export JSONL"]', document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue.href).then(r => r.text())`,
					chromedp.EvalAwaitPromise)(ctx, tg)
				if err != nil {
					return err
				}
				lines := strings.Split(strings.TrimSpace(body), "\n")
				if len(lines) != 1 || !strings.Contains(lines[0], `"name":"Sample: refund question"`) || !strings.Contains(lines[0], `"name":"wrong answer"`) ||
					!strings.Contains(lines[0], `"reviewStatus":"needs_fix"`) {
					return fmt.Errorf("export of the tag's filter = %s", shorten(body, 500))
				}
				return nil
			}))
		})
	}
}
