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

// missingDatasetID has the shape of an id but names no dataset or record.
const missingDatasetID = "0190b6b1-0000-7000-8000-000000000000"

func datasetFixture(t *testing.T, s *store.Store, name string) *models.Dataset {
	t.Helper()
	d := models.NewDataset()
	d.Name = name
	out, err := s.CreateDataset(context.Background(), d)
	if err != nil {
		t.Fatalf("CreateDataset: %v", err)
	}
	return out
}

func recordFixture(t *testing.T, s *store.Store, datasetID, text string) *models.DatasetRecord {
	t.Helper()
	out, err := s.CreateRecord(context.Background(), models.DatasetRecord{DatasetID: datasetID, Text: text})
	if err != nil {
		t.Fatalf("CreateRecord: %v", err)
	}
	return out
}

func datasetCount(t *testing.T, s *store.Store) int64 {
	t.Helper()
	counts, err := s.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return counts["datasets"]
}

func recordCount(t *testing.T, s *store.Store, datasetID string) int64 {
	t.Helper()
	n, err := s.CountRecords(context.Background(), datasetID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// validDatasetForm returns a valid dataset form, changed by the key/value pairs.
func validDatasetForm(kv ...string) url.Values {
	f := url.Values{
		"name": {"FAQ"}, "description": {"Questions <customers> ask"},
		"searchMaxRecords": {"5"}, "recordMaxTokens": {"800"}, "searchMaxTokens": {"2500"}, "searchMinScore": {"0.35"},
		"matchInstruction": {"Answer from these records."}, "mismatchInstruction": {"Say you do not know."},
		"meta": {`{"team": "support"}`},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

func TestDatasets(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		builder := a.as(models.RoleBuilder)

		t.Run("EmptyState", func(t *testing.T) {
			r := builder.get("/datasets")
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Datasets · Parley</title>", "No datasets yet", `href="/datasets/new"`, "Create your first dataset")
		})

		t.Run("NewHasDefaults", func(t *testing.T) {
			r := builder.get("/datasets/new")
			wantStatus(t, r, 200)
			def := models.NewDataset()
			wantBody(t, r, "New dataset", `<label for="f-searchMaxRecords">Records to retrieve`, `<label for="f-recordMaxTokens">Max record size (tokens)`,
				fmt.Sprintf(`name="searchMaxRecords" type="number" value="%d"`, def.SearchMaxRecords),
				fmt.Sprintf(`name="recordMaxTokens" type="number" value="%d"`, def.RecordMaxTokens),
				fmt.Sprintf(`name="searchMaxTokens" type="number" value="%d"`, def.SearchMaxTokens),
				"Create dataset")
		})

		var id string
		t.Run("CreateOK", func(t *testing.T) {
			r := builder.post("/datasets", validDatasetForm())
			wantStatus(t, r, 303)
			id = createdID(t, r)
			if r.Location() != "/datasets/"+id {
				t.Errorf("redirect = %q", r.Location())
			}
			show := builder.get("/datasets/" + id)
			wantStatus(t, show, 200)
			wantBody(t, show, "<title>FAQ · Parley</title>", `Dataset &#34;FAQ&#34; created.`, "Questions &lt;customers&gt; ask",
				"Answer from these records.", "Say you do not know.", "0 records", "No records yet", "Add record", "No bot uses this dataset")
			d, err := a.store.FindDataset(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d.SearchMaxRecords != 5 || d.RecordMaxTokens != 800 || d.SearchMaxTokens != 2500 || d.SearchMinScore != 0.35 ||
				d.Meta["team"] != "support" || d.Visibility != models.VisibilityPrivate {
				t.Errorf("stored dataset = %+v", d)
			}
			list := builder.get("/datasets")
			wantStatus(t, list, 200)
			wantBody(t, list, `href="/datasets/`+id+`"`, "FAQ", "Questions &lt;customers&gt; ask")
			wantNoBody(t, list, "No datasets yet")
		})

		for _, tc := range []struct {
			name      string
			form      url.Values
			wantField string
			wantMsg   string
			wantKept  string
		}{
			{"ErrNameRequired", validDatasetForm("name", "  ", "description", "kept text"), "name", "Name is required.", `name="name" type="text" value=""`},
			{"ErrNameTooLong", validDatasetForm("name", strings.Repeat("x", 201), "description", "kept text"), "name", "Name must be at most 200 characters.", `value="` + strings.Repeat("x", 201) + `"`},
			{"ErrNotWholeNumber", validDatasetForm("searchMaxRecords", "abc", "description", "kept text"), "searchMaxRecords", "Records to retrieve must be a whole number.", `value="abc"`},
			{"ErrBlankNumber", validDatasetForm("recordMaxTokens", "", "description", "kept text"), "recordMaxTokens", "Max record size (tokens) must be a whole number.", `name="recordMaxTokens" type="number" value=""`},
			{"ErrTooMany", validDatasetForm("searchMaxRecords", "500", "description", "kept text"), "searchMaxRecords", "Records to retrieve must be at most 100.", `value="500"`},
			{"ErrScoreNotNumber", validDatasetForm("searchMinScore", "high", "description", "kept text"), "searchMinScore", "Minimum match score must be a number from 0 to 1", `value="high"`},
			{"ErrScoreTooHigh", validDatasetForm("searchMinScore", "1.5", "description", "kept text"), "searchMinScore", "Minimum match score must be at most 1.", `value="1.5"`},
			{"ErrMetaNotObject", validDatasetForm("meta", "[1,2]", "description", "kept text"), "meta", "Meta must be a JSON object", ">[1,2]</textarea>"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := datasetCount(t, a.store)
				r := builder.post("/datasets", tc.form)
				wantStatus(t, r, 422)
				wantBody(t, r, `id="e-`+tc.wantField+`">`+html.EscapeString(tc.wantMsg), "kept text", `aria-invalid="true"`, tc.wantKept)
				if after := datasetCount(t, a.store); after != before {
					t.Errorf("datasets: %d before, %d after an invalid form", before, after)
				}
			})
		}

		t.Run("ErrSeveralFieldsAtOnce", func(t *testing.T) {
			r := builder.post("/datasets", validDatasetForm("name", "", "searchMaxTokens", "lots", "searchMinScore", "-1"))
			wantStatus(t, r, 422)
			wantBody(t, r, "Name is required.", "Max retrieved size (tokens) must be a whole number.", "Minimum match score must be at least 0.")
		})

		t.Run("EditKeepsHiddenFields", func(t *testing.T) {
			alias := "faq-alias"
			d := models.NewDataset()
			d.Name, d.Alias, d.Visibility, d.Store, d.Reranker, d.Separators = "Hidden", &alias, models.VisibilityPublic, "pgvector", "rr-1", "\n\n"
			cur, err := a.store.CreateDataset(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			r := builder.get("/datasets/" + cur.ID + "/edit")
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Edit Hidden · Parley</title>", `value="Hidden"`, "Save dataset")
			r = builder.post("/datasets/"+cur.ID, validDatasetForm("name", "Renamed", "searchMaxRecords", "7"))
			wantStatus(t, r, 303)
			if r.Location() != "/datasets/"+cur.ID {
				t.Errorf("redirect = %q", r.Location())
			}
			got, err := a.store.FindDataset(ctx, cur.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Renamed" || got.SearchMaxRecords != 7 || got.Alias == nil || *got.Alias != alias ||
				got.Visibility != models.VisibilityPublic || got.Store != "pgvector" || got.Reranker != "rr-1" || got.Separators != "\n\n" {
				t.Errorf("after edit: %+v", got)
			}
			wantBody(t, builder.get("/datasets/"+cur.ID), "Dataset saved.", "Renamed")
		})

		t.Run("ErrEditKeepsInput", func(t *testing.T) {
			r := builder.post("/datasets/"+id, validDatasetForm("name", "", "description", "typed but invalid", "searchMaxRecords", "x1"))
			wantStatus(t, r, 422)
			wantBody(t, r, "Name is required.", "Records to retrieve must be a whole number.", "typed but invalid", `value="x1"`)
			d, _ := a.store.FindDataset(ctx, id)
			if d.Name != "FAQ" || d.Description == "typed but invalid" {
				t.Errorf("an invalid edit changed the dataset: %+v", d)
			}
		})

		t.Run("NotFound", func(t *testing.T) {
			for _, p := range []string{
				"/datasets/" + missingDatasetID, "/datasets/" + missingDatasetID + "/edit", "/datasets/" + missingDatasetID + "/delete",
				"/datasets/not-an-id", "/datasets/not-an-id/edit", "/datasets/not-an-id/delete",
			} {
				r := builder.get(p)
				wantStatus(t, r, 404)
				wantBody(t, r, "Dataset not found.")
			}
			for _, p := range []string{"/datasets/" + missingDatasetID, "/datasets/" + missingDatasetID + "/delete", "/datasets/not-an-id", "/datasets/not-an-id/records"} {
				wantStatus(t, builder.post(p, validDatasetForm()), 404)
			}
		})

		t.Run("ErrBadCursor", func(t *testing.T) {
			wantStatus(t, builder.get("/datasets?cursor=garbage"), 422)
			wantStatus(t, builder.get("/datasets/"+id+"?cursor=garbage"), 422)
		})

		t.Run("QACanReadNotWrite", func(t *testing.T) {
			qa := a.as(models.RoleQA)
			wantStatus(t, qa.get("/datasets"), 200)
			r := qa.get("/datasets/" + id)
			wantStatus(t, r, 200)
			wantBody(t, r, "FAQ", "Answer from these records.")
			wantNoBody(t, r, "/datasets/"+id+"/edit", "Add record", `action="/datasets/`+id+`/records"`)
			wantStatus(t, qa.get("/datasets/new"), 403)
			wantStatus(t, qa.get("/datasets/"+id+"/edit"), 403)
			before := datasetCount(t, a.store)
			wantStatus(t, qa.post("/datasets", validDatasetForm("name", "Sneaky")), 403)
			wantStatus(t, qa.post("/datasets/"+id+"/records", url.Values{"text": {"sneaky"}}), 403)
			wantStatus(t, qa.post("/datasets/"+id+"/delete", nil), 403)
			if datasetCount(t, a.store) != before || recordCount(t, a.store, id) != 0 {
				t.Error("qa wrote")
			}
			wantStatus(t, a.as(models.RoleSupport).get("/datasets"), 403)
		})

		t.Run("ErrCSRF", func(t *testing.T) {
			before := datasetCount(t, a.store)
			for _, tok := range []string{"", "wrong"} {
				wantStatus(t, builder.post("/datasets", validDatasetForm("_csrf", tok, "name", "Forged")), 403)
				wantStatus(t, builder.post("/datasets/"+id+"/records", url.Values{"_csrf": {tok}, "text": {"forged"}}), 403)
				wantStatus(t, builder.post("/datasets/"+id+"/delete", url.Values{"_csrf": {tok}}), 403)
			}
			if datasetCount(t, a.store) != before || recordCount(t, a.store, id) != 0 {
				t.Error("a forged form wrote")
			}
		})

		t.Run("StrangerIsSentToLogin", func(t *testing.T) {
			r := a.anon().get("/datasets/" + id)
			wantStatus(t, r, 303)
			if !strings.HasPrefix(r.Location(), "/login") {
				t.Errorf("redirect = %q", r.Location())
			}
		})
	})
}

func TestDatasetRecords(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		builder := a.as(models.RoleBuilder)
		ds := datasetFixture(t, a.store, "Handbook")
		other := datasetFixture(t, a.store, "Other")
		base := "/datasets/" + ds.ID

		var recID string
		t.Run("AddOK", func(t *testing.T) {
			long := "Refunds are possible within 30 days. " + strings.Repeat("More detail about <refunds>. ", 20) + "THE-END"
			r := builder.post(base+"/records", url.Values{"text": {long}, "source": {"https://example.com/refunds"}, "meta": {`{"section": "billing"}`}})
			wantStatus(t, r, 303)
			if r.Location() != base {
				t.Errorf("redirect = %q, want %q", r.Location(), base)
			}
			show := builder.get(base)
			wantStatus(t, show, 200)
			wantBody(t, show, "Record added.", "1 record in this dataset", "Refunds are possible within 30 days.", "More detail about &lt;refunds&gt;.", "…", "https://example.com/refunds")
			wantNoBody(t, show, "THE-END")
			recs, _, err := a.store.FindRecords(ctx, ds.ID, models.Page{})
			if err != nil || len(recs) != 1 {
				t.Fatalf("records = %v, %v", recs, err)
			}
			recID = recs[0].ID
			if recs[0].Text != long || recs[0].Source != "https://example.com/refunds" || recs[0].Meta["section"] != "billing" {
				t.Errorf("stored record = %+v", recs[0])
			}
			edit := builder.get(base + "/records/" + recID + "/edit")
			wantStatus(t, edit, 200)
			wantBody(t, edit, "Edit record", "THE-END", `<label for="f-text">Text`, "Save record", "&#34;section&#34;")
		})

		for _, tc := range []struct {
			name      string
			form      url.Values
			wantField string
			wantMsg   string
			wantKept  string
		}{
			{"ErrTextRequired", url.Values{"text": {"   "}, "source": {"kept source"}}, "text", "Text is required.", `value="kept source"`},
			{"ErrMetaNotObject", url.Values{"text": {"kept text"}, "meta": {"nope"}}, "meta", "Meta must be a JSON object", "kept text"},
			{"ErrSourceTooLong", url.Values{"text": {"kept text"}, "source": {strings.Repeat("s", 2001)}}, "source", "Source must be at most 2000 characters.", "kept text"},
		} {
			t.Run("Add"+tc.name, func(t *testing.T) {
				before := recordCount(t, a.store, ds.ID)
				r := builder.post(base+"/records", tc.form)
				wantStatus(t, r, 422)
				wantBody(t, r, "<title>Handbook · Parley</title>", `id="e-`+tc.wantField+`">`+html.EscapeString(tc.wantMsg), tc.wantKept,
					"Refunds are possible within 30 days.", "Please correct the fields marked below.")
				if after := recordCount(t, a.store, ds.ID); after != before {
					t.Errorf("records: %d before, %d after an invalid form", before, after)
				}
			})
			t.Run("Edit"+tc.name, func(t *testing.T) {
				r := builder.post(base+"/records/"+recID, tc.form)
				wantStatus(t, r, 422)
				wantBody(t, r, `id="e-`+tc.wantField+`">`+html.EscapeString(tc.wantMsg), tc.wantKept)
				rec, err := a.store.FindRecord(ctx, ds.ID, recID)
				if err != nil || !strings.HasPrefix(rec.Text, "Refunds are possible") {
					t.Errorf("an invalid edit changed the record: %+v, %v", rec, err)
				}
			})
		}

		t.Run("EditOK", func(t *testing.T) {
			r := builder.post(base+"/records/"+recID, url.Values{"text": {"Refunds within 14 days."}, "source": {"policy.pdf"}})
			wantStatus(t, r, 303)
			if r.Location() != base {
				t.Errorf("redirect = %q", r.Location())
			}
			rec, err := a.store.FindRecord(ctx, ds.ID, recID)
			if err != nil || rec.Text != "Refunds within 14 days." || rec.Source != "policy.pdf" || len(rec.Meta) != 0 {
				t.Fatalf("after edit: %+v, %v", rec, err)
			}
			wantBody(t, builder.get(base), "Record saved.", "Refunds within 14 days.", "policy.pdf")
		})

		t.Run("OtherDatasetsURLIsNotFound", func(t *testing.T) {
			wrong := "/datasets/" + other.ID + "/records/" + recID
			wantStatus(t, builder.get(wrong+"/edit"), 404)
			wantStatus(t, builder.get(wrong+"/delete"), 404)
			wantStatus(t, builder.post(wrong, url.Values{"text": {"hijacked"}}), 404)
			wantStatus(t, builder.post(wrong+"/delete", nil), 404)
			rec, err := a.store.FindRecord(ctx, ds.ID, recID)
			if err != nil || rec.Text != "Refunds within 14 days." {
				t.Errorf("record after requests through another dataset = %+v, %v", rec, err)
			}
		})

		t.Run("RecordNotFound", func(t *testing.T) {
			for _, rid := range []string{missingDatasetID, "not-an-id"} {
				wantStatus(t, builder.get(base+"/records/"+rid+"/edit"), 404)
				wantStatus(t, builder.get(base+"/records/"+rid+"/delete"), 404)
				wantStatus(t, builder.post(base+"/records/"+rid, url.Values{"text": {"x"}}), 404)
				wantStatus(t, builder.post(base+"/records/"+rid+"/delete", nil), 404)
			}
		})

		t.Run("DeleteOK", func(t *testing.T) {
			r := builder.get(base + "/records/" + recID + "/delete")
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Delete record · Parley</title>", "Refunds within 14 days.", "Delete record", `action="`+base+`/records/`+recID+`/delete"`)
			if recordCount(t, a.store, ds.ID) != 1 {
				t.Fatal("GET on the confirmation page deleted the record")
			}
			r = builder.post(base+"/records/"+recID+"/delete", nil)
			wantStatus(t, r, 303)
			if r.Location() != base {
				t.Errorf("redirect = %q", r.Location())
			}
			if n := recordCount(t, a.store, ds.ID); n != 0 {
				t.Errorf("records after delete = %d, want 0", n)
			}
			wantBody(t, builder.get(base), "Record deleted.", "0 records")
		})

		t.Run("Pagination", func(t *testing.T) {
			const total = 30
			for i := 1; i <= total; i++ {
				recordFixture(t, a.store, other.ID, fmt.Sprintf("Fact %02d.", i))
			}
			fact := regexp.MustCompile(`<td>Fact \d\d\.</td>`)
			r := builder.get("/datasets/" + other.ID)
			wantStatus(t, r, 200)
			wantBody(t, r, fmt.Sprintf("%d records in this dataset", total), "Next page")
			first := fact.FindAllString(r.Body, -1)
			if len(first) != models.DefaultPageSize {
				t.Fatalf("first page shows %d records, want %d", len(first), models.DefaultPageSize)
			}
			m := regexp.MustCompile(`href="([^"]*cursor=[^"]*)" rel="next"`).FindStringSubmatch(r.Body)
			if m == nil {
				t.Fatal("no next-page link")
			}
			r2 := builder.get(html.UnescapeString(m[1]))
			wantStatus(t, r2, 200)
			wantNoBody(t, r2, "Next page")
			wantBody(t, r2, "First page")
			second := fact.FindAllString(r2.Body, -1)
			if len(second) != total-models.DefaultPageSize {
				t.Fatalf("second page shows %d records, want %d", len(second), total-models.DefaultPageSize)
			}
			seen := map[string]bool{}
			for _, f := range append(first, second...) {
				seen[f] = true
			}
			if len(seen) != total {
				t.Errorf("the two pages show %d distinct records, want %d", len(seen), total)
			}
		})
	})
}

func TestDatasetDelete(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		builder := a.as(models.RoleBuilder)

		for _, tc := range []struct {
			name     string
			bots     []string
			wantUsed string
		}{
			{"UnusedOK", nil, "No bot uses it."},
			{"UsedByOneBot", []string{"Helpdesk <b>"}, "It is used by bot Helpdesk &lt;b&gt;: deleting detaches it from that bot."},
			{"UsedByBots", []string{"Beta", "Alpha"}, "It is used by bots Alpha, Beta: deleting detaches it from them."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ds := datasetFixture(t, a.store, "Doomed "+tc.name)
				recordFixture(t, a.store, ds.ID, "one")
				recordFixture(t, a.store, ds.ID, "two")
				var botIDs []string
				for _, name := range tc.bots {
					b, err := a.store.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: name, Model: "local"}, DatasetIDs: []string{ds.ID}})
					if err != nil {
						t.Fatal(err)
					}
					botIDs = append(botIDs, b.ID)
				}
				if len(tc.bots) > 0 {
					wantBody(t, builder.get("/datasets/"+ds.ID), `href="/bots/`+botIDs[0]+`"`)
				}

				r := builder.get("/datasets/" + ds.ID + "/delete")
				wantStatus(t, r, 200)
				wantBody(t, r, "Delete dataset &#34;Doomed "+tc.name+"&#34;?", tc.wantUsed, "its 2 records will be deleted",
					`action="/datasets/`+ds.ID+`/delete"`, "Delete dataset</button>", `href="/datasets/`+ds.ID+`">Cancel`)
				if _, err := a.store.FindDataset(ctx, ds.ID); err != nil {
					t.Fatal("GET on the confirmation page deleted the dataset")
				}

				r = builder.post("/datasets/"+ds.ID+"/delete", nil)
				wantStatus(t, r, 303)
				if r.Location() != "/datasets" {
					t.Errorf("redirect = %q", r.Location())
				}
				wantBody(t, builder.get("/datasets"), "Dataset &#34;Doomed "+tc.name+"&#34; deleted.")
				if _, err := a.store.FindDataset(ctx, ds.ID); models.ErrorCode(err) != models.CodeNotFound {
					t.Errorf("dataset still there: %v", err)
				}
				if n := recordCount(t, a.store, ds.ID); n != 0 {
					t.Errorf("records after delete = %d, want 0", n)
				}
				for _, id := range botIDs {
					b, err := a.store.FindBot(ctx, id)
					if err != nil {
						t.Fatalf("bot %s after dataset delete: %v", id, err)
					}
					if len(b.Datasets) != 0 {
						t.Errorf("bot %q still has datasets %+v", b.Name, b.Datasets)
					}
				}
				wantStatus(t, builder.post("/datasets/"+ds.ID+"/delete", nil), 404)
			})
		}
	})
}
