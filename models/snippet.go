package models

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SnippetPart is a run of a snippet's text; Hit marks a searched word, which
// the page highlights (the template escapes every part).
type SnippetPart struct {
	Text string
	Hit  bool
}

// snippetRunes is about how much text a search result shows.
const snippetRunes = 200

// stemPrefix is what a word must begin with to count as a term's hit: the
// term without a common English ending, so "refunds" highlights "refund" and
// "refunded" (as the stemming search found them).
func stemPrefix(term string) string {
	for _, suf := range []string{"ing", "ed", "es", "s"} {
		if len(term) > len(suf)+2 && strings.HasSuffix(term, suf) {
			return term[:len(term)-len(suf)]
		}
	}
	return term
}

// Snippet cuts text to about 200 characters around the first word matching
// one of terms (lower-case, as MessageSearchTerms gives them) and splits it
// into parts, the matching words marked. Text is never altered otherwise:
// the caller escapes it when rendering.
func Snippet(text string, terms []string) []SnippetPart {
	prefixes := make([]string, len(terms))
	for i, t := range terms {
		prefixes[i] = stemPrefix(t)
	}
	isHit := func(w string) bool {
		lw := strings.ToLower(w)
		for _, p := range prefixes {
			if p != "" && strings.HasPrefix(lw, p) {
				return true
			}
		}
		return false
	}
	// Words: [start, end) byte offsets of runs of letters and digits.
	type span struct{ start, end int }
	var words []span
	start := -1
	for i, r := range text {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		if word && start < 0 {
			start = i
		} else if !word && start >= 0 {
			words = append(words, span{start, i})
			start = -1
		}
	}
	if start >= 0 {
		words = append(words, span{start, len(text)})
	}
	first := -1
	for _, w := range words {
		if isHit(text[w.start:w.end]) {
			first = w.start
			break
		}
	}
	// The window: from a little before the first hit, about snippetRunes long.
	from, to := 0, len(text)
	if first > 0 {
		from = backRunes(text, first, snippetRunes/4)
	}
	if utf8.RuneCountInString(text[from:]) > snippetRunes {
		to = forwardRunes(text, from, snippetRunes)
	}
	var parts []SnippetPart
	add := func(s string, hit bool) {
		if s == "" {
			return
		}
		if n := len(parts); n > 0 && parts[n-1].Hit == hit {
			parts[n-1].Text += s
			return
		}
		parts = append(parts, SnippetPart{Text: s, Hit: hit})
	}
	if from > 0 {
		add("…", false)
	}
	at := from
	for _, w := range words {
		if w.end <= from || w.start >= to {
			continue
		}
		s, e := max(w.start, from), min(w.end, to)
		if isHit(text[w.start:w.end]) {
			add(text[at:s], false)
			add(text[s:e], true)
			at = e
		}
	}
	add(text[at:to], false)
	if to < len(text) {
		add("…", false)
	}
	return parts
}

// backRunes is the byte offset n runes before i in s (at least 0).
func backRunes(s string, i, n int) int {
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return i
}

// forwardRunes is the byte offset n runes after i in s (at most len(s)).
func forwardRunes(s string, i, n int) int {
	for ; n > 0 && i < len(s); n-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}
