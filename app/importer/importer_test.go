package importer_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"parley/app/importer"
	"parley/models"
)

// mustParse parses content as the named file and fails the test on error.
func mustParse(t *testing.T, name, content string, opts importer.Options) []importer.Record {
	t.Helper()
	recs, err := importer.Parse(name, strings.NewReader(content), opts)
	if err != nil {
		t.Fatalf("Parse(%q): %v", name, err)
	}
	return recs
}

// wantParseError parses content and wants a *ParseError whose message is want.
func wantParseError(t *testing.T, name, content string, opts importer.Options, want string) *importer.ParseError {
	t.Helper()
	recs, err := importer.Parse(name, strings.NewReader(content), opts)
	var pe *importer.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Parse(%q) = %d records, %v (%T); want a *ParseError %q", name, len(recs), err, err, want)
	}
	if recs != nil {
		t.Errorf("Parse returned %d records with its error; want none", len(recs))
	}
	if got := pe.Error(); got != want {
		t.Errorf("error = %q\nwant    %q", got, want)
	}
	return pe
}

func texts(recs []importer.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Text
	}
	return out
}

func sources(recs []importer.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Source
	}
	return out
}

func TestParseText(t *testing.T) {
	t.Run("ParagraphsPackedIntoOneChunk", func(t *testing.T) {
		recs := mustParse(t, "notes.txt", "First paragraph,\nsecond line.\n\n\n  Second paragraph.  \n\n# not a heading in plain text\n", importer.Options{})
		want := []string{"First paragraph,\nsecond line.\n\nSecond paragraph.\n\n# not a heading in plain text"}
		if diff := cmp.Diff(want, texts(recs)); diff != "" {
			t.Errorf("texts (-want +got):\n%s", diff)
		}
		if recs[0].Source != "notes.txt" || recs[0].Meta != nil {
			t.Errorf("source %q, meta %v; want the file name and no meta", recs[0].Source, recs[0].Meta)
		}
	})
	t.Run("ParagraphsPackedUpToMaxChars", func(t *testing.T) {
		var paras []string
		for i := range 30 {
			paras = append(paras, fmt.Sprintf("Paragraph %02d %s.", i, strings.Repeat("x", 60))) // 74 characters
		}
		recs := mustParse(t, "a.txt", strings.Join(paras, "\n\n"), importer.Options{MaxChars: 300})
		// 74 + 2 + 74 + 2 + 74 = 226; a fourth would make 302.
		if len(recs) != 10 {
			t.Fatalf("%d chunks, want 10: %q", len(recs), texts(recs))
		}
		for i, r := range recs {
			if n := utf8.RuneCountInString(r.Text); n > 300 {
				t.Errorf("chunk %d has %d characters, more than 300", i, n)
			}
			want := strings.Join(paras[3*i:3*i+3], "\n\n")
			if r.Text != want {
				t.Errorf("chunk %d = %q, want whole paragraphs %q", i, r.Text, want)
			}
		}
	})
	t.Run("CRLFAndBOM", func(t *testing.T) {
		recs := mustParse(t, "win.txt", "\ufeffLine one\r\nline two\r\n\r\nNext\rold mac\r\n", importer.Options{})
		if diff := cmp.Diff([]string{"Line one\nline two\n\nNext\nold mac"}, texts(recs)); diff != "" {
			t.Errorf("texts (-want +got):\n%s", diff)
		}
	})
	t.Run("DirectoryInNameDropped", func(t *testing.T) {
		recs := mustParse(t, `C:\Users\me\notes.TXT`, "hello", importer.Options{})
		if recs[0].Source != "notes.TXT" {
			t.Errorf("source = %q, want notes.TXT", recs[0].Source)
		}
	})
}

// words makes a paragraph of n numbered words ("w0001 w0002 …", 6 characters
// a word with its space), sentences of 10 words.
func words(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "w%04d", i)
		if i%10 == 0 {
			b.WriteByte('.')
		}
	}
	return b.String()
}

