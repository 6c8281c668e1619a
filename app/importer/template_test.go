package importer_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"parley/app/importer"
)

const qaCSV = "question,answer,url,team\n" +
	"Can I get a refund?,\"Yes, within 30 days.\",https://x/refunds,billing\n" +
	"How long is shipping?,Three to five days.,https://x/shipping,\n"

func TestParseCSVTemplate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		recs := mustParse(t, "qa.csv", qaCSV, importer.Options{TextTemplate: "Q: {question}\nA: { Answer }", SourceColumn: "url"})
		want := []importer.Record{
			{Text: "Q: Can I get a refund?\nA: Yes, within 30 days.", Source: "https://x/refunds", Meta: map[string]any{"team": "billing"}},
			{Text: "Q: How long is shipping?\nA: Three to five days.", Source: "https://x/shipping"},
		}
		if diff := cmp.Diff(want, recs); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
	})
	t.Run("LiteralBraceAndRepeatedColumn", func(t *testing.T) {
		recs := mustParse(t, "qa.csv", qaCSV, importer.Options{TextTemplate: "{{{team}} {question} ({question})} ", ColumnsChosen: true})
		if got, want := recs[0].Text, "{billing} Can I get a refund? (Can I get a refund?)}"; got != want {
			t.Errorf("text = %q, want %q", got, want)
		}
		if recs[0].Source != "" || recs[0].Meta != nil {
			t.Errorf("with columns chosen and none for source or meta: %+v", recs[0])
		}
	})
	t.Run("ChosenMetaColumns", func(t *testing.T) {
		recs := mustParse(t, "qa.csv", qaCSV, importer.Options{TextColumn: "answer", ColumnsChosen: true, MetaColumns: []string{"Question", "team", "question"}})
		want := []importer.Record{
			{Text: "Yes, within 30 days.", Meta: map[string]any{"question": "Can I get a refund?", "team": "billing"}},
			{Text: "Three to five days.", Meta: map[string]any{"question": "How long is shipping?"}},
		}
		if diff := cmp.Diff(want, recs); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
	})
	t.Run("ErrTemplateColumnsEmpty", func(t *testing.T) {
		content := "question,answer\nA?,Yes.\n  , \t\nB?,\n"
		wantParseError(t, "qa.csv", content+",x\n", importer.Options{TextTemplate: "{question}"}, `row 5: column "question" is empty`)
		wantParseError(t, "qa.csv", "question,answer,x\nA?,Yes.,1\n,,2\n", importer.Options{TextTemplate: "Q: {question} A: {answer}"},
			`row 3: the text template's columns ("question", "answer") are all empty`)
		// One of them empty is fine: the record says what it has.
		recs := mustParse(t, "qa.csv", content, importer.Options{TextTemplate: "Q: {question}\nA: {answer}"})
		if got := recs[1].Text; got != "Q: B?\nA:" {
			t.Errorf("text = %q", got)
		}
	})
	for _, tc := range []struct {
		name       string
		opts       importer.Options
		wantOption string
		wantMsg    string
	}{
		{"ErrUnknownPlaceholder", importer.Options{TextTemplate: "Q: {question}\nA: {answr}"}, "TextTemplate",
			`the template names {answr}, but there is no column "answr": the header (row 1) has "question", "answer", "url", "team"`},
		{"ErrUnclosed", importer.Options{TextTemplate: "Q: {question"}, "TextTemplate",
			"the template has a { that is not closed by a }: write {column} for a column's value, or {{ for a { itself"},
		{"ErrEmptyPlaceholder", importer.Options{TextTemplate: "Q: {}"}, "TextTemplate",
			"the template has an empty placeholder {}: put a column's name inside, such as {question}"},
		{"ErrNoPlaceholder", importer.Options{TextTemplate: "just words {{"}, "TextTemplate",
			"the template names no column: put column names in braces, such as {question}"},
		{"ErrUnknownMetaColumn", importer.Options{ColumnsChosen: true, MetaColumns: []string{"team", "owner"}}, "MetaColumns",
			`there is no column "owner": the header (row 1) has "question", "answer", "url", "team"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := importer.Parse("qa.csv", strings.NewReader(qaCSV), tc.opts)
			var oe *importer.OptionError
			if !errors.As(err, &oe) || oe.Option != tc.wantOption || oe.Message != tc.wantMsg {
				t.Errorf("err = %#v, want an OptionError for %s: %q", err, tc.wantOption, tc.wantMsg)
			}
			if recs != nil {
				t.Errorf("%d records with the error", len(recs))
			}
		})
	}
}

func TestReadCSVTable(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		tab, err := importer.ReadCSVTable([]byte("\ufeffid,Text,,Source\n1,a,b,c\n,,,\n2,d,e,f\n3,g,h,i\n"), 2)
		if err != nil {
			t.Fatal(err)
		}
		want := &importer.CSVTable{Columns: []string{"id", "Text", "column 3", "Source"}, Rows: [][]string{{"1", "a", "b", "c"}, {"2", "d", "e", "f"}},
			TextColumn: "Text", SourceColumn: "Source", MetaColumns: []string{"id", "column 3"}}
		if diff := cmp.Diff(want, tab); diff != "" {
			t.Errorf("table (-want +got):\n%s", diff)
		}
	})
	t.Run("FirstColumnNoSource", func(t *testing.T) {
		tab, err := importer.ReadCSVTable([]byte(qaCSV), 5)
		if err != nil {
			t.Fatal(err)
		}
		if tab.TextColumn != "question" || tab.SourceColumn != "" || len(tab.Rows) != 2 || !cmp.Equal(tab.MetaColumns, []string{"answer", "url", "team"}) {
			t.Errorf("table = %+v", tab)
		}
	})
	t.Run("ErrBadRow", func(t *testing.T) {
		_, err := importer.ReadCSVTable([]byte("a,b\n1,2\n\"open\n"), 5)
		var pe *importer.ParseError
		if !errors.As(err, &pe) || pe.Row != 3 {
			t.Errorf("err = %v, want a ParseError on row 3", err)
		}
	})
	t.Run("ErrEmpty", func(t *testing.T) {
		if _, err := importer.ReadCSVTable(nil, 5); err == nil || err.Error() != "the file has nothing to import: it has a header but no rows" {
			t.Errorf("err = %v", err)
		}
	})
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		opts                importer.Options
		want, wantErr       string
	}{
		{"ByExtension", "FAQ.CSV", "a\nb\n", importer.Options{}, importer.FormatCSV, ""},
		{"Chosen", "export.data", "{}", importer.Options{Format: "JSONL"}, importer.FormatJSONL, ""},
		{"ErrExtension", "slides.pdf", "%PDF", importer.Options{}, "", `"slides.pdf" is a .pdf file; Parley imports .txt, .md, .csv, .json or .jsonl files`},
		{"ErrFormat", "a.txt", "x", importer.Options{Format: "pdf"}, "", `unknown format "pdf": use .txt, .md, .csv, .json or .jsonl`},
		{"ErrNotUTF8", "a.txt", "ok\ncaf\xe9", importer.Options{}, "", "line 2: the text is not valid UTF-8; save the file as UTF-8 and import it again"},
		{"ErrTooLarge", "a.txt", strings.Repeat("x", 11), importer.Options{MaxBytes: 10}, "", "the file is larger than 10 bytes, the most one import may be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := importer.Check(tc.file, []byte(tc.content), tc.opts)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("Check = %q, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Check = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
