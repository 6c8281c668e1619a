package handlers

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"parley/models"
)

// hxGet fetches a fragment the way htmx does.
func (c *client) hxGet(path string) *resp {
	c.a.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("HX-Request", "true")
	return c.do(req)
}

// searchURL is the dataset's search route for question q.
func searchURL(datasetID, q string) string {
	return "/datasets/" + datasetID + "/search?q=" + url.QueryEscape(q)
}

var scoreCell = regexp.MustCompile(`<td class="mono">([01]\.\d\d)</td>`)

// scores are the scores a results fragment shows, in order.
func scores(body string) []string {
	var out []string
	for _, m := range scoreCell.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestDatasetSearch(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := t.Context()
		d := mustDataset(t, a.store, "Help center")
		add := func(datasetID, text, source string) *models.DatasetRecord {
			t.Helper()
			r, err := a.store.CreateRecord(ctx, models.DatasetRecord{DatasetID: datasetID, Text: text, Source: source})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		refund := add(d.ID, "Refunds: you get your money back within 30 days of buying an annual plan.", "https://example.com/help/refunds")
		pricing := add(d.ID, "The annual plan costs 120 euros a year.", "pricing page")
		add(d.ID, "To reset your password, use the link on the sign-in page.", "")
		other := mustDataset(t, a.store, "Other")
		add(other.ID, "Annual plan refunds for the other product are never possible.", "other")
		builder := a.as(models.RoleBuilder)

		t.Run("BoxOnDatasetPage", func(t *testing.T) {
			r := builder.get("/datasets/" + d.ID)
			wantStatus(t, r, 200)
			wantBody(t, r, `<label for="f-q">What would the bot retrieve for this question?</label>`, `id="f-q" name="q" type="search"`,
				`action="/datasets/`+d.ID+`/search"`, `hx-get="/datasets/`+d.ID+`/search"`, `hx-target="#search-results"`,
				`<button type="submit">Search records</button>`, `<div id="search-results"`)
		})
		t.Run("Fragment", func(t *testing.T) {
			r := builder.hxGet(searchURL(d.ID, "Can I get my money back for the annual plan?"))
			wantStatus(t, r, 200)
			wantBody(t, r, "The bot would retrieve these 2 records for", refund.Text, "https://example.com/help/refunds", pricing.Text, "pricing page",
				`href="/datasets/`+d.ID+`/records/`+refund.ID+`/edit"`, `href="/datasets/`+d.ID+`/records/`+pricing.ID+`/edit"`)
			wantNoBody(t, r, "<html", "password", "never possible", `id="f-q"`)
			if i, j := strings.Index(r.Body, refund.Text), strings.Index(r.Body, pricing.Text); i > j {
				t.Errorf("the refund record (more words of the question) is listed after the pricing one")
			}
			got := scores(r.Body)
			if len(got) != 2 || got[0] <= got[1] {
				t.Errorf("scores %v, want two, with 2 decimals, best first; body:\n%s", got, r.Body)
			}
		})
		t.Run("PageWithoutJavaScript", func(t *testing.T) {
			q := `money back "annual" <plan>`
			r := builder.get(searchURL(d.ID, q))
			wantStatus(t, r, 200)
			wantBody(t, r, "<html", "<title>Search Help center", `value="money back &#34;annual&#34; &lt;plan&gt;"`,
				"What would the bot retrieve for this question?", refund.Text, `href="/datasets/`+d.ID+`"`)
			if got := scores(r.Body); len(got) != 2 {
				t.Errorf("scores %v, want two", got)
			}
		})
		t.Run("EmptyQuestion", func(t *testing.T) {
			for _, path := range []string{"/datasets/" + d.ID + "/search", searchURL(d.ID, "   ")} {
				r := builder.hxGet(path)
				wantStatus(t, r, 200)
				wantBody(t, r, "Type a question the way a user would ask it")
				wantNoBody(t, r, "Nothing matches", "<table")
			}
		})
		t.Run("NothingMatches", func(t *testing.T) {
			for _, q := range []string{"helicopter", "what is it?", `"*" NEAR ( -`} {
				r := builder.hxGet(searchURL(d.ID, q))
				wantStatus(t, r, 200)
				wantBody(t, r, "Nothing matches: the bot would use its mismatch instruction.")
				wantNoBody(t, r, "<table")
			}
		})
		t.Run("DatasetSettings", func(t *testing.T) {
			few := *d
			few.SearchMaxRecords = 1
			if _, err := a.store.UpdateDataset(ctx, few); err != nil {
				t.Fatal(err)
			}
			r := builder.hxGet(searchURL(d.ID, "annual plan money back"))
			wantBody(t, r, "The bot would retrieve this record for", "at most 1,", refund.Text)
			wantNoBody(t, r, pricing.Text)

			strict := few
			strict.SearchMaxRecords, strict.SearchMinScore = 3, 1
			if _, err := a.store.UpdateDataset(ctx, strict); err != nil {
				t.Fatal(err)
			}
			r = builder.hxGet(searchURL(d.ID, "pricing euros"))
			wantBody(t, r, "Nothing matches: the bot would use its mismatch instruction.")

			off := few
			off.SearchMaxRecords = 0
			if _, err := a.store.UpdateDataset(ctx, off); err != nil {
				t.Fatal(err)
			}
			r = builder.hxGet(searchURL(d.ID, "annual plan money back"))
			wantBody(t, r, "Records to retrieve is 0: bots retrieve nothing from this dataset.")
			wantNoBody(t, r, refund.Text)

			if _, err := a.store.UpdateDataset(ctx, *d); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("ReadOnlyRoleHasNoEditLinks", func(t *testing.T) {
			r := a.as(models.RoleQA).hxGet(searchURL(d.ID, "annual plan"))
			wantStatus(t, r, 200)
			wantBody(t, r, refund.Text)
			wantNoBody(t, r, "/edit")
		})
		t.Run("EscapesRecordText", func(t *testing.T) {
			x := mustDataset(t, a.store, "Markup")
			add(x.ID, `Zeppelin <script>alert(1)</script> tours`, `<b>source</b>`)
			r := builder.hxGet(searchURL(x.ID, "zeppelin"))
			wantBody(t, r, "Zeppelin &lt;script&gt;alert(1)&lt;/script&gt; tours", "&lt;b&gt;source&lt;/b&gt;")
			wantNoBody(t, r, "<script>", "<b>")
		})
		t.Run("UnknownDataset", func(t *testing.T) {
			wantStatus(t, builder.get(searchURL(models.NewID(), "refund")), 404)
			wantStatus(t, builder.get(searchURL("nope", "refund")), 404)
		})
		t.Run("SupportMayNotSearch", func(t *testing.T) {
			wantStatus(t, a.as(models.RoleSupport).get(searchURL(d.ID, "refund")), 403)
		})
	})
}