func TestParseTextSplitsLongParagraphWithOverlap(t *testing.T) {
	para := words(1000) // about 6,100 characters
	for _, tc := range []struct {
		name              string
		maxChars, overlap int
	}{
		{"Defaults", 0, 0},
		{"Small", 500, 100},
		{"NoOverlap", 400, -1},
		{"HalfOverlap", 300, 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := mustParse(t, "long.txt", "Intro.\n\n"+para+"\n\nOutro.", importer.Options{MaxChars: tc.maxChars, OverlapChars: tc.overlap})
			maxChars, overlap := tc.maxChars, tc.overlap
			if maxChars == 0 {
				maxChars, overlap = importer.DefaultMaxChars, importer.DefaultOverlapChars
			}
			if overlap < 0 {
				overlap = 0
			}
			if recs[0].Text != "Intro." || recs[len(recs)-1].Text != "Outro." {
				t.Errorf("the short paragraphs around the long one should be chunks of their own: first %q, last %q", recs[0].Text, recs[len(recs)-1].Text)
			}
			pieces := recs[1 : len(recs)-1]
			if want := len(para) / maxChars; len(pieces) < want {
				t.Fatalf("%d pieces, want at least %d", len(pieces), want)
			}
			// Every piece fits, is a part of the paragraph, starts at a word,
			// and starts where the previous ended, less at most the overlap.
			prevEnd := 0
			for i, r := range pieces {
				if n := utf8.RuneCountInString(r.Text); n > maxChars {
					t.Errorf("piece %d has %d characters, more than %d", i, n, maxChars)
				}
				if !strings.HasPrefix(r.Text, "w") {
					t.Errorf("piece %d starts mid-word: %q", i, r.Text[:20])
				}
				at := strings.Index(para[max(prevEnd-overlap-1, 0):], r.Text)
				if at < 0 {
					t.Fatalf("piece %d is not a part of the paragraph right after piece %d", i, i-1)
				}
				at += max(prevEnd-overlap-1, 0)
				if i == 0 && at != 0 {
					t.Errorf("the first piece starts at %d, want 0", at)
				}
				if i > 0 {
					if got := prevEnd - at; got > overlap || (got < 0 && strings.TrimSpace(para[prevEnd:at]) != "") {
						t.Errorf("piece %d overlaps the previous one by %d characters, want 0..%d", i, got, overlap)
					}
					if overlap >= 20 && prevEnd-at < overlap/2 {
						t.Errorf("piece %d overlaps by only %d characters, want about %d", i, prevEnd-at, overlap)
					}
				}
				prevEnd = at + len(r.Text)
			}
			if prevEnd != len(para) {
				t.Errorf("the pieces end at %d, the paragraph at %d: text lost", prevEnd, len(para))
			}
			// Pieces end at sentence ends when one is in reach.
			if !strings.HasSuffix(pieces[0].Text, ".") {
				t.Errorf("the first piece should end at a sentence end: …%q", pieces[0].Text[len(pieces[0].Text)-20:])
			}
		})
	}
	t.Run("NoSpacesAtAll", func(t *testing.T) {
		s := strings.Repeat("字", 1050)
		recs := mustParse(t, "cjk.txt", s, importer.Options{MaxChars: 500, OverlapChars: 50})
		if len(recs) != 3 {
			t.Fatalf("%d pieces, want 3", len(recs))
		}
		total := 0
		for _, r := range recs {
			n := utf8.RuneCountInString(r.Text)
			if n > 500 {
				t.Errorf("piece of %d characters", n)
			}
			total += n
		}
		if total != 1050+2*50 {
			t.Errorf("pieces add up to %d characters, want the text plus two overlaps (%d)", total, 1050+100)
		}
	})
}

const handbook = `---
title: Handbook
tags: [help]
---
# Handbook

Welcome to the handbook.

## Billing

### Refunds

You get your money back within 30 days.

` + "```sh\n# this is a comment, not a heading\n\necho refund\n```" + `

### Refunds

A second section with the same title.

Payment methods
---------------

Cards and bank transfers.

# Heading only

## Empty

## Ünïcode & Émoji! 🎉

Grüße.
`

