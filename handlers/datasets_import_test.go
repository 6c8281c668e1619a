package handlers

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/models"
)

// importUpload submits the import form the way a browser does: multipart, with the
// file (when fileName is set) and the CSRF token unless fields has one.
func (c *client) importUpload(path, fileName, content string, fields url.Values, headers map[string]string) *resp {
	c.a.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if fields == nil {
		fields = url.Values{}
	}
	if _, ok := fields["_csrf"]; !ok && headers["X-CSRF-Token"] == "" {
		fields.Set("_csrf", c.csrf)
	}
	for k, vs := range fields {
		for _, v := range vs {
			if err := w.WriteField(k, v); err != nil {
				c.a.t.Fatal(err)
			}
		}
	}
	if fileName != "" {
		fw, err := w.CreateFormFile("file", fileName)
		if err != nil {
			c.a.t.Fatal(err)
		}
		if _, err := fw.Write([]byte(content)); err != nil {
			c.a.t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		c.a.t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Accept", "text/html")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return c.do(req)
}

func TestDatasetImport(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := t.Context()
		builder := a.as(models.RoleBuilder)
		d := datasetFixture(t, a.store, "Help center")
		base := "/datasets/" + d.ID

		t.Run("FormPage", func(t *testing.T) {
			r := builder.get(base + "/import")
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Import records into Help center · Parley</title>",
				`<label for="f-file">File`, `id="f-file" name="file" type="file" required`, `enctype="multipart/form-data"`,
				`action="`+base+`/import"`, `hx-post="`+base+`/import"`, `hx-encoding="multipart/form-data"`,
				`<label for="f-format">Format</label>`, `<label for="f-textColumn">Text column</label>`, `<label for="f-sourceColumn">Source column</label>`,
				`<label for="f-chunkSize">Max chunk size (characters)</label>`, `value="2000"`, `<label for="f-overlap">Overlap (characters)</label>`, `value="200"`,
				`<progress id="import-progress-bar"`, `data-max-bytes="4128768"`, `at most 3.9 MB`,
				`<button type="submit" formaction="`+base+`/uploads" hx-post="`+base+`/uploads" hx-disabled-elt="this">Preview</button>`,
				`<button type="submit" class="secondary">Import without preview</button>`,
				`/js/import.js" defer></script>`, `name="_csrf" value="`+builder.csrf+`"`)
			wantNoBody(t, r, "<script>")
		})
		t.Run("LinkOnDatasetPage", func(t *testing.T) {
			wantBody(t, builder.get(base), `<a class="button secondary" href="`+base+`/import">Import records</a>`)
			wantNoBody(t, a.as(models.RoleQA).get(base), base+"/import")
		})

		csvContent := "question,answer,url\r\n" +
			"Can I get a refund?,\"Refunds are paid within 30 days, to the card you used.\",https://example.com/refunds\r\n" +
			"How long is shipping?,\"Shipping takes\nthree to five days.\",https://example.com/shipping\r\n" +
			",,\r\n"
		for _, tc := range []struct {
			name, file, content string
			fields              url.Values
			wantN               int
			query, wantSource   string
		}{
			{"Text", "policies.txt", "Refunds are paid within 30 days.\n\nWe ship worldwide.", nil, 1, "refunds paid", "policies.txt"},
			{"Markdown", "guide.md", "# Guide\n\nIntro.\n\n## Refunds\n\nMoney back within 30 days.\n\n## Shipping\n\nFive days.", nil, 3, "money back", "guide.md#refunds"},
			{"MarkdownSmallChunks", "long.md", "# Long\n\n" + strings.Repeat("Another sentence about warranties. ", 60),
				url.Values{"chunkSize": {"300"}, "overlap": {"50"}}, 9, "warranties", "long.md#long"},
			{"CSV", "faq.csv", csvContent, url.Values{"textColumn": {"answer"}, "sourceColumn": {"url"}}, 2, "Shipping takes three to five days", "https://example.com/shipping"},
			{"JSON", "faq.json", `[{"text": "Gift cards never expire.", "source": "gift.html", "team": "sales"}, {"text": "Support answers within a day."}]`, nil, 2, "gift cards", "gift.html"},
			{"JSONL", "faq.jsonl", "{\"text\": \"Invoices are emailed monthly.\", \"source\": \"billing\"}\n\n{\"text\": \"Accounts can be deleted.\"}\n", nil, 2, "invoices", "billing"},
			{"FormatChosen", "export.data", "text\nVouchers are single use.\n", url.Values{"format": {"csv"}}, 1, "vouchers", ""},
		} {
			t.Run("OK"+tc.name, func(t *testing.T) {
				before := recordCount(t, a.store, d.ID)
				r := builder.importUpload(base+"/import", tc.file, tc.content, tc.fields, nil)
				wantStatus(t, r, 303)
				if r.Location() != base {
					t.Errorf("redirect = %q, want %q", r.Location(), base)
				}
				if got := recordCount(t, a.store, d.ID) - before; got != int64(tc.wantN) {
					t.Errorf("%d records added, want %d", got, tc.wantN)
				}
				wantBody(t, builder.get(base), html.EscapeString(fmt.Sprintf("Imported %s from %s.", recordsPhrase(int64(tc.wantN)), tc.file)))
				hits, err := a.store.SearchRecords(ctx, models.RecordQuery{DatasetIDs: []string{d.ID}, Text: tc.query, Limit: 1})
				if err != nil || len(hits) == 0 || hits[0].Record.Source != tc.wantSource {
					t.Errorf("search %q after import = %+v, %v; want a record with source %q", tc.query, hits, err, tc.wantSource)
				}
			})
		}
		t.Run("CSVMetaKept", func(t *testing.T) {
			hits, err := a.store.SearchRecords(ctx, models.RecordQuery{DatasetIDs: []string{d.ID}, Text: "refund card"})
			if err != nil || len(hits) == 0 || hits[0].Record.Meta["question"] != "Can I get a refund?" {
				t.Errorf("hits = %+v, %v; want the CSV's question column in meta", hits, err)
			}
		})
		t.Run("OKWithHtmx", func(t *testing.T) {
			r := builder.importUpload(base+"/import", "one.txt", "Loyalty points expire after a year.", nil, map[string]string{"HX-Request": "true", "X-CSRF-Token": builder.csrf})
			wantStatus(t, r, 204)
			if r.Header.Get("HX-Redirect") != base {
				t.Errorf("HX-Redirect = %q, want %q", r.Header.Get("HX-Redirect"), base)
			}
		})

		for _, tc := range []struct {
			name, file, content string
			fields              url.Values
			status              int
			field, msg          string
			kept                []string
		}{
			{"ErrJSONTextMissing", "bad.json", "[\n  {\"text\": \"fine\"},\n  {\"source\": \"x\"}\n]", nil, 422, "file", `Line 3: "text" is missing.`, nil},
			{"ErrJSONSyntax", "bad.json", "[\n{\"text\": \"a\"},\n{\"text\": \"b\",}\n]", nil, 422, "file", "Line 3: invalid JSON: invalid character '}' looking for beginning of object key string.", nil},
			{"ErrJSONLLine", "bad.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": 7}\n", nil, 422, "file", `Line 3: "text" must be a string, not a number.`, nil},
			{"ErrCSVEmptyCell", "bad.csv", "question,answer\nA?,Yes.\nB?,\nC?,No.\n", url.Values{"textColumn": {"answer"}, "chunkSize": {"1500"}}, 422, "file",
				`Row 3: column "answer" is empty.`, []string{`value="answer"`, `value="1500"`}},
			{"ErrCSVNoSuchColumn", "bad.csv", "question,answer\nA?,Yes.\n", url.Values{"textColumn": {"body"}, "sourceColumn": {"url-kept"}}, 422, "textColumn",
				`There is no column "body": the header (row 1) has "question", "answer".`, []string{`value="body"`, `value="url-kept"`}},
			{"ErrTextNotUTF8", "latin1.txt", "ok\ncaf\xe9\n", nil, 422, "file", "Line 2: the text is not valid UTF-8; save the file as UTF-8 and import it again.", nil},
			{"ErrUnknownExtension", "slides.pdf", "%PDF", nil, 422, "file", `"slides.pdf" is a .pdf file; Parley imports .txt, .md, .csv, .json or .jsonl files.`, nil},
			{"ErrNoFile", "", "", url.Values{"sourceColumn": {"kept"}}, 422, "file", "Choose a file to import.", []string{`value="kept"`}},
			{"ErrChunkSize", "a.txt", "x", url.Values{"chunkSize": {"12"}}, 422, "chunkSize", "Max chunk size must be a whole number from 100 to 100000.", []string{`value="12"`}},
			{"ErrOverlap", "a.txt", "x", url.Values{"chunkSize": {"400"}, "overlap": {"300"}}, 422, "overlap", "Overlap must be a whole number from 0 to 200.", nil},
			{"ErrFormat", "a.txt", "x", url.Values{"format": {"pdf"}}, 422, "format", "Choose one of the formats listed.", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := recordCount(t, a.store, d.ID)
				r := builder.importUpload(base+"/import", tc.file, tc.content, tc.fields, nil)
				wantStatus(t, r, tc.status)
				wantBody(t, r, "<title>Import records into Help center · Parley</title>", `id="e-`+tc.field+`">`+html.EscapeString(tc.msg))
				wantBody(t, r, tc.kept...)
				if tc.file != "" && tc.field == "file" {
					wantBody(t, r, html.EscapeString("Nothing was imported from "+tc.file+"."))
				}
				if after := recordCount(t, a.store, d.ID); after != before {
					t.Errorf("records: %d before, %d after a rejected import", before, after)
				}
			})
		}
		t.Run("ErrWithHtmxIsTheFormAlone", func(t *testing.T) {
			before := recordCount(t, a.store, d.ID)
			r := builder.importUpload(base+"/import", "bad.jsonl", "{\"text\": \"a\"}\n{\"source\": \"b\"}\n", url.Values{"sourceColumn": {"kept"}},
				map[string]string{"HX-Request": "true", "X-CSRF-Token": builder.csrf})
			wantStatus(t, r, 422)
			wantBody(t, r, `<form id="import-form"`, `hx-preserve="true"`, `id="e-file">`+html.EscapeString(`Line 2: "text" is missing.`), `value="kept"`,
				`name="_csrf" value="`+builder.csrf+`"`)
			wantNoBody(t, r, "<html", "<title>")
			if after := recordCount(t, a.store, d.ID); after != before {
				t.Errorf("records: %d before, %d after", before, after)
			}
		})

		t.Run("LastRowBadWritesNothing", func(t *testing.T) {
			var b strings.Builder
			b.WriteString("text,source\n")
			for i := range 2_000 {
				fmt.Fprintf(&b, "Record %d about returns,row-%d\n", i, i)
			}
			b.WriteString(",row-last\n")
			before := recordCount(t, a.store, d.ID)
			r := builder.importUpload(base+"/import", "big.csv", b.String(), nil, nil)
			wantStatus(t, r, 422)
			wantBody(t, r, html.EscapeString(`Row 2002: column "text" is empty.`))
			if after := recordCount(t, a.store, d.ID); after != before {
				t.Errorf("records: %d before, %d after", before, after)
			}
		})

		t.Run("TenThousandRecords", func(t *testing.T) {
			other := datasetFixture(t, a.store, "Big")
			var b strings.Builder
			b.WriteString("text,source\n")
			for i := range 10_000 {
				fmt.Fprintf(&b, "\"Entry %d: the help center explains settings, plans and refunds.\",https://example.com/help/%d\n", i, i)
			}
			start := time.Now()
			r := builder.importUpload("/datasets/"+other.ID+"/import", "ten-thousand.csv", b.String(), nil, nil)
			wantStatus(t, r, 303)
			t.Logf("%s: 10,000-row CSV (%s) uploaded, parsed and imported in %v", a.store.Dialect(), fmt.Sprintf("%.1f MB", float64(b.Len())/(1<<20)), time.Since(start).Round(time.Millisecond))
			if n := recordCount(t, a.store, other.ID); n != 10_000 {
				t.Errorf("%d records, want 10000", n)
			}
		})

		t.Run("ErrTooLargeForImport", func(t *testing.T) {
			before := recordCount(t, a.store, d.ID)
			// Over the import's limit (body limit less the slack), under the body limit.
			big := strings.Repeat("a", 4<<20-32<<10)
			r := builder.importUpload(base+"/import", "huge.txt", big, nil, nil)
			wantStatus(t, r, 413)
			wantBody(t, r, `id="e-file">File too large (max 3.9 MB): huge.txt is 4 MB.`)
			if after := recordCount(t, a.store, d.ID); after != before {
				t.Errorf("records: %d before, %d after", before, after)
			}
		})
		// Over the server's body limit, the request never reaches the handler:
		// fasthttp answers 413 from the Content-Length alone and closes the
		// connection while the client is still sending, so the client may see
		// the 413 or a reset connection (a browser without JavaScript shows a
		// connection error; import.js checks the size before sending). app.Test
		// reports either as an error, so this runs on a real listener and
		// checks what can be relied on: nothing is written, and a response,
		// when one arrives, is a 413 saying so.
		t.Run("ErrOverBodyLimit", func(t *testing.T) {
			srv := newServer(t, a.store)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = srv.Serve(ln) }()
			defer func() { _ = srv.App().Shutdown() }()

			before := recordCount(t, a.store, d.ID)
			var body bytes.Buffer
			w := multipart.NewWriter(&body)
			_ = w.WriteField("_csrf", builder.csrf)
			fw, _ := w.CreateFormFile("file", "huge.txt")
			_, _ = fw.Write(bytes.Repeat([]byte("a"), 5<<20))
			_ = w.Close()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+ln.Addr().String()+base+"/import", &body)
			req.Header.Set("Content-Type", w.FormDataContentType())
			req.Header.Set("Accept", "text/html")
			for k, v := range builder.cookies {
				req.AddCookie(&http.Cookie{Name: k, Value: v})
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Logf("POST over the body limit: %v (the server closed the connection)", err)
			} else {
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				if res.StatusCode != 413 || !strings.Contains(string(b), "too large") {
					t.Errorf("status %d, body %q; want 413 saying the request is too large", res.StatusCode, shorten(string(b), 500))
				}
			}
			if after := recordCount(t, a.store, d.ID); after != before {
				t.Errorf("records: %d before, %d after", before, after)
			}
		})

		t.Run("ErrCSRFMissing", func(t *testing.T) {
			before := recordCount(t, a.store, d.ID)
			r := builder.importUpload(base+"/import", "a.txt", "Sneaky record.", url.Values{"_csrf": {""}}, nil)
			wantStatus(t, r, 403)
			r = builder.importUpload(base+"/import", "a.txt", "Sneaky record.", url.Values{"_csrf": {"wrong"}}, nil)
			wantStatus(t, r, 403)
			if after := recordCount(t, a.store, d.ID); after != before {
				t.Errorf("records: %d before, %d after", before, after)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			before := recordCount(t, a.store, d.ID)
			for _, role := range []string{models.RoleQA, models.RoleSupport} {
				c := a.as(role)
				wantStatus(t, c.get(base+"/import"), 403)
				wantStatus(t, c.importUpload(base+"/import", "a.txt", "Not allowed.", nil, nil), 403)
			}
			if after := recordCount(t, a.store, d.ID); after != before {
				t.Errorf("records: %d before, %d after", before, after)
			}
		})
		t.Run("ErrDatasetNotFound", func(t *testing.T) {
			wantStatus(t, builder.get("/datasets/"+missingDatasetID+"/import"), 404)
			wantStatus(t, builder.importUpload("/datasets/"+missingDatasetID+"/import", "a.txt", "x", nil, nil), 404)
		})
	})
}

// TestDatasetImportLargerBodyLimit: with a body limit above the importer's
// own, the importer's limit (20 MB) is the one that applies.
func TestDatasetImportLargerBodyLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 20 MB; skipped with -short")
	}
	eachApp(t, func(t *testing.T, a *testApp) {
		srv := newServer(t, a.store, func(su *serverSetup) { su.Config.BodyLimit = 32 << 20 })
		big := *a
		big.srv = srv
		builder := big.as(models.RoleBuilder)
		d := datasetFixture(t, a.store, "Big limits")
		wantBody(t, builder.get("/datasets/"+d.ID+"/import"), `data-max-bytes="20971520"`, "at most 20 MB")
		r := builder.importUpload("/datasets/"+d.ID+"/import", "huge.txt", strings.Repeat("a", 20<<20+1), nil, nil)
		wantStatus(t, r, 413)
		wantBody(t, r, `File too large (max 20 MB): huge.txt is 20 MB.`)
		if n := recordCount(t, a.store, d.ID); n != 0 {
			t.Errorf("%d records written", n)
		}
	})
}
