package handlers

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"parley/models"
	"parley/models/store"
)

// importFixture imports n records ("<prefix> record i", source "<file>#i") as one
// import made by the builder.
func importFixture(t *testing.T, a *testApp, datasetID, file, prefix string, n int) *models.DatasetImport {
	t.Helper()
	recs := make([]models.DatasetRecord, n)
	for i := range recs {
		recs[i] = models.DatasetRecord{Text: fmt.Sprintf("%s record %d", prefix, i), Source: fmt.Sprintf("%s#%d", file, i)}
	}
	op := a.ops[models.RoleBuilder]
	ctx := store.WithActor(context.Background(), models.Actor{Kind: models.ActorOperator, ID: op.ID, Name: op.DisplayName()})
	imp, err := a.store.ImportBatch(ctx, models.DatasetImport{DatasetID: datasetID, FileName: file, Format: "csv"}, recs)
	if err != nil {
		t.Fatalf("ImportBatch: %v", err)
	}
	return imp
}

var recordCell = regexp.MustCompile(`<td>([^<]*record \d+)</td>`)

// shownRecords are the record texts a dataset page lists.
func shownRecords(body string) []string {
	var out []string
	for _, m := range recordCell.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// link returns the href of the link with rel (next, prev) on a page, unescaped.
func relLink(t *testing.T, body, rel string) string {
	t.Helper()
	m := regexp.MustCompile(`<a href="([^"]+)" rel="` + rel + `">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s link; body:\n%s", rel, shorten(body, 2000))
	}
	return html.UnescapeString(m[1])
}

func TestDatasetRecordFilter(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		builder := a.as(models.RoleBuilder)
		d := datasetFixture(t, a.store, "Filtered")
		base := "/datasets/" + d.ID
		for _, r := range []struct{ text, source string }{
			{"Refunds record 1", "https://help.example/billing/refunds"},
			{"Refunding annual record 2", "https://help.example/billing/annual"},
			{"Shipping record 3", "https://help.example/shipping"},
			{"Invoices record 4", "Billing.md#invoices"},
		} {
			if _, err := a.store.CreateRecord(context.Background(), models.DatasetRecord{DatasetID: d.ID, Text: r.text, Source: r.source}); err != nil {
				t.Fatal(err)
			}
		}
		imp := importFixture(t, a, d.ID, "faq.csv", "Imported refund", 2)

		for _, tc := range []struct {
			name, query string
			want        []string
		}{
			{"Words", "text=refund", []string{"Imported refund record 1", "Imported refund record 0", "Refunding annual record 2", "Refunds record 1"}},
			{"EveryWord", "text=refund+annual", []string{"Refunding annual record 2"}},
			{"Source", "source=" + url.QueryEscape("https://help.example/billing/"), []string{"Refunding annual record 2", "Refunds record 1"}},
			{"WordsAndSource", "text=refund&source=https", []string{"Refunding annual record 2", "Refunds record 1"}},
			{"SourceIsCaseSensitive", "source=billing", nil},
			{"Import", "import=" + imp.ID, []string{"Imported refund record 1", "Imported refund record 0"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := builder.get(base + "?" + tc.query)
				wantStatus(t, r, 200)
				if got := shownRecords(r.Body); strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Errorf("records = %q, want %q", got, tc.want)
				}
				wantBody(t, r, fmt.Sprintf("%d of 6 records match.", len(tc.want)), `<a href="`+base+`">Show all</a>`)
				if len(tc.want) == 0 {
					wantBody(t, r, "No record matches.")
					wantNoBody(t, r, "Delete all")
					return
				}
				v, _ := url.ParseQuery(tc.query)
				wantBody(t, r, fmt.Sprintf("Records 1–%d of %d", len(tc.want), len(tc.want)),
					fmt.Sprintf(`Delete all %d matching…`, len(tc.want)))
				for k := range v {
					wantBody(t, r, fmt.Sprintf(`<input type="hidden" name="%s" value="%s">`, k, html.EscapeString(v.Get(k))))
				}
			})
		}
		t.Run("ImportNamedOverTheList", func(t *testing.T) {
			r := builder.get(base + "?import=" + imp.ID)
			wantBody(t, r, "Only the records of the import of “faq.csv” by Builder on ")
		})
		t.Run("Unfiltered", func(t *testing.T) {
			r := builder.get(base)
			wantBody(t, r, "6 records in this dataset.", "Records 1–6 of 6", "Delete all 6 records…")
			wantNoBody(t, r, "Show all", "match.")
		})
		for _, tc := range []struct{ name, query, field, msg string }{
			{"ErrOnlyCommonWords", "text=how+is+the", "filter-text", "Type at least one word that is not a common one such as “the” or “how”"},
			{"ErrTooLong", "text=" + strings.Repeat("x", 201), "filter-text", "Type at most 200 characters of words to look for."},
			{"ErrBadImport", "import=nope", "", "This import filter is not valid"},
			{"ErrOtherDatasetsImport", "import=" + importFixture(t, a, datasetFixture(t, a.store, "Other").ID, "o.csv", "Other", 1).ID, "", "This import is not one of this dataset's."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := builder.get(base + "?" + tc.query)
				wantStatus(t, r, 422)
				if tc.field != "" {
					wantBody(t, r, `id="e-`+tc.field+`">`+html.EscapeString(tc.msg), `aria-invalid="true"`)
				} else {
					wantBody(t, r, html.EscapeString(tc.msg))
				}
				wantBody(t, r, "The filter was not applied: the list shows every record.", "Records 1–6 of 6")
				wantNoBody(t, r, "Delete all")
			})
		}
	})
}

func TestDatasetRecordPages(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		builder := a.as(models.RoleBuilder)
		d := datasetFixture(t, a.store, "Paged")
		importFixture(t, a, d.ID, "big.csv", "Big", 120)
		base := "/datasets/" + d.ID

		r := builder.get(base + "?text=big")
		wantBody(t, r, "Records 1–25 of 120", "Next page")
		wantNoBody(t, r, "Previous page", "First page")
		var pages [][]string
		pages = append(pages, shownRecords(r.Body))
		for i, want := range []string{"Records 26–50 of 120", "Records 51–75 of 120", "Records 76–100 of 120", "Records 101–120 of 120"} {
			next := relLink(t, r.Body, "next")
			if !strings.Contains(next, "text=big") {
				t.Errorf("the next link %q drops the filter", next)
			}
			r = builder.get(next)
			wantStatus(t, r, 200)
			wantBody(t, r, want)
			pages = append(pages, shownRecords(r.Body))
			switch i {
			case 0:
				wantBody(t, r, `rel="prev">‹ First page</a>`)
			default:
				wantBody(t, r, "« First page</a>", `rel="prev">‹ Previous page</a>`)
			}
		}
		wantNoBody(t, r, "Next page")
		if got := pages[0][0]; got != "Big record 119" {
			t.Errorf("first record = %q, want the newest", got)
		}
		seen := map[string]bool{}
		for _, p := range pages {
			for _, rec := range p {
				seen[rec] = true
			}
		}
		if len(seen) != 120 {
			t.Errorf("the pages show %d distinct records, want 120", len(seen))
		}
		// Back from the last page: the fourth page again.
		r = builder.get(relLink(t, r.Body, "prev"))
		wantBody(t, r, "Records 76–100 of 120")
		if got := shownRecords(r.Body); strings.Join(got, "|") != strings.Join(pages[3], "|") {
			t.Errorf("previous page = %q, want %q", got, pages[3])
		}
		wantStatus(t, builder.get(base+"?before=garbage"), 422)
	})
}

func TestDatasetBulkDelete(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		builder := a.as(models.RoleBuilder)

		t.Run("Selected", func(t *testing.T) {
			d := datasetFixture(t, a.store, "Selected")
			base := "/datasets/" + d.ID
			one := recordFixture(t, a.store, d.ID, "Alpha record 1")
			two := recordFixture(t, a.store, d.ID, "Beta record 2")
			keep := recordFixture(t, a.store, d.ID, "Gamma record 3")
			theirs := recordFixture(t, a.store, datasetFixture(t, a.store, "Theirs").ID, "Delta record 4")

			show := builder.get(base)
			wantBody(t, show, `<form method="get" action="`+base+`/delete-records" id="records-form"`,
				`<input type="checkbox" name="ids" value="`+one.ID+`" aria-label="Select record: Alpha record 1">`,
				`<button type="submit" class="danger" id="delete-selected">Delete selected…</button>`, `/js/records.js" defer></script>`)

			q := url.Values{"ids": {one.ID, two.ID, theirs.ID}}
			r := builder.get(base + "/delete-records?" + q.Encode())
			wantStatus(t, r, 200)
			wantBody(t, r, "<h1>Delete 2 selected records from “Selected”?</h1>", "<li>Alpha record 1", "<li>Beta record 2",
				`<input type="hidden" name="ids" value="`+one.ID+`">`, `<input type="hidden" name="ids" value="`+two.ID+`">`,
				`<button type="submit" class="danger">Delete 2 records</button>`, `href="`+base+`">Cancel</a>`)
			wantNoBody(t, r, theirs.ID, "Gamma")
			if n := recordCount(t, a.store, d.ID); n != 3 {
				t.Fatalf("the confirmation page deleted: %d records left", n)
			}
			r = builder.post(base+"/delete-records", q)
			wantStatus(t, r, 303)
			if r.Location() != base {
				t.Errorf("redirect = %q", r.Location())
			}
			wantBody(t, builder.get(base), "Deleted 2 records.", "Gamma record 3")
			if _, err := a.store.FindRecord(context.Background(), d.ID, keep.ID); err != nil {
				t.Errorf("an unselected record went: %v", err)
			}
			if _, err := a.store.FindRecord(context.Background(), theirs.DatasetID, theirs.ID); err != nil {
				t.Errorf("another dataset's record went: %v", err)
			}
		})

		t.Run("AllMatching", func(t *testing.T) {
			d := datasetFixture(t, a.store, "Matching")
			base := "/datasets/" + d.ID
			for _, text := range []string{"Refund record 1", "Refund record 2", "Refund record 3", "Shipping record 4"} {
				recordFixture(t, a.store, d.ID, text)
			}
			show := builder.get(base + "?text=refund")
			link := html.UnescapeString(regexp.MustCompile(`<a class="button secondary" href="([^"]+)">Delete all 3 matching…</a>`).FindStringSubmatch(show.Body)[1])
			r := builder.get(link)
			wantStatus(t, r, 200)
			wantBody(t, r, "<h1>Delete all 3 records containing the words “refund” from “Matching”?</h1>",
				`<input type="hidden" name="count" value="3">`, `<input type="hidden" name="text" value="refund">`,
				`<button type="submit" class="danger">Delete 3 records</button>`, `href="`+base+`?text=refund">Cancel</a>`)
			if n := recordCount(t, a.store, d.ID); n != 4 {
				t.Fatal("the confirmation page deleted")
			}
			// Someone adds a matching record meanwhile: the count confirmed is no longer right.
			recordFixture(t, a.store, d.ID, "Refund record 5")
			form := url.Values{"all": {"1"}, "text": {"refund"}, "count": {"3"}}
			r = builder.post(base+"/delete-records", form)
			wantStatus(t, r, 409)
			wantBody(t, r, "The filter now matches 4 records, not the 3 you confirmed: nothing was deleted.",
				`<input type="hidden" name="count" value="4">`, "<h1>Delete all 4 records containing")
			if n := recordCount(t, a.store, d.ID); n != 5 {
				t.Fatalf("%d records after a refused delete, want 5", n)
			}
			form.Set("count", "4")
			r = builder.post(base+"/delete-records", form)
			wantStatus(t, r, 303)
			wantBody(t, builder.get(base), "Deleted 4 records.", "Shipping record 4", "1 record in this dataset.")
		})

		t.Run("AllOfAnImport", func(t *testing.T) {
			d := datasetFixture(t, a.store, "Imported")
			base := "/datasets/" + d.ID
			recordFixture(t, a.store, d.ID, "By hand record 0")
			imp := importFixture(t, a, d.ID, "faq.csv", "Imported", 30)
			r := builder.get(base + "/delete-records?all=1&import=" + imp.ID)
			wantStatus(t, r, 200)
			wantBody(t, r, "<h1>Delete all 30 records made by the import of “faq.csv” by Builder on ", "The first 10 of them")
			wantStatus(t, builder.post(base+"/delete-records", url.Values{"all": {"1"}, "import": {imp.ID}, "count": {"30"}}), 303)
			if n := recordCount(t, a.store, d.ID); n != 1 {
				t.Errorf("%d records left, want the one typed by hand", n)
			}
		})

		t.Run("AllWithoutFilterIsEveryRecord", func(t *testing.T) {
			d := datasetFixture(t, a.store, "Everything")
			recordFixture(t, a.store, d.ID, "Only record 1")
			r := builder.get("/datasets/" + d.ID + "/delete-records?all=1")
			wantBody(t, r, "<h1>Delete all 1 record from “Everything”?</h1>")
		})

		for _, tc := range []struct {
			name, query string
			form        url.Values
			status      int
			msg         string
		}{
			{"ErrNothingSelected", "", url.Values{}, 422, "Select the records to delete (the boxes in the first column), or use “Delete all matching”."},
			{"ErrSelectedGone", "ids=" + missingDatasetID, url.Values{"ids": {"nope"}}, 422, "None of the selected records is in this dataset any more: nothing to delete."},
			{"ErrNothingMatches", "all=1&text=zeppelin", url.Values{"all": {"1"}, "text": {"zeppelin"}, "count": {"0"}}, 422, "No record matches the filter: nothing to delete."},
			{"ErrFilterInvalid", "all=1&text=the", url.Values{"all": {"1"}, "text": {"the"}, "count": {"1"}}, 422, "The filter cannot be used, so nothing"},
			{"ErrTooMany", "ids=" + strings.Repeat(missingDatasetID+"&ids=", 100) + missingDatasetID, nil, 422, "At most 100 records can be selected at once"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				d := datasetFixture(t, a.store, "Guarded "+tc.name)
				recordFixture(t, a.store, d.ID, "Kept record 1")
				r := builder.get("/datasets/" + d.ID + "/delete-records?" + tc.query)
				wantStatus(t, r, tc.status)
				wantBody(t, r, `id="e-records">`+html.EscapeString(tc.msg), "<title>Guarded")
				if tc.form != nil {
					r = builder.post("/datasets/"+d.ID+"/delete-records", tc.form)
					if r.Status != 422 && r.Status != 409 {
						t.Errorf("POST status = %d", r.Status)
					}
				}
				if n := recordCount(t, a.store, d.ID); n != 1 {
					t.Errorf("%d records left, want 1", n)
				}
			})
		}

		t.Run("ErrForbiddenAndCSRF", func(t *testing.T) {
			d := datasetFixture(t, a.store, "Protected")
			rec := recordFixture(t, a.store, d.ID, "Protected record 1")
			base := "/datasets/" + d.ID
			for _, role := range []string{models.RoleQA, models.RoleSupport} {
				c := a.as(role)
				wantStatus(t, c.get(base+"/delete-records?ids="+rec.ID), 403)
				wantStatus(t, c.post(base+"/delete-records", url.Values{"ids": {rec.ID}}), 403)
				wantStatus(t, c.post(base+"/delete-records", url.Values{"all": {"1"}, "count": {"1"}}), 403)
			}
			qa := a.as(models.RoleQA).get(base)
			wantStatus(t, qa, 200)
			wantNoBody(t, qa, `name="ids"`, "Delete selected", "Delete all", "/delete-records")
			for _, tok := range []string{"", "wrong"} {
				wantStatus(t, builder.post(base+"/delete-records", url.Values{"_csrf": {tok}, "ids": {rec.ID}}), 403)
				wantStatus(t, builder.post(base+"/delete-records", url.Values{"_csrf": {tok}, "all": {"1"}, "count": {"1"}}), 403)
			}
			if n := recordCount(t, a.store, d.ID); n != 1 {
				t.Errorf("%d records left, want 1", n)
			}
		})
	})
}