func TestParseMarkdown(t *testing.T) {
	recs := mustParse(t, "docs/handbook.md", strings.ReplaceAll(handbook, "\n", "\r\n"), importer.Options{})
	type rec struct {
		Text, Source, Section string
	}
	var got []rec
	for _, r := range recs {
		section, _ := r.Meta["section"].(string)
		got = append(got, rec{r.Text, r.Source, section})
	}
	want := []rec{
		{"Handbook\n\nWelcome to the handbook.", "handbook.md#handbook", "Handbook"},
		{"Refunds\n\nYou get your money back within 30 days.\n\n```sh\n# this is a comment, not a heading\n\necho refund\n```",
			"handbook.md#refunds", "Handbook › Billing › Refunds"},
		{"Refunds\n\nA second section with the same title.", "handbook.md#refunds-1", "Handbook › Billing › Refunds"},
		{"Payment methods\n\nCards and bank transfers.", "handbook.md#payment-methods", "Handbook › Payment methods"},
		{"Ünïcode & Émoji! 🎉\n\nGrüße.", "handbook.md#ünïcode--émoji-", "Heading only › Ünïcode & Émoji! 🎉"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}

	t.Run("TextBeforeFirstHeading", func(t *testing.T) {
		recs := mustParse(t, "a.md", "Preamble.\n\n# Title #\n\nBody.", importer.Options{})
		if diff := cmp.Diff([]string{"a.md", "a.md#title"}, sources(recs)); diff != "" {
			t.Errorf("sources (-want +got):\n%s", diff)
		}
		if recs[0].Meta != nil || recs[1].Text != "Title\n\nBody." {
			t.Errorf("records = %+v", recs)
		}
	})
	t.Run("LongSectionSplitKeepsHeading", func(t *testing.T) {
		recs := mustParse(t, "a.md", "## Long one\n\n"+words(400), importer.Options{MaxChars: 500, OverlapChars: 50})
		if len(recs) < 5 {
			t.Fatalf("%d chunks, want at least 5", len(recs))
		}
		for i, r := range recs {
			if !strings.HasPrefix(r.Text, "Long one\n\nw") || utf8.RuneCountInString(r.Text) > 500 || r.Source != "a.md#long-one" {
				t.Errorf("chunk %d: %d characters, source %q, text %q…", i, utf8.RuneCountInString(r.Text), r.Source, r.Text[:30])
			}
		}
	})
	t.Run("HeadingsOnly", func(t *testing.T) {
		wantParseError(t, "empty.md", "# One\n\n## Two\n", importer.Options{}, "the file has nothing to import: it has no text")
	})
	t.Run("IndentedHashIsNotAHeading", func(t *testing.T) {
		recs := mustParse(t, "a.md", "    # code\n#hashtag\n", importer.Options{})
		if len(recs) != 1 || recs[0].Source != "a.md" || recs[0].Text != "# code\n#hashtag" {
			t.Errorf("records = %+v", recs)
		}
	})
}

func TestParseCSV(t *testing.T) {
	t.Run("DefaultColumns", func(t *testing.T) {
		content := "\ufeffid,Text,Source,category\r\n" +
			"1,\"Refunds, within 30 days.\",https://example.com/refunds,billing\r\n" +
			"\r\n" +
			",,,\r\n" +
			"2,\"A \"\"quoted\"\" word\nand a second line.\",,\r\n"
		recs := mustParse(t, "faq.csv", content, importer.Options{})
		want := []importer.Record{
			{Text: "Refunds, within 30 days.", Source: "https://example.com/refunds", Meta: map[string]any{"id": "1", "category": "billing"}},
			{Text: "A \"quoted\" word\nand a second line.", Meta: map[string]any{"id": "2"}},
		}
		if diff := cmp.Diff(want, recs); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
	})
	t.Run("FirstColumnWithoutTextColumn", func(t *testing.T) {
		recs := mustParse(t, "q.csv", "question,answer\nHow?,Like this.\n", importer.Options{})
		if recs[0].Text != "How?" || recs[0].Source != "" || recs[0].Meta["answer"] != "Like this." {
			t.Errorf("record = %+v", recs[0])
		}
	})
	t.Run("ChosenColumns", func(t *testing.T) {
		recs := mustParse(t, "q.csv", "question,answer,url\nHow?,Like this.,https://x\n", importer.Options{TextColumn: "ANSWER", SourceColumn: " url "})
		want := []importer.Record{{Text: "Like this.", Source: "https://x", Meta: map[string]any{"question": "How?"}}}
		if diff := cmp.Diff(want, recs); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
	})
	for _, tc := range []struct {
		name, content string
		opts          importer.Options
		want          string
		row, line     int
	}{
		{"ErrTextEmpty", "text,source\na,b\n  ,c\n", importer.Options{}, `row 3: column "text" is empty`, 3, 3},
		{"ErrTextEmptyAfterMultilineCell", "text,source\n\"a\nb\nc\",s\n,x\n", importer.Options{}, `row 3 (line 5): column "text" is empty`, 3, 5},
		{"ErrColumns", "text,source\na,b\nc\n", importer.Options{}, "row 3: the row has 1 columns, but the header has 2", 3, 3},
		{"ErrBareQuote", "text\nok\nsay \"hi\"\n", importer.Options{}, `row 3: a quote (") in a cell that is not quoted; quote the cell and double the quote ("")`, 3, 3},
		{"ErrUnclosedQuote", "text\nok\n\"never closed\nmore\n", importer.Options{},
			`row 3: a quoted cell is not closed properly: a quote (") inside quotes must be doubled ("") (noticed on line 4)`, 3, 3},
		{"ErrHeaderOnly", "text,source\n", importer.Options{}, "the file has nothing to import: it has a header but no rows", 0, 0},
		{"ErrEmptyFile", "", importer.Options{}, "the file has nothing to import: it has a header but no rows", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pe := wantParseError(t, "f.csv", tc.content, tc.opts, tc.want)
			if pe.Row != tc.row || pe.Line != tc.line {
				t.Errorf("Row, Line = %d, %d; want %d, %d", pe.Row, pe.Line, tc.row, tc.line)
			}
		})
	}
	for _, tc := range []struct {
		name       string
		opts       importer.Options
		wantOption string
		wantMsg    string
	}{
		{"ErrNoSuchTextColumn", importer.Options{TextColumn: "body"}, "TextColumn", `there is no column "body": the header (row 1) has "question", "answer"`},
		{"ErrNoSuchSourceColumn", importer.Options{SourceColumn: "url"}, "SourceColumn", `there is no column "url": the header (row 1) has "question", "answer"`},
		{"ErrSameColumns", importer.Options{TextColumn: "answer", SourceColumn: "Answer"}, "SourceColumn", `the source column cannot be the text column ("answer")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := importer.Parse("q.csv", strings.NewReader("question,answer\nHow?,Like this.\n"), tc.opts)
			var oe *importer.OptionError
			if !errors.As(err, &oe) || oe.Option != tc.wantOption || oe.Message != tc.wantMsg {
				t.Errorf("err = %#v, want an OptionError for %s: %q", err, tc.wantOption, tc.wantMsg)
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		content := `[
  {"text": "  Refunds within 30 days. ", "source": "https://example.com/refunds"},
  {"text": "Shipping is free.", "meta": {"team": "logistics"}, "priority": 2, "tags": ["a"], "empty": null}
]`
		recs := mustParse(t, "faq.json", content, importer.Options{})
		if len(recs) != 2 || recs[0].Text != "Refunds within 30 days." || recs[0].Source != "https://example.com/refunds" || recs[0].Meta != nil {
			t.Fatalf("records = %+v", recs)
		}
		meta := recs[1].Meta
		if meta["team"] != "logistics" || fmt.Sprint(meta["priority"]) != "2" || fmt.Sprint(meta["tags"]) != "[a]" || len(meta) != 3 {
			t.Errorf("meta = %#v, want team, priority and tags", meta)
		}
	})
	for _, tc := range []struct{ name, content, want string }{
		{"ErrTextMissing", "[\n  {\"text\": \"a\"},\n  {\n    \"source\": \"b\"\n  }\n]", `line 3: "text" is missing`},
		{"ErrTextEmpty", "[{\"text\": \"a\"},\n{\"text\": \"  \"}]", `line 2: "text" is empty`},
		{"ErrTextNotString", "[\n{\"text\": 42}]", `line 2: "text" must be a string, not a number`},
		{"ErrSourceNotString", "[\n{\"text\": \"a\", \"source\": [\"x\"]}]", `line 2: "source" must be a string, not an array`},
		{"ErrMetaNotObject", "[\n{\"text\": \"a\", \"meta\": \"x\"}]", `line 2: "meta" must be an object, not a string`},
		{"ErrNotObject", "[\n{\"text\": \"a\"},\n\"just text\"]", `line 3: expected an object like {"text": "…", "source": "…"}, found a string`},
		{"ErrNotArray", "\n{\"text\": \"a\"}", `line 2: expected an array of objects, like [{"text": "…", "source": "…"}]`},
		{"ErrSyntax", "[\n{\"text\": \"a\"},\n{\"text\": \"b\",}\n]", `line 3: invalid JSON: invalid character '}' looking for beginning of object key string`},
		{"ErrTruncated", "[\n{\"text\": \"a\"},\n{\"text\": \"b\"", `line 3: invalid JSON: the file ends before the array is closed with ]`},
		{"ErrAfterArray", "[{\"text\": \"a\"}]\n[]", `line 2: there is more after the array's closing ]`},
		{"ErrEmptyArray", "[]", `the file has nothing to import: the array is empty; it should hold objects like {"text": "…", "source": "…"}`},
		{"ErrTextTooLong", `[{"text": "` + strings.Repeat("a", importer.MaxTextChars+1) + `"}]`, `line 1: "text" is 100001 characters long; a record holds at most 100000`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantParseError(t, "f.json", tc.content, importer.Options{}, tc.want)
		})
	}
}

