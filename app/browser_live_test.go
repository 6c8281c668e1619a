package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/models/store/storetest"
)

// waitJS waits until a JavaScript expression is true in the page.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			ok, err := chromedp.Evaluate[bool](expr)(ctx, t)
			if err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("never true: %s (%v)", expr, err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

// recordEvents listens to the conversation's live events in the page, as the
// workbench does, and counts them by type in window.__seen.
const recordEvents = `(() => { window.__seen = {}; const s = new EventSource(location.pathname + "/events");
	["token", "turn", "message", "deleted"].forEach(t => s.addEventListener(t, () => { window.__seen[t] = (window.__seen[t] || 0) + 1; }));
	return true; })()`

// apiCall calls Parley's API with an API secret and decodes the JSON answer.
func apiCall(t *testing.T, base, secret, path, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1"+path, strings.NewReader(body))
	if body == "" {
		req.Method = http.MethodGet
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %v", path, res.StatusCode, out)
	}
	return out
}

// TestBrowserWorkbenchLive follows one conversation in two tabs: every kind
// of live event reaches the second browser (the question, the streamed answer,
// turns starting and ending, a rating, a message deleted through the API),
// the header's message count follows, Retry is disabled until there is
// something to retry, and a message the server did not accept stays in the
// text box instead of vanishing behind "The bot is answering…".
func TestBrowserWorkbenchLive(t *testing.T) {
	chrome := chromiumPath(t)
	bin := buildBinary(t)
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			base, dbURL := seeded(t, bin, d, "qa-lead@example.com")
			mk := exec.Command(bin, "secret", "create", "--name", "live test")
			mk.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
			out, err := mk.Output()
			if err != nil {
				t.Fatalf("secret create: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			secret := lines[len(lines)-1]

			ctx := newBrowser(t, chrome)
			step := stepper(t, ctx)
			step("sign in and start a conversation with the seeded bot",
				signIn(base, "qa-lead@example.com"),
				chromedp.Navigate(base+"/conversations/new"),
				choose("Bot", "Northwind Support"),
				fill(field("Name"), "Live check"),
				click(button("Start conversation")),
				chromedp.WaitVisible(heading("Live check")))
			step("Retry is disabled: nothing to retry yet",
				visible(`//button[@id="retry-button" and @disabled]`),
				visible(`//dd[@id="message-count" and normalize-space()="0 messages"]`))
			loc, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			convID := loc[strings.LastIndex(loc, "/")+1:]

			// A second browser (a second window, a colleague): background tabs
			// of one headless browser are frozen.
			tab := newBrowser(t, chrome)
			step2 := stepper(t, tab)
			step2("open the same conversation in a second browser",
				signIn(base, "qa-lead@example.com"),
				chromedp.Navigate(loc),
				chromedp.WaitVisible(heading("Live check")),
				waitJS(recordEvents))

			step("ask; the box empties once the message is accepted and the count follows",
				fill(field("Message"), "Can I get a refund on my annual Plus plan?"),
				click(button("Send")),
				visible(`//div[@id="chat"]/div[contains(@class,"bot") and not(contains(@class,"streaming")) and contains(., "refunded in full within 30 days")]`),
				waitJS(`document.getElementById("f-text").value === ""`),
				visible(`//dd[@id="message-count" and normalize-space()="3 messages"]`),
				waitJS(`!document.getElementById("retry-button").disabled`))
			step2("the second browser sees the question, the streamed answer, the turn and the count",
				visible(`//div[@id="chat"]/div[contains(@class,"user") and contains(., "annual Plus plan")]`),
				visible(`//div[@id="chat"]/div[contains(@class,"bot") and not(contains(@class,"streaming")) and contains(., "refunded in full within 30 days")]`),
				visible(`//ol[@id="timeline"]/li[contains(@class,"type-context")]`),
				visible(`//dd[@id="message-count" and normalize-space()="3 messages"]`),
				waitJS(`window.__seen.token > 0 && window.__seen.turn >= 2 && window.__seen.message >= 3`))

			step("the answer that arrived live shows its exact prompt",
				click(chromedp.Search(`//ol[@id="timeline"]/li[contains(@class,"type-bot")]//summary[normalize-space()="Why this answer"]`)),
				click(chromedp.Search(`//ol[@id="timeline"]/li[contains(@class,"type-bot")]//summary[normalize-space()="Exact prompt"]`)),
				visible(`//ol[@id="timeline"]/li[contains(@class,"type-bot")]//ol[@class="prompt-messages"]/li[span[normalize-space()="system"] and contains(., "Northwind")]`))
			step("rate the answer",
				click(button("Upvote this answer")),
				visible(`//ol[@id="timeline"]/li[contains(@class,"type-bot")]//span[contains(@class,"badge") and normalize-space()="▲ 1"]`))
			step2("the second browser sees the rating",
				visible(`//ol[@id="timeline"]/li[contains(@class,"type-bot")]//span[contains(@class,"badge") and normalize-space()="▲ 1"]`))

			msgs := apiCall(t, base, secret, "/conversation/"+convID+"/message/list?order=asc", "")
			var contextID string
			for _, it := range msgs["items"].([]any) {
				if m := it.(map[string]any); m["type"] == "context" {
					contextID = m["id"].(string)
				}
			}
			apiCall(t, base, secret, "/conversation/"+convID+"/message/"+contextID+"/delete", "{}")
			step2("a message deleted through the API leaves the second browser",
				waitJS(fmt.Sprintf(`!document.getElementById("m-%s") && window.__seen.deleted >= 1`, contextID)),
				visible(`//dd[@id="message-count" and normalize-space()="2 messages"]`))

			// The conversation goes away behind the page's back: a message sent
			// now is not accepted, and must not be lost from the box.
			apiCall(t, base, secret, "/conversation/"+convID+"/delete", "{}")
			step("a message the server refuses stays in the box, and the page says so",
				fill(field("Message"), "Is anyone still there?"),
				click(button("Send")),
				visible(`//span[@id="chat-status" and starts-with(normalize-space(), "Not sent")]`),
				waitJS(`document.getElementById("f-text").value === "Is anyone still there?"`))
		})
	}
}
