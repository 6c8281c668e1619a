package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/app/channel/webhook"
	"parley/models/store/storetest"
)

// TestBrowserIntegrations creates a webhook integration from the dashboard,
// posts a signed event to it as an outside system would, finds the event in
// the delivery audit as processed and opens its conversation; then checks
// that every integrations page fits a 390 px phone screen.
func TestBrowserIntegrations(t *testing.T) {
	chrome := chromiumPath(t)
	bin := buildBinary(t)
	base, _ := seeded(t, bin, storetest.Dialects(t)[0], "channels@example.com")
	ctx := newBrowser(t, chrome)
	step := stepper(t, ctx)

	step("sign in", signIn(base, "channels@example.com"))
	step("create a webhook integration from the Integrations page",
		chromedp.Navigate(base+"/integrations"),
		click(link("New webhook integration")),
		fill(field("Name"), "Shop"),
		choose("Bot *", "Northwind Support"),
		click(button("Create integration")),
		chromedp.WaitVisible(heading("Signing secret of “Shop”")))
	secret, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("secret-value").textContent.trim()`))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the page shows no signing secret: %q (%v)", secret, err)
	}
	step("back to the integration", click(link("Done: back to the integration")), chromedp.WaitVisible(heading("Shop")))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	id := loc[strings.LastIndex(loc, "/")+1:]

	body := []byte(`{"eventId":"evt-browser-1","conversationId":"customer-42","contact":{"fingerprint":"crm:42","name":"Ada"},"text":"Where is my order?"}`)
	req, err := http.NewRequest(http.MethodPost, base+"/channels/webhook/"+id+"?wait=1", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.SignatureHeader, webhook.Sign(secret, time.Now(), body))
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(got), `"status":"processed"`) {
		t.Fatalf("signed event: %d %s", res.StatusCode, got)
	}

	step("the delivery audit lists the event as processed",
		click(link("Delivery audit")),
		visible(`//table[contains(@class,"audit")]//tr[td[contains(., "evt-browser-1")] and td/span[normalize-space()="processed"]]`))
	step("the event page shows the payload and the reply",
		click(chromedp.Search(`//table[contains(@class,"audit")]//tr[td[contains(., "evt-browser-1")]]/td[1]/a`)),
		chromedp.WaitVisible(heading("Event evt-browser-1")),
		visible(`//pre[contains(@class,"payload") and contains(., "Where is my order?")]`),
		visible(`//section[@aria-labelledby="h-reply"]//span[normalize-space()="delivered"]`))
	step("open its conversation",
		click(link("Open the conversation")),
		visible(`//*[contains(normalize-space(text()), "Where is my order?")]`))

	fits := waitJS(`document.readyState === "complete" && document.documentElement.scrollWidth <= window.innerWidth`)
	step("a phone-sized screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, path := range []string{"/integrations", "/integrations/new?type=telegram", "/integrations/new?type=webhook",
		"/integrations/" + id, "/integrations/" + id + "/edit", "/integrations/" + id + "/events", "/contacts"} {
		step(fmt.Sprintf("%s fits 390 px", path), chromedp.Navigate(base+path), fits,
			visible(`//button[normalize-space()="Sign out"]`))
	}
	step("the event page fits 390 px",
		chromedp.Navigate(base+"/integrations/"+id+"/events"),
		click(chromedp.Search(`//table[contains(@class,"audit")]//tr[1]/td[1]/a`)),
		chromedp.WaitVisible(heading("Event evt-browser-1")), fits)
	step("the contact page fits 390 px",
		chromedp.Navigate(base+"/contacts?q=crm:42"), click(link("Ada")), chromedp.WaitVisible(heading("Ada")), fits)
}