func TestDatasetImportUndo(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		builder := a.as(models.RoleBuilder)
		d := datasetFixture(t, a.store, "Undo")
		base := "/datasets/" + d.ID
		byHand := recordFixture(t, a.store, d.ID, "By hand record 0")
		keep := importFixture(t, a, d.ID, "keep.csv", "Keep", 3)
		undo := importFixture(t, a, d.ID, "undo.csv", "Undo", 120)
		elsewhere := importFixture(t, a, datasetFixture(t, a.store, "Elsewhere").ID, "undo.csv", "Elsewhere", 2)

		show := builder.get(base)
		wantBody(t, show, `<h2 id="h-imports">Imports</h2>`, "<strong>undo.csv</strong>", "<strong>keep.csv</strong>", `<span class="num">120 records</span>`,
			`<a href="`+base+`/imports/`+undo.ID+`/undo" aria-label="Undo the import of undo.csv">Undo</a>`,
			`<a href="`+base+`?import=`+undo.ID+`" aria-label="View the records of undo.csv">View records</a>`)

		r := builder.get(base + "/imports/" + undo.ID + "/undo")
		wantStatus(t, r, 200)
		wantBody(t, r, "<h1>Remove the 120 records of the import of “undo.csv” by Builder on ",
			"This removes the 120 records it made that the dataset still holds, edited ones included (it made 120).",
			`action="`+base+`/imports/`+undo.ID+`/undo"`, `<button type="submit" class="danger">Remove 120 records</button>`)
		if n := recordCount(t, a.store, d.ID); n != 124 {
			t.Fatalf("the confirmation page deleted: %d records", n)
		}
		// Through another dataset's address the import is not found.
		wantStatus(t, builder.get("/datasets/"+elsewhere.DatasetID+"/imports/"+undo.ID+"/undo"), 404)
		wantStatus(t, builder.post("/datasets/"+elsewhere.DatasetID+"/imports/"+undo.ID+"/undo", nil), 404)
		for _, role := range []string{models.RoleQA, models.RoleSupport} {
			wantStatus(t, a.as(role).get(base+"/imports/"+undo.ID+"/undo"), 403)
			wantStatus(t, a.as(role).post(base+"/imports/"+undo.ID+"/undo", nil), 403)
		}
		wantStatus(t, builder.post(base+"/imports/"+undo.ID+"/undo", url.Values{"_csrf": {"wrong"}}), 403)
		if n := recordCount(t, a.store, d.ID); n != 124 {
			t.Fatalf("a refused undo deleted: %d records", n)
		}

		r = builder.post(base+"/imports/"+undo.ID+"/undo", nil)
		wantStatus(t, r, 303)
		if r.Location() != base {
			t.Errorf("redirect = %q", r.Location())
		}
		show = builder.get(base)
		wantBody(t, show, "Removed 120 records imported from undo.csv: the import is undone.", "4 records in this dataset.",
			`<span class="badge off">undone</span>`, "undone by Builder", "120 removed")
		wantNoBody(t, show, "/imports/"+undo.ID+"/undo")
		list, err := a.store.ListRecords(context.Background(), models.RecordFilter{DatasetID: d.ID}, models.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range list.Records {
			if rec.ID != byHand.ID && (rec.ImportID == nil || *rec.ImportID != keep.ID) {
				t.Errorf("record %q is left, but is neither typed by hand nor of the kept import", rec.Text)
			}
		}
		if n := recordCount(t, a.store, elsewhere.DatasetID); n != 2 {
			t.Errorf("the other dataset's import lost records: %d left", n)
		}
		r = builder.post(base+"/imports/"+undo.ID+"/undo", nil)
		wantStatus(t, r, 409)
		wantBody(t, r, "This import was undone already (by Builder on ")
		wantStatus(t, builder.get(base+"/imports/"+undo.ID+"/undo"), 409)
		wantStatus(t, builder.get(base+"/imports/"+missingDatasetID+"/undo"), 404)

		t.Run("ImportsPage", func(t *testing.T) {
			for i := range 6 {
				importFixture(t, a, d.ID, fmt.Sprintf("more-%d.csv", i), "More", 1)
			}
			r := builder.get(base)
			wantBody(t, r, `<a href="`+base+`/imports">All 8 imports</a>`)
			wantNoBody(t, r, "<strong>keep.csv</strong>") // the dataset page lists the latest five imports
			qa := a.as(models.RoleQA)
			r = qa.get(base + "/imports")
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Imports into Undo · Parley</title>", "<td>keep.csv <span", "<td>undo.csv <span", "<td>more-5.csv <span", "View records")
			wantNoBody(t, r, "/undo\"", "Import records</a>")
			wantStatus(t, a.as(models.RoleSupport).get(base+"/imports"), 403)
		})
	})
}

