package models

import (
	"strings"
	"unicode"
)

// DiffOp says whether a piece of text is kept, added or removed.
type DiffOp int

// The diff operations.
const (
	DiffEqual  DiffOp = iota // in both texts
	DiffInsert               // only in the new text
	DiffDelete               // only in the old text
)

// String names the operation, for CSS classes ("equal", "insert", "delete").
func (o DiffOp) String() string {
	switch o {
	case DiffInsert:
		return "insert"
	case DiffDelete:
		return "delete"
	}
	return "equal"
}

// DiffPart is a run of words within a changed line, kept or changed.
type DiffPart struct {
	Op   DiffOp
	Text string
}

// DiffLine is one line of a line diff. A removed line that was replaced by an
// added one carries word-level Parts (kept and removed words), and so does
// the added line (kept and added words), so a reader sees what changed within it.
type DiffLine struct {
	Op    DiffOp
	Text  string
	Parts []DiffPart
}

// Bounds of the diff tables: past them the changed middle of two texts (after
// their common beginning and end) is shown as removed then added, whole, so a
// diff never takes more than a few megabytes.
const (
	maxLineCells = 4_000_000
	maxWordCells = 250_000
)

// DiffText compares two texts line by line (a longest common subsequence of
// lines), then, within each removed line paired with an added one, word by word.
func DiffText(a, b string) []DiffLine {
	la, lb := splitLines(a), splitLines(b)
	ops := diffTokens(la, lb, maxLineCells)
	out := make([]DiffLine, 0, len(ops))
	for _, o := range ops {
		out = append(out, DiffLine{Op: o.op, Text: o.text})
	}
	// Pair the removed and added lines of each change, in order, for word diffs.
	for i := 0; i < len(out); {
		if out[i].Op != DiffDelete {
			i++
			continue
		}
		d := i
		for i < len(out) && out[i].Op == DiffDelete {
			i++
		}
		ins := i
		for i < len(out) && out[i].Op == DiffInsert {
			i++
		}
		for k := 0; d+k < ins && ins+k < i; k++ {
			old, neu := &out[d+k], &out[ins+k]
			parts := DiffWords(old.Text, neu.Text)
			if !shareWords(parts) {
				continue // nothing in common: word marks would only add noise
			}
			for _, p := range parts {
				if p.Op != DiffInsert {
					old.Parts = append(old.Parts, p)
				}
				if p.Op != DiffDelete {
					neu.Parts = append(neu.Parts, p)
				}
			}
		}
	}
	return out
}

// DiffWords compares two lines word by word (words, runs of spaces and
// single punctuation marks are the units). Within each change the removed
// text comes first, then the added, and a lone space between two changes
// belongs to the change, so "a b" → "x y" reads as one replacement.
func DiffWords(a, b string) []DiffPart {
	ops := diffTokens(splitWords(a), splitWords(b), maxWordCells)
	var (
		out      []DiffPart
		del, ins strings.Builder
	)
	flush := func() {
		if del.Len() > 0 {
			out = append(out, DiffPart{Op: DiffDelete, Text: del.String()})
		}
		if ins.Len() > 0 {
			out = append(out, DiffPart{Op: DiffInsert, Text: ins.String()})
		}
		del.Reset()
		ins.Reset()
	}
	for i, o := range ops {
		switch {
		case o.op == DiffDelete:
			del.WriteString(o.text)
		case o.op == DiffInsert:
			ins.WriteString(o.text)
		case strings.TrimSpace(o.text) == "" && i > 0 && i < len(ops)-1 && ops[i-1].op != DiffEqual && ops[i+1].op != DiffEqual:
			del.WriteString(o.text)
			ins.WriteString(o.text)
		default:
			flush()
			if n := len(out); n > 0 && out[n-1].Op == DiffEqual {
				out[n-1].Text += o.text
			} else {
				out = append(out, DiffPart{Op: DiffEqual, Text: o.text})
			}
		}
	}
	flush()
	return out
}

// shareWords reports whether a word diff keeps something other than spaces.
func shareWords(parts []DiffPart) bool {
	for _, p := range parts {
		if p.Op == DiffEqual && strings.TrimSpace(p.Text) != "" {
			return true
		}
	}
	return false
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Split(s, "\n")
}

// splitWords cuts a line into runs of letters and digits, runs of spaces,
// and single other characters.
func splitWords(s string) []string {
	var out []string
	start := -1
	kind := 0 // 1: word, 2: space
	kindOf := func(r rune) int {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
			return 1
		case unicode.IsSpace(r):
			return 2
		}
		return 3
	}
	for i, r := range s {
		k := kindOf(r)
		if start >= 0 && (k != kind || k == 3) {
			out = append(out, s[start:i])
			start = -1
		}
		if start < 0 {
			start, kind = i, k
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

type tokenOp struct {
	op   DiffOp
	text string
}

// diffTokens is a longest-common-subsequence diff of two token lists. The
// common beginning and end are taken off first; a middle whose table would
// exceed maxCells is shown as removed then added.
func diffTokens(a, b []string, maxCells int) []tokenOp {
	var head, tail []tokenOp
	for len(a) > 0 && len(b) > 0 && a[0] == b[0] {
		head = append(head, tokenOp{DiffEqual, a[0]})
		a, b = a[1:], b[1:]
	}
	for len(a) > 0 && len(b) > 0 && a[len(a)-1] == b[len(b)-1] {
		tail = append(tail, tokenOp{DiffEqual, a[len(a)-1]})
		a, b = a[:len(a)-1], b[:len(b)-1]
	}
	out := head
	n, m := len(a), len(b)
	if n > 0 && m > 0 && (n+1)*(m+1) <= maxCells && n < 1<<16-1 && m < 1<<16-1 {
		// lcs[i*(m+1)+j] is the length of the longest common subsequence of a[i:] and b[j:].
		w := m + 1
		lcs := make([]uint16, (n+1)*w)
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				switch {
				case a[i] == b[j]:
					lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
				case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
					lcs[i*w+j] = lcs[(i+1)*w+j]
				default:
					lcs[i*w+j] = lcs[i*w+j+1]
				}
			}
		}
		i, j := 0, 0
		for i < n && j < m {
			switch {
			case a[i] == b[j]:
				out = append(out, tokenOp{DiffEqual, a[i]})
				i, j = i+1, j+1
			case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
				out = append(out, tokenOp{DiffDelete, a[i]})
				i++
			default:
				out = append(out, tokenOp{DiffInsert, b[j]})
				j++
			}
		}
		a, b = a[i:], b[j:]
	}
	for _, t := range a {
		out = append(out, tokenOp{DiffDelete, t})
	}
	for _, t := range b {
		out = append(out, tokenOp{DiffInsert, t})
	}
	for k := len(tail) - 1; k >= 0; k-- {
		out = append(out, tail[k])
	}
	return out
}
