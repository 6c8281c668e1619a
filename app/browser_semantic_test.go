package main

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"parley/app/provider/embedtest"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// TestBrowserSemanticSearch turns on semantic search for the seeded dataset
// in chromium, with the fake embeddings server as the provider: the dataset
// page's card counts the records being embedded by the server's job queue
// until all are (htmx polling), a record added then is embedded too, and
// "can I pay with bitcoin" finds "We do not accept cryptocurrency." with its
// vector score.
func TestBrowserSemanticSearch(t *testing.T) {
	chrome := chromiumPath(t)
	bin := buildBinary(t)
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			fake := embedtest.New(t)
			base, dbURL := seeded(t, bin, d, "builder-lead@example.com")
			st, err := store.Open(context.Background(), dbURL, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.CreateProvider(context.Background(), models.Provider{Name: "fake", Kind: models.ProviderKindOpenAI,
				BaseURL: fake.URL, TimeoutSeconds: 5}, ""); err != nil {
				t.Fatal(err)
			}
			ctx := newBrowser(t, chrome)
			step := stepper(t, ctx)
			step("sign in and open the seeded dataset's settings", signIn(base, "builder-lead@example.com"),
				click(link("Datasets")),
				click(link("Northwind Help Center")),
				visible(`//section[@id="semantic"]//dd[contains(., "keyword search only")]`),
				click(link("Edit")))
			step("choose the embeddings model and save",
				choose("Embeddings provider", "fake"),
				fill(field("Embeddings model"), "fake-embed"),
				click(button("Save dataset")),
				chromedp.WaitVisible(heading("Northwind Help Center")))
			step("the card counts the records until all 20 are embedded",
				visible(`//section[@id="semantic"]//p[contains(., "20 of 20")]`))
			step("a record added now is embedded too",
				fill(field("Text"), "We do not accept cryptocurrency."),
				click(button("Add record")),
				visible(`//section[@id="semantic"]//p[contains(., "21 of 21")]`))
			step("a bitcoin question finds the cryptocurrency record by meaning",
				fill(field("What would the bot retrieve for this question?"), "can I pay with bitcoin"),
				click(button("Search records")),
				visible(`//div[@id="search-results"]//p[contains(., "Keyword and semantic results fused")]`),
				visible(`//div[@id="search-results"]//tr[td[contains(., "We do not accept cryptocurrency.")]]`))
			screenshot(ctx, "semantic-"+d)
		})
	}
}
