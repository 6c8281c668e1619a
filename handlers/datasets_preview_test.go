package handlers

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"parley/app/importer"
	"parley/models"
	"parley/models/store"
)

// qaCSV is a Q&A export: the question and answer make each record's text.
const qaCSV = "question,answer,url,team\r\n" +
	"Can I get a refund?,\"Yes, within 30 days <of purchase>.\",https://help.example/refunds,billing\r\n" +
	"How long is shipping?,Three to five days.,https://help.example/shipping,logistics\r\n" +
	"Do you ship abroad?,\"Yes, to 40 countries.\",https://help.example/abroad,\r\n"

// tableCount counts a table's rows (for checking that nothing was written).
func tableCount(t *testing.T, s *store.Store, table string) int64 {
	t.Helper()
	var n int64
	if err := s.DB().Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// uploadPath matches the address of an upload's preview.
var uploadPath = regexp.MustCompile(`^/datasets/[0-9a-f-]{36}/uploads/([0-9a-f-]{36})`)

// mustUpload sends a file with the import form's Preview button and returns the
// preview's address it is redirected to.
func mustUpload(t *testing.T, c *client, datasetID, name, content string, fields url.Values) string {
	t.Helper()
	r := c.importUpload("/datasets/"+datasetID+"/uploads", name, content, fields, nil)
	wantStatus(t, r, 303)
	if !uploadPath.MatchString(r.Location()) {
		t.Fatalf("redirect = %q, want an upload's preview", r.Location())
	}
	return r.Location()
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// importButtonForm returns the fields the preview's Import button sends, and its action.
func importButtonForm(t *testing.T, body string) (string, url.Values) {
	t.Helper()
	i := strings.Index(body, `<form id="import-upload"`)
	if i < 0 {
		t.Fatalf("the preview has no Import form; body:\n%s", shorten(body, 3000))
	}
	form := body[i : i+strings.Index(body[i:], "</form>")]
	action := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(form)[1]
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(form, -1) {
		v.Add(m[1], html.UnescapeString(m[2]))
	}
	return action, v
}

func TestDatasetImportPreview(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		builder := a.as(models.RoleBuilder)
		d := datasetFixture(t, a.store, "Help center")
		base := "/datasets/" + d.ID
		nothingWritten := func(t *testing.T) {
			t.Helper()
			if n := recordCount(t, a.store, d.ID); n != 0 {
				t.Errorf("%d records written", n)
			}
			if n := tableCount(t, a.store, "dataset_imports"); n != 0 {
				t.Errorf("%d imports written", n)
			}
		}

		preview := mustUpload(t, builder, d.ID, "faq.csv", qaCSV, nil)
		t.Run("ColumnsListed", func(t *testing.T) {
			r := builder.get(preview)
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Preview faq.csv · Parley</title>", "<h1>Preview the import of faq.csv</h1>", "read as CSV",
				`<th scope="col">question</th><th scope="col">answer</th><th scope="col">url</th><th scope="col">team</th>`,
				"<td>Can I get a refund?</td>", "<td>Yes, within 30 days &lt;of purchase&gt;.</td>",
				`<label for="f-textColumn">Text column</label>`, `<option value="question" selected>question</option>`, `<option value="answer">answer</option>`,
				`<label for="f-sourceColumn">Source column</label>`, `<option value="" selected>None</option>`,
				`<label for="f-textTemplate">Text template</label>`, "<code>{question}</code>, <code>{answer}</code>, <code>{url}</code>, <code>{team}</code>",
				// By default the other columns are meta, as an import without preview does.
				`name="meta" value="answer" checked`, `name="meta" value="url" checked`, `name="meta" value="team" checked`,
				"The first 3 of 3 records this import makes.", `<pre class="record-text">Can I get a refund?</pre>`,
				`<button type="submit">Import 3 records</button>`, `name="_csrf" value="`+builder.csrf+`"`, `/js/import.js" defer></script>`)
			wantNoBody(t, r, "<script>", `name="meta" value="question" checked`)
			nothingWritten(t)
		})

		template := url.Values{"chosen": {"1"}, "textFrom": {"template"}, "textTemplate": {"Q: {question}\nA: {answer}"},
			"sourceColumn": {"url"}, "meta": {"team"}}
		t.Run("TemplateAndMetaColumns", func(t *testing.T) {
			r := builder.get(preview + "?" + template.Encode())
			wantStatus(t, r, 200)
			wantBody(t, r, `<pre class="record-text">Q: Can I get a refund?`+"\n"+`A: Yes, within 30 days &lt;of purchase&gt;.</pre>`,
				`<pre class="record-text">Q: Do you ship abroad?`+"\nA: Yes, to 40 countries.</pre>",
				"<dd>https://help.example/refunds</dd>", html.EscapeString(`{"team":"billing"}`),
				`id="f-textFrom-template" name="textFrom" value="template" checked`, ">Q: {question}\nA: {answer}</textarea>",
				`<option value="url" selected>url</option>`, `name="meta" value="team" checked`)
			wantNoBody(t, r, `name="meta" value="answer" checked`, html.EscapeString(`"question":`))
			// The record without a team has no meta at all.
			third := r.Body[strings.Index(r.Body, "Q: Do you ship abroad?"):]
			third = third[:strings.Index(third, "</li>")]
			for _, want := range []string{"<dd>47 characters</dd>", "<dd>https://help.example/abroad</dd>", `<dt>Meta</dt><dd><span class="muted">none</span></dd>`} {
				if !strings.Contains(third, want) {
					t.Errorf("the third record does not show %q; it shows:\n%s", want, third)
				}
			}
			_, hidden := importButtonForm(t, r.Body)
			for k, want := range template {
				if got := hidden[k]; strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("Import sends %s = %q, want %q", k, got, want)
				}
			}
			nothingWritten(t)
		})
		t.Run("MetaColumnsChosen", func(t *testing.T) {
			r := builder.get(preview + "?chosen=1&textColumn=answer&meta=question&meta=url")
			wantStatus(t, r, 200)
			wantBody(t, r, html.EscapeString(`{"question":"Can I get a refund?","url":"https://help.example/refunds"}`))
			wantNoBody(t, r, html.EscapeString(`"team":`))
			r = builder.get(preview + "?chosen=1&textColumn=answer")
			wantBody(t, r, `<dt>Meta</dt><dd><span class="muted">none</span></dd>`)
			wantNoBody(t, r, "<code>{&#34;")
		})

		for _, tc := range []struct {
			name, query, field, msg string
			kept                    []string
		}{
			{"ErrUnknownPlaceholder", "chosen=1&textFrom=template&textTemplate=" + url.QueryEscape("Q: {question}\nA: {answr}"), "textTemplate",
				`The template names {answr}, but there is no column "answr": the header (row 1) has "question", "answer", "url", "team".`,
				[]string{">Q: {question}\nA: {answr}</textarea>", `value="template" checked`}},
			{"ErrTemplateUnclosed", "chosen=1&textFrom=template&textTemplate=" + url.QueryEscape("Q: {question"), "textTemplate",
				"The template has a { that is not closed by a }: write {column} for a column's value, or {{ for a { itself.", nil},
			{"ErrTemplateBlank", "chosen=1&textFrom=template&textTemplate=+", "textTemplate",
				"Write the template, such as “Q: {question}” and “A: {answer}” on two lines, or take the text from one column.", nil},
			{"ErrUnknownColumn", "chosen=1&textColumn=body", "textColumn",
				`There is no column "body": the header (row 1) has "question", "answer", "url", "team".`,
				[]string{`<option value="body" selected>“body” (not a column of this file)</option>`}},
			{"ErrUnknownMetaColumn", "chosen=1&meta=owner", "meta", `There is no column "owner": the header (row 1) has "question", "answer", "url", "team".`, nil},
			{"ErrSameColumns", "chosen=1&textColumn=url&sourceColumn=url", "sourceColumn", `The source column cannot be the text column ("url").`, nil},
			{"ErrTextFrom", "chosen=1&textFrom=magic", "textFrom", "Choose one column or a template.", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := builder.get(preview + "?" + tc.query)
				wantStatus(t, r, 422)
				wantBody(t, r, `id="e-`+tc.field+`">`+html.EscapeString(tc.msg), "Please correct the fields marked below.",
					"No records to show until what is marked above is corrected.")
				wantBody(t, r, tc.kept...)
				wantNoBody(t, r, `<form id="import-upload"`)
				nothingWritten(t)
			})
		}

		t.Run("ImportWithTemplate", func(t *testing.T) {
			action, fields := importButtonForm(t, builder.get(preview+"?"+template.Encode()).Body)
			if action != uploadPath.FindString(preview) {
				t.Errorf("Import posts to %q, want the upload %q", action, preview)
			}
			r := builder.post(action, fields)
			wantStatus(t, r, 303)
			if r.Location() != base {
				t.Errorf("redirect = %q", r.Location())
			}
			list, err := a.store.ListRecords(ctx, models.RecordFilter{DatasetID: d.ID}, models.Page{Limit: 100})
			if err != nil || len(list.Records) != 3 {
				t.Fatalf("records = %+v, %v", list, err)
			}
			got := map[string]models.DatasetRecord{}
			for _, rec := range list.Records {
				got[rec.Text] = rec
			}
			refund, ok := got["Q: Can I get a refund?\nA: Yes, within 30 days <of purchase>."]
			if !ok || refund.Source != "https://help.example/refunds" || len(refund.Meta) != 1 || refund.Meta["team"] != "billing" || refund.ImportID == nil {
				t.Errorf("records = %+v; want Q/A texts with their url as source and team as meta, in an import", got)
			}
			imps, _, err := a.store.FindImports(ctx, d.ID, models.Page{})
			if err != nil || len(imps) != 1 || imps[0].FileName != "faq.csv" || imps[0].Format != "csv" || imps[0].RecordCount != 3 ||
				imps[0].CreatedByName != "Builder" || *refund.ImportID != imps[0].ID {
				t.Errorf("imports = %+v, %v", imps, err)
			}
			show := builder.get(base)
			wantBody(t, show, "Imported 3 records from faq.csv.", `href="`+base+`/imports/`+imps[0].ID+`/undo"`)
			// The form sent again (a double click, the back button) imports nothing more.
			r = builder.post(action, fields)
			wantStatus(t, r, 404)
			wantBody(t, r, "This upload is gone: it was imported already, or it expired")
			if n := recordCount(t, a.store, d.ID); n != 3 {
				t.Errorf("%d records after sending the import twice, want 3", n)
			}
			wantStatus(t, builder.get(preview), 404)
		})

		t.Run("ImportErrWritesNothing", func(t *testing.T) {
			other := datasetFixture(t, a.store, "Strict")
			p := mustUpload(t, builder, other.ID, "faq.csv", qaCSV, nil)
			action, fields := importButtonForm(t, builder.get(p).Body)
			fields.Set("textFrom", "template")
			fields.Set("textTemplate", "{nope}") // a forged or stale form
			r := builder.post(action, fields)
			wantStatus(t, r, 422)
			wantBody(t, r, "Nothing was imported. Correct what is marked below, then import again.", `id="e-textTemplate">The template names {nope}`)
			if n := recordCount(t, a.store, other.ID); n != 0 {
				t.Errorf("%d records written", n)
			}
			wantStatus(t, builder.get(p), 200) // still there to fix
		})

		t.Run("TextChunkingPreview", func(t *testing.T) {
			md := "# Warranty\n\n" + strings.Repeat("Every device has a two-year warranty covering defects. ", 40) + "\n\n## Claims\n\nClaims are made online."
			p := mustUpload(t, builder, d.ID, "warranty.md", md, url.Values{"chunkSize": {"2000"}, "overlap": {"200"}})
			if !strings.Contains(p, "chunkSize=2000") {
				t.Errorf("the preview's address %q does not carry the chunk size", p)
			}
			for _, tc := range []struct{ size, overlap int }{{2000, 200}, {300, 50}, {300, 0}} {
				opts := importer.Options{MaxChars: tc.size, OverlapChars: tc.overlap}
				if tc.overlap == 0 {
					opts.OverlapChars = -1
				}
				want, err := importer.Parse("warranty.md", strings.NewReader(md), opts)
				if err != nil {
					t.Fatal(err)
				}
				r := builder.get(uploadPath.FindString(p) + fmt.Sprintf("?chunkSize=%d&overlap=%d", tc.size, tc.overlap))
				wantStatus(t, r, 200)
				wantBody(t, r, "Chunks as they will be stored", fmt.Sprintf("The first %d of %s this import makes.", min(len(want), 10), recordsPhrase(int64(len(want)))),
					fmt.Sprintf(`name="chunkSize" type="number" value="%d"`, tc.size), fmt.Sprintf(`name="overlap" type="number" value="%d"`, tc.overlap),
					fmt.Sprintf(`<pre class="record-text">%s</pre>`, html.EscapeString(want[1].Text)), "<dd>warranty.md#warranty</dd>",
					html.EscapeString(`{"section":"Warranty"}`), fmt.Sprintf("<dd>%d characters</dd>", len([]rune(want[0].Text))))
				if tc.size == 300 && len(want) < 8 {
					t.Errorf("only %d chunks of 300 characters", len(want))
				}
			}
			r := builder.get(uploadPath.FindString(p) + "?chunkSize=300&overlap=400")
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-overlap">Overlap must be a whole number from 0 to 150.`, `value="400"`)
			wantNoBody(t, r, `<form id="import-upload"`, "<legend>Meta columns</legend>")
		})

		t.Run("JSONKeepsWorking", func(t *testing.T) {
			other := datasetFixture(t, a.store, "JSON")
			p := mustUpload(t, builder, other.ID, "faq.jsonl", "{\"text\": \"Gift cards never expire.\", \"source\": \"gift.html\", \"team\": \"sales\"}\n{\"text\": \"Support answers within a day.\"}\n", nil)
			r := builder.get(p)
			wantStatus(t, r, 200)
			wantBody(t, r, "read as JSON Lines", `<pre class="record-text">Gift cards never expire.</pre>`, "<dd>gift.html</dd>", html.EscapeString(`{"team":"sales"}`))
			action, fields := importButtonForm(t, r.Body)
			wantStatus(t, builder.post(action, fields), 303)
			if n := recordCount(t, a.store, other.ID); n != 2 {
				t.Errorf("%d records, want 2", n)
			}
		})

		t.Run("WithHtmxThePreviewSwapsIn", func(t *testing.T) {
			other := datasetFixture(t, a.store, "Htmx")
			hx := map[string]string{"HX-Request": "true", "X-CSRF-Token": builder.csrf}
			r := builder.importUpload("/datasets/"+other.ID+"/uploads", "faq.csv", qaCSV, nil, hx)
			wantStatus(t, r, 200)
			wantBody(t, r, `<div id="import-preview"`, `hx-get="/datasets/`+other.ID+`/uploads/`, `hx-target="#import-preview"`, `hx-push-url="true"`,
				"The first 3 of 3 records")
			wantNoBody(t, r, "<html", "<title>")
			pushed := r.Header.Get("HX-Push-Url")
			if !uploadPath.MatchString(pushed) {
				t.Fatalf("HX-Push-Url = %q, want the preview's address", pushed)
			}
			r = builder.htmxGet(withQuery(pushed, "chosen", "1") + "&textColumn=answer")
			wantStatus(t, r, 200)
			wantBody(t, r, `<pre class="record-text">Yes, within 30 days &lt;of purchase&gt;.</pre>`)
			wantNoBody(t, r, "<html")
			// Restoring history (back, with htmx's history cache off) asks for the whole page.
			req := httptest.NewRequest(http.MethodGet, pushed, nil)
			req.Header.Set("HX-Request", "true")
			req.Header.Set("HX-History-Restore-Request", "true")
			r = builder.do(req)
			wantStatus(t, r, 200)
			wantBody(t, r, "<html", `<div id="import-preview"`)
			r = builder.htmxGet(withQuery(pushed, "chosen", "1") + "&textFrom=template&textTemplate=%7Bnope%7D")
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-textTemplate">The template names {nope}`)
			wantNoBody(t, r, "<html")
			action, fields := importButtonForm(t, builder.htmxGet(pushed).Body)
			r = builder.htmx(action, fields)
			wantStatus(t, r, 204)
			if r.Header.Get("HX-Redirect") != "/datasets/"+other.ID {
				t.Errorf("HX-Redirect = %q", r.Header.Get("HX-Redirect"))
			}
		})

		for _, tc := range []struct {
			name, file, content string
			fields              url.Values
			status              int
			field, msg          string
		}{
			{"ErrNoFile", "", "", url.Values{"sourceColumn": {"kept"}}, 422, "file", "Choose a file to import."},
			{"ErrUnknownExtension", "slides.pdf", "%PDF", nil, 422, "file", `"slides.pdf" is a .pdf file; Parley imports .txt, .md, .csv, .json or .jsonl files.`},
			{"ErrNotUTF8", "latin1.txt", "ok\ncaf\xe9\n", nil, 422, "file", "Line 2: the text is not valid UTF-8; save the file as UTF-8 and import it again."},
			{"ErrChunkSize", "a.txt", "x", url.Values{"chunkSize": {"12"}}, 422, "chunkSize", "Max chunk size must be a whole number from 100 to 100000."},
		} {
			t.Run("Upload"+tc.name, func(t *testing.T) {
				other := datasetFixture(t, a.store, "Rejected "+tc.name)
				before := tableCount(t, a.store, "dataset_uploads")
				r := builder.importUpload("/datasets/"+other.ID+"/uploads", tc.file, tc.content, tc.fields, nil)
				wantStatus(t, r, tc.status)
				wantBody(t, r, "<title>Import records into Rejected", `id="e-`+tc.field+`">`+html.EscapeString(tc.msg), `<form id="import-form"`)
				if after := tableCount(t, a.store, "dataset_uploads"); after != before {
					t.Errorf("uploads: %d before, %d after", before, after)
				}
			})
		}

		t.Run("ErrUploadNotFound", func(t *testing.T) {
			for _, p := range []string{base + "/uploads/" + missingDatasetID, base + "/uploads/nope", "/datasets/" + missingDatasetID + "/uploads/" + missingDatasetID} {
				wantStatus(t, builder.get(p), 404)
				wantStatus(t, builder.post(p, nil), 404)
			}
			// Another dataset's upload is not this one's.
			other := datasetFixture(t, a.store, "Elsewhere")
			p := mustUpload(t, builder, other.ID, "faq.csv", qaCSV, nil)
			m := uploadPath.FindStringSubmatch(p)
			wantStatus(t, builder.get(base+"/uploads/"+m[1]), 404)
		})

		t.Run("ErrForbiddenAndCSRF", func(t *testing.T) {
			other := datasetFixture(t, a.store, "Guarded")
			p := uploadPath.FindString(mustUpload(t, builder, other.ID, "faq.csv", qaCSV, nil))
			before := tableCount(t, a.store, "dataset_uploads")
			for _, role := range []string{models.RoleQA, models.RoleSupport} {
				c := a.as(role)
				wantStatus(t, c.importUpload("/datasets/"+other.ID+"/uploads", "faq.csv", qaCSV, nil, nil), 403)
				wantStatus(t, c.get(p), 403)
				wantStatus(t, c.post(p, nil), 403)
			}
			wantStatus(t, builder.post(p, url.Values{"_csrf": {"wrong"}}), 403)
			wantStatus(t, builder.importUpload("/datasets/"+other.ID+"/uploads", "faq.csv", qaCSV, url.Values{"_csrf": {""}}, nil), 403)
			if n := recordCount(t, a.store, other.ID); n != 0 {
				t.Errorf("%d records written", n)
			}
			if after := tableCount(t, a.store, "dataset_uploads"); after != before {
				t.Errorf("uploads: %d before, %d after", before, after)
			}
		})
	})
}
