package models_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"parley/models"
)

// render writes a line diff as "  kept", "+ added", "- removed", with word
// parts of changed lines in [-removed-] and {+added+}.
func render(lines []models.DiffLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(map[models.DiffOp]string{models.DiffEqual: "  ", models.DiffInsert: "+ ", models.DiffDelete: "- "}[l.Op])
		if l.Parts == nil {
			b.WriteString(l.Text)
		}
		for _, p := range l.Parts {
			switch p.Op {
			case models.DiffInsert:
				b.WriteString("{+" + p.Text + "+}")
			case models.DiffDelete:
				b.WriteString("[-" + p.Text + "-]")
			default:
				b.WriteString(p.Text)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestDiffText(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want string
	}{
		{"Equal", "one\ntwo", "one\ntwo", "  one\n  two\n"},
		{"BothEmpty", "", "", ""},
		{"FromEmpty", "", "new line", "+ new line\n"},
		{"ToEmpty", "old line", "", "- old line\n"},
		{"LineAdded", "a\nc", "a\nb\nc", "  a\n+ b\n  c\n"},
		{"LineRemoved", "a\nb\nc", "a\nc", "  a\n- b\n  c\n"},
		{"LineReplacedWholly", "a\nxxx\nc", "a\nyyy\nc", "  a\n- xxx\n+ yyy\n  c\n"},
		{"TwoWordsReplaced", "pick a b now", "pick x y now", "- pick [-a b-] now\n+ pick {+x y+} now\n"},
		{"WordChanged", "You are a helpful bot.", "You are a grumpy bot.",
			"- You are a [-helpful-] bot.\n+ You are a {+grumpy+} bot.\n"},
		{"WordsAddedAndRemoved", "Answer in English please", "Always answer in English",
			"- [-Answer -]in English[- please-]\n+ {+Always answer +}in English\n"},
		{"MovedLinesKeepLCS", "a\nb\nc\nd", "b\nc\na\nd", "- a\n  b\n  c\n+ a\n  d\n"},
		{"CRLF", "a\r\nb", "a\nb", "  a\n  b\n"},
		{"Unicode", "Grüße an alle", "Grüße an euch", "- Grüße an [-alle-]\n+ Grüße an {+euch+}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(models.DiffText(tt.a, tt.b))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DiffText(%q, %q) (-want +got):\n%s", tt.a, tt.b, diff)
			}
		})
	}
}

// A diff is complete whatever its size: the kept and removed lines give the
// old text back, the kept and added ones the new text.
func TestDiffTextRebuildsBothSides(t *testing.T) {
	var a, b []string
	for i := range 3000 {
		line := strings.Repeat("x", i%7) + " line " + string(rune('a'+i%26))
		a = append(a, line)
		if i%5 != 0 {
			b = append(b, line)
		}
		if i%11 == 0 {
			b = append(b, "inserted "+line)
		}
	}
	for _, name := range []string{"Large", "OverTheTableBound"} {
		t.Run(name, func(t *testing.T) {
			old, neu := a, b
			if name == "Large" {
				old, neu = a[:1500], b[:1400]
			}
			lines := models.DiffText(strings.Join(old, "\n"), strings.Join(neu, "\n"))
			var gotOld, gotNew []string
			for _, l := range lines {
				if l.Op != models.DiffInsert {
					gotOld = append(gotOld, l.Text)
				}
				if l.Op != models.DiffDelete {
					gotNew = append(gotNew, l.Text)
				}
			}
			if strings.Join(gotOld, "\n") != strings.Join(old, "\n") {
				t.Error("kept and removed lines do not give the old text back")
			}
			if strings.Join(gotNew, "\n") != strings.Join(neu, "\n") {
				t.Error("kept and added lines do not give the new text back")
			}
		})
	}
}

func TestDiffWords(t *testing.T) {
	got := models.DiffWords("min score 0.2, max 3", "min score 0.5, max 3")
	want := []models.DiffPart{
		{Op: models.DiffEqual, Text: "min score 0."},
		{Op: models.DiffDelete, Text: "2"},
		{Op: models.DiffInsert, Text: "5"},
		{Op: models.DiffEqual, Text: ", max 3"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DiffWords (-want +got):\n%s", diff)
	}
	if got := models.DiffInsert.String(); got != "insert" {
		t.Errorf("DiffInsert.String() = %q, want insert", got)
	}
}