func TestParseJSONL(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		content := "\ufeff{\"text\": \"one\", \"source\": \"a\"}\r\n\r\n  {\"text\": \"two\", \"lang\": \"en\"}\n"
		recs := mustParse(t, "r.jsonl", content, importer.Options{})
		want := []importer.Record{{Text: "one", Source: "a"}, {Text: "two", Meta: map[string]any{"lang": "en"}}}
		if diff := cmp.Diff(want, recs); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
	})
	for _, tc := range []struct{ name, content, want string }{
		{"ErrTextMissing", "{\"text\": \"a\"}\n\n{\"source\": \"b\"}\n", `line 3: "text" is missing`},
		{"ErrSyntax", "{\"text\": \"a\"}\n{\"text\": \"b\"\n", `line 2: invalid JSON: it ends too early (a bracket or quote is not closed)`},
		{"ErrTwoObjects", "{\"text\": \"a\"} {\"text\": \"b\"}\n", `line 1: there is more after the object on this line; put one object per line`},
		{"ErrArray", "[{\"text\": \"a\"}]\n", `line 1: expected an object like {"text": "…", "source": "…"}, found an array`},
		{"ErrBlank", "\n\n", `the file has nothing to import: it has no lines; each line should be an object like {"text": "…", "source": "…"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantParseError(t, "f.jsonl", tc.content, importer.Options{}, tc.want)
		})
	}
}

func TestParseFileChecks(t *testing.T) {
	t.Run("ErrUnknownExtension", func(t *testing.T) {
		wantParseError(t, "slides.pdf", "x", importer.Options{}, `"slides.pdf" is a .pdf file; Parley imports .txt, .md, .csv, .json or .jsonl files`)
		wantParseError(t, "README", "x", importer.Options{}, `"README" has no extension; Parley imports .txt, .md, .csv, .json or .jsonl files`)
	})
	t.Run("FormatOverridesExtension", func(t *testing.T) {
		recs := mustParse(t, "export.txt", "text\nhello\n", importer.Options{Format: "csv"})
		if len(recs) != 1 || recs[0].Text != "hello" {
			t.Errorf("records = %+v", recs)
		}
	})
	t.Run("ErrUnknownFormat", func(t *testing.T) {
		_, err := importer.Parse("a.txt", strings.NewReader("x"), importer.Options{Format: "pdf"})
		var oe *importer.OptionError
		if !errors.As(err, &oe) || oe.Option != "Format" {
			t.Errorf("err = %v, want an OptionError for Format", err)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		pe := wantParseError(t, "big.txt", strings.Repeat("a", 2049), importer.Options{MaxBytes: 2048},
			"the file is larger than 2 KB, the most one import may be")
		if !errors.Is(pe, importer.ErrTooLarge) {
			t.Error("the error is not ErrTooLarge")
		}
		mustParse(t, "big.txt", strings.Repeat("a", 2048), importer.Options{MaxBytes: 2048})
	})
	t.Run("ErrTooManyRecords", func(t *testing.T) {
		content := "text\n" + strings.Repeat("row\n", 11)
		pe := wantParseError(t, "many.csv", content, importer.Options{MaxRecords: 10},
			"row 12: the file makes more than 10 records, the most one import may add; split it into smaller files")
		if !errors.Is(pe, importer.ErrTooManyRecords) {
			t.Error("the error is not ErrTooManyRecords")
		}
		if got := mustParse(t, "many.csv", "text\n"+strings.Repeat("row\n", 10), importer.Options{MaxRecords: 10}); len(got) != 10 {
			t.Errorf("%d records, want 10", len(got))
		}
	})
	t.Run("ErrInvalidUTF8", func(t *testing.T) {
		wantParseError(t, "latin1.csv", "text\nok\ncaf\xe9\n", importer.Options{},
			"line 3: the text is not valid UTF-8; save the file as UTF-8 and import it again")
	})
	t.Run("ErrNUL", func(t *testing.T) {
		wantParseError(t, "bin.txt", "ok\n\nx\x00y", importer.Options{}, "line 3: the file holds a NUL byte: it looks binary, not text")
	})
	t.Run("ErrUTF16", func(t *testing.T) {
		wantParseError(t, "u.txt", "\xff\xfeh\x00i\x00", importer.Options{}, "line 1: the file is UTF-16 text; save it as UTF-8 and import it again")
	})
	for _, tc := range []struct {
		name       string
		opts       importer.Options
		wantOption string
	}{
		{"ErrChunkTooSmall", importer.Options{MaxChars: 50}, "MaxChars"},
		{"ErrChunkTooLarge", importer.Options{MaxChars: importer.MaxTextChars + 1}, "MaxChars"},
		{"ErrOverlapTooLarge", importer.Options{MaxChars: 1000, OverlapChars: 501}, "OverlapChars"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := importer.Parse("a.txt", strings.NewReader("x"), tc.opts)
			var oe *importer.OptionError
			if !errors.As(err, &oe) || oe.Option != tc.wantOption {
				t.Errorf("err = %v, want an OptionError for %s", err, tc.wantOption)
			}
		})
	}
}

// TestLimitsMatchModel keeps the importer's limits in step with what a record may hold.
func TestLimitsMatchModel(t *testing.T) {
	ok := models.DatasetRecord{Text: strings.Repeat("a", importer.MaxTextChars), Source: strings.Repeat("s", importer.MaxSourceChars)}
	if err := ok.Validate(); err != nil {
		t.Errorf("a record at the importer's limits does not validate: %v", err)
	}
	tooLong := models.DatasetRecord{Text: strings.Repeat("a", importer.MaxTextChars+1), Source: strings.Repeat("s", importer.MaxSourceChars+1)}
	if fields := models.ErrorFields(tooLong.Validate()); fields["text"] == "" || fields["source"] == "" {
		t.Errorf("a record over the importer's limits validates: %v", fields)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{20 << 20: "20 MB", 4<<20 - 64<<10: "3.9 MB", 512 << 10: "512 KB", 100: "100 bytes"} {
		if got := importer.FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
