package telegram

import (
	"strings"
	"unicode/utf8"
)

// Split cuts formatted HTML (FormatHTML's) into messages of at most limit
// UTF-16 code units each (limit <= 0: MaxMessageLength), counting the HTML
// itself, tags and entities included: never less than what Telegram counts
// after parsing, so every part is accepted. It cuts at a paragraph if it
// can, else at a line, a sentence, a word, and only else inside a word;
// never inside a tag, an entity or a surrogate pair. Tags open at a cut are
// closed at the end of the part and opened again at the start of the next,
// so each part is valid HTML on its own (a long <pre> block continues as a
// <pre> block). A heading (a line all in <b>) stays with the paragraph it
// heads. Parts without visible text are left out. A limit too small for
// the tags open at a cut (far below MaxMessageLength) cannot be kept: each
// part still holds at least one character.
func Split(html string, limit int) []string {
	if limit <= 0 {
		limit = MaxMessageLength
	}
	toks := tokenize(html)
	var out []string
	var stack []openTag // the tags open where the next part starts
	for i := skipBreak(toks, 0, &stack); i < len(toks); {
		end, endStack := cutPart(toks, i, stack, limit)
		if hasVisibleText(toks[i:end]) {
			out = append(out, renderPart(toks[i:end], stack, endStack))
		}
		stack = endStack
		i = skipBreak(toks, end, &stack)
	}
	return out
}

// Break levels: where a part may end, the best first.
const (
	breakNone = iota
	breakWord
	breakSentence
	breakLine
	breakParagraph
)

// cut is a place a part may end: before toks[at], with stack open there.
type cut struct {
	at    int
	size  int
	stack []openTag
}

// cutPart finds where the part starting at toks[i], with stack open, ends:
// end is the first token left out, endStack the tags open there.
func cutPart(toks []token, i int, stack []openTag, limit int) (end int, endStack []openTag) {
	st := append([]openTag(nil), stack...)
	size, closing := 0, 0
	for _, o := range st {
		size += o.units
		closing += closeUnits(o.name)
	}
	var best [breakParagraph + 1]*cut
	var latest *cut
	sawText, lastText, last := false, -1, rune(0)
	lineStart := i
	j := i
	for ; j < len(toks); j++ {
		t := toks[j]
		if j > i && toks[j-1].kind == tokText && toks[j-1].r == '\n' {
			lineStart = j
		}
		if t.kind == tokText && isSpace(t.r) && sawText {
			if lvl := breakLevel(toks, j, lineStart, last, st); lvl != breakNone {
				latest = &cut{at: j, size: size, stack: append([]openTag(nil), st...)}
				best[lvl] = latest
			}
		}
		nextClosing := closing
		switch t.kind {
		case tokOpen:
			nextClosing += closeUnits(t.name)
		case tokClose:
			if k := lastOpen(st, t.name); k >= 0 {
				nextClosing -= sumClose(st[k:])
			}
		}
		if size+t.units+nextClosing > limit && sawText {
			break
		}
		size += t.units
		closing = nextClosing
		st = apply(st, t)
		if t.kind == tokText && !isSpace(t.r) || t.kind == tokEntity {
			sawText, lastText = true, j
			last = t.r
		}
	}
	if j >= len(toks) {
		return j, st
	}
	for lvl := breakParagraph; lvl > breakNone; lvl-- {
		if c := best[lvl]; c != nil && c.size >= limit/3 {
			return c.at, c.stack
		}
	}
	// Only early breaks: take the best, unless the word after the last one
	// would not fit in a part of its own either, and so is cut anyway.
	if latest != nil && tagUnits(latest.stack)+wordUnits(toks, latest.at+1) <= limit {
		for lvl := breakParagraph; lvl > breakNone; lvl-- {
			if c := best[lvl]; c != nil {
				return c.at, c.stack
			}
		}
	}
	// No break will do: cut inside the word, leaving out tags just opened.
	for j-1 > lastText && toks[j-1].kind == tokOpen {
		j--
		st = st[:len(st)-1]
	}
	return j, st
}

// isBoldLine reports a line all in <b>: what FormatHTML makes of a heading.
func isBoldLine(line []token) bool {
	return len(line) >= 2 && line[0].kind == tokOpen && line[0].name == "b" &&
		line[len(line)-1].kind == tokClose && line[len(line)-1].name == "b"
}

// wordUnits is the length of the text from toks[i] to the next whitespace.
func wordUnits(toks []token, i int) int {
	n := 0
	for ; i < len(toks) && !(toks[i].kind == tokText && isSpace(toks[i].r)); i++ {
		n += toks[i].units
	}
	return n
}

// tagUnits is the length of tags opened again and closed around a part.
func tagUnits(st []openTag) int {
	n := 0
	for _, o := range st {
		n += o.units + closeUnits(o.name)
	}
	return n
}

// breakLevel says how good a cut before the whitespace toks[j] is; the
// line holding it starts at toks[lineStart], and last is the text's last
// rune before it.
func breakLevel(toks []token, j, lineStart int, last rune, st []openTag) int {
	if toks[j].r == '\n' {
		if j+1 < len(toks) && toks[j+1].kind == tokText && toks[j+1].r == '\n' {
			if isBoldLine(toks[lineStart:j]) {
				return breakWord // a heading stays with what it heads
			}
			return breakParagraph
		}
		return breakLine
	}
	if strings.ContainsRune(".!?…;:", last) && !inPre(st) {
		return breakSentence
	}
	return breakWord
}