func TestDatasetVisibilityAndLayout(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		builder := a.as(models.RoleBuilder)
		d := datasetFixture(t, a.store, "Shown")
		base := "/datasets/" + d.ID

		r := builder.get(base + "/edit")
		wantBody(t, r, `<label for="f-visibility">Visibility</label>`, `<option value="private" selected>Private</option>`, `<option value="public">Public</option>`)
		wantStatus(t, builder.post(base, validDatasetForm("visibility", "public")), 303)
		got, err := a.store.FindDataset(context.Background(), d.ID)
		if err != nil || got.Visibility != models.VisibilityPublic {
			t.Errorf("visibility = %q, %v; want public", got.Visibility, err)
		}
		r = builder.post(base, validDatasetForm("visibility", "secret", "description", "kept text"))
		wantStatus(t, r, 422)
		wantBody(t, r, `id="e-visibility">`, "kept text")
		if got, _ := a.store.FindDataset(context.Background(), d.ID); got.Visibility != models.VisibilityPublic || got.Description == "kept text" {
			t.Errorf("an invalid form changed the dataset: %+v", got)
		}

		show := builder.get(base)
		wantBody(t, show, "<dt>Description</dt><dd>Questions &lt;customers&gt; ask</dd>", `<span class="badge">public</span>`)
		// The records table is not in a column of the grid: it has the page's width.
		grid := strings.Index(show.Body, `<div class="grid2">`)
		records := strings.Index(show.Body, `<section class="card" aria-labelledby="h-records">`)
		gridEnd := grid + strings.Index(show.Body[grid:], "\n</div>\n")
		if grid < 0 || records < gridEnd {
			t.Errorf("the records section is inside the settings grid")
		}
	})
}
