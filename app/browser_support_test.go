package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
			tagRow := func(name string) string {
				return `//ul[@aria-label="Tags of this bot"]/li[span[contains(@class,"tag") and starts-with(normalize-space(), ` + xq(name) + `)]]`
			}
			step("add a second tag",
				click(link("Sample: refund question")),
				chromedp.WaitVisible(heading("Sample: refund question")),
				click(chromedp.Search(`//summary[starts-with(normalize-space(),"Tags of this bot")]`)),
				fill(field("New tag"), "billing"),
				click(button("Add tag")),
				visible(tagRow("billing")))
			step("a rename to a name the bot has is refused, the input kept",
				fill(field("Name of tag billing"), "Wrong Answer"),
				click(button("Save tag billing")),
				visible(`//p[contains(@class,"error-text") and normalize-space()="This bot already has a tag with that name."]`),
				visible(`//input[@aria-invalid="true" and @value="Wrong Answer"]`))
			step("rename and recolour a tag",
				fill(field("Name of tag billing"), "refund policy"),
				choose("Colour of tag billing", "blue"),
				click(button("Save tag billing")),
				visible(`//*[@role="status" and normalize-space()="Tag refund policy saved."]`),
				visible(tagRow("refund policy")+`/span[contains(@class,"tag-blue")]`))
			screenshot(ctx, "tags-"+d)
			step("the tag list fits 390 px", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
				waitJS(`document.documentElement.scrollWidth <= window.innerWidth`),
				chromedp.ScrollIntoView(chromedp.Search(`//ul[@aria-label="Tags of this bot"]`)))
			if dir := os.Getenv("PARLEY_SCREENSHOT_DIR"); dir != "" {
				if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
					_ = os.WriteFile(filepath.Join(dir, "tags-390-"+d+".png"), png, 0o644)
				}
			}
			step("back to the desktop", chromedp.EmulateViewport(1280, 900))
			step("delete a tag after a confirmation that counts its messages",
				click(chromedp.Search(`//a[@aria-label="Delete tag wrong answer"]`)),
				chromedp.WaitVisible(heading(`Delete tag "wrong answer"?`)),
				visible(`//p[normalize-space()="1 message carries it: the tag will be taken off it."]`),
				click(button("Delete tag")),
				chromedp.WaitVisible(heading("Sample: refund question")),
				visible(`//*[contains(normalize-space(), "Tag wrong answer deleted and taken off 1 message.")]`))
			step("the message no longer carries it",
				chromedp.Reload(),
				chromedp.WaitVisible(chromedp.Search(userMsg)),
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					n, err := chromedp.Evaluate[int](`document.evaluate('count(`+userMsg+`//ul[@aria-label="Tags"]//span[normalize-space()="wrong answer"])', document, null, XPathResult.NUMBER_TYPE, null).numberValue`)(ctx, tg)
					if err == nil && n != 0 {
						err = fmt.Errorf("the message still shows the deleted tag")
					}
					return err
				}))
		})
	}
}