// skipBreak skips the whitespace a cut replaced (just one newline inside a
// <pre>, where spaces matter) and the closing tags of elements that ended
// there, so that the next part does not start with an empty element.
func skipBreak(toks []token, i int, stack *[]openTag) int {
	for i < len(toks) {
		t := toks[i]
		switch {
		case t.kind == tokText && isSpace(t.r) && !inPre(*stack):
			i++
		case t.kind == tokText && t.r == '\n' && inPre(*stack):
			i++
			return skipCloses(toks, i, stack)
		case t.kind == tokClose && len(*stack) > 0 && (*stack)[len(*stack)-1].name == t.name:
			*stack = (*stack)[:len(*stack)-1]
			i++
		default:
			return i
		}
	}
	return i
}

func skipCloses(toks []token, i int, stack *[]openTag) int {
	for i < len(toks) && toks[i].kind == tokClose && len(*stack) > 0 && (*stack)[len(*stack)-1].name == toks[i].name {
		*stack = (*stack)[:len(*stack)-1]
		i++
	}
	return i
}

func renderPart(toks []token, open, close []openTag) string {
	var b strings.Builder
	for _, o := range open {
		b.WriteString(o.raw)
	}
	for _, t := range toks {
		b.WriteString(t.s)
	}
	for k := len(close) - 1; k >= 0; k-- {
		b.WriteString("</" + close[k].name + ">")
	}
	return b.String()
}

func hasVisibleText(toks []token) bool {
	for _, t := range toks {
		if t.kind == tokEntity || t.kind == tokText && !isSpace(t.r) {
			return true
		}
	}
	return false
}

// Kinds of token.
const (
	tokText   = iota // one rune of text
	tokEntity        // &amp; &#128512; …
	tokOpen          // <b>, <a href="…">
	tokClose         // </b>
)

type token struct {
	kind  int
	s     string // as written
	r     rune   // the rune of a text token
	name  string // a tag's name, lower case
	units int    // UTF-16 length of s
}

// openTag is a tag open at some point, as written, to open it again.
type openTag struct {
	name  string
	raw   string
	units int
}

func tokenize(html string) []token {
	toks := make([]token, 0, len(html))
	for i := 0; i < len(html); {
		if html[i] == '<' {
			if t, n := tagToken(html[i:]); n > 0 {
				toks = append(toks, t)
				i += n
				continue
			}
		}
		if html[i] == '&' {
			if n := entityLength(html[i:]); n > 0 {
				toks = append(toks, token{kind: tokEntity, s: html[i : i+n], units: n})
				i += n
				continue
			}
		}
		r, n := utf8.DecodeRuneInString(html[i:])
		units := 1
		if r >= 0x10000 {
			units = 2
		}
		toks = append(toks, token{kind: tokText, s: html[i : i+n], r: r, units: units})
		i += n
	}
	return toks
}

// tagToken reads a tag at the start of s; n is 0 when s does not start with
// one.
func tagToken(s string) (token, int) {
	i := 1
	closing := i < len(s) && s[i] == '/'
	if closing {
		i++
	}
	start := i
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9' || s[i] == '-') {
		i++
	}
	if i == start {
		return token{}, 0
	}
	name := strings.ToLower(s[start:i])
	var quote byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '<':
			return token{}, 0
		case c == '>':
			kind := tokOpen
			if closing {
				kind = tokClose
			}
			return token{kind: kind, s: s[:i+1], name: name, units: utf16Len(s[:i+1])}, i + 1
		}
	}
	return token{}, 0
}

// entityLength is the length of the entity at the start of s (&name;,
// &#123; or &#x1F600;), 0 when there is none.
func entityLength(s string) int {
	i := 1
	switch {
	case strings.HasPrefix(s, "&#x") || strings.HasPrefix(s, "&#X"):
		i = 3
		for i < len(s) && i < 12 && isHex(s[i]) {
			i++
		}
		if i == 3 {
			return 0
		}
	case strings.HasPrefix(s, "&#"):
		i = 2
		for i < len(s) && i < 12 && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 2 {
			return 0
		}
	default:
		for i < len(s) && i < 33 && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || i > 1 && s[i] >= '0' && s[i] <= '9') {
			i++
		}
		if i == 1 {
			return 0
		}
	}
	if i < len(s) && s[i] == ';' {
		return i + 1
	}
	return 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// apply returns the open tags after t.
func apply(st []openTag, t token) []openTag {
	switch t.kind {
	case tokOpen:
		return append(st, openTag{name: t.name, raw: t.s, units: t.units})
	case tokClose:
		if k := lastOpen(st, t.name); k >= 0 {
			return st[:k]
		}
	}
	return st
}

func lastOpen(st []openTag, name string) int {
	for k := len(st) - 1; k >= 0; k-- {
		if st[k].name == name {
			return k
		}
	}
	return -1
}

func inPre(st []openTag) bool {
	for _, o := range st {
		if o.name == "pre" {
			return true
		}
	}
	return false
}

func closeUnits(name string) int { return len(name) + 3 }

func sumClose(st []openTag) int {
	n := 0
	for _, o := range st {
		n += closeUnits(o.name)
	}
	return n
}

func isSpace(r rune) bool { return r == ' ' || r == '\n' || r == '\t' }

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}
