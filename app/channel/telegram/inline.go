package telegram

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// renderInline renders the inline Markdown of a paragraph, a heading or a
// list item: emphasis, code spans, links. Delimiters pair up as CommonMark
// pairs them (flanking runs, the rule of three), so the tags it writes are
// always balanced and properly nested; a marker without a partner stays as
// typed.
func renderInline(s string, links bool) string {
	p := &inlineParser{links: links, code: true}
	p.parse(s)
	p.emphasis()
	return p.render()
}

// inode is a piece of a paragraph: rendered HTML (text, code, a link), or a
// run of delimiters (delim != 0) and the tags it became.
type inode struct {
	html string

	delim             byte
	count, orig       int // delimiters left unused, and in the run
	canOpen, canClose bool
	open, close       []string // tags written after / before the unused ones
}

type inlineParser struct {
	links bool // links may appear (not inside a link's text)
	code  bool // code spans become <code> (not inside a link's text)
	nodes []*inode
	text  strings.Builder // plain text not yet escaped
}

func (p *inlineParser) flush() {
	if p.text.Len() > 0 {
		p.nodes = append(p.nodes, &inode{html: escapeText(p.text.String())})
		p.text.Reset()
	}
}

func (p *inlineParser) add(html string) {
	p.flush()
	p.nodes = append(p.nodes, &inode{html: html})
}

func (p *inlineParser) parse(s string) {
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && isASCIIPunct(s[i+1]) {
				p.text.WriteByte(s[i+1])
				i += 2
				continue
			}
		case '`':
			if html, end, ok := p.codeSpan(s, i); ok {
				p.add(html)
				i = end
				continue
			}
			n := runLength(s, i, c)
			p.text.WriteString(s[i : i+n])
			i += n
			continue
		case '*', '_', '~', '|':
			n := runLength(s, i, c)
			if (c == '~' || c == '|') && n != 2 {
				p.text.WriteString(s[i : i+n])
				i += n
				continue
			}
			before, after := runeBefore(s, i), runeAt(s, i+n)
			lf, rf := flanking(before, after)
			d := &inode{delim: c, count: n, orig: n, canOpen: lf, canClose: rf}
			if c == '_' { // no emphasis inside words: snake_case_names
				d.canOpen = lf && (!rf || isPunct(before))
				d.canClose = rf && (!lf || isPunct(after))
			}
			p.flush()
			p.nodes = append(p.nodes, d)
			i += n
			continue
		case '[':
			if p.links {
				if html, end, ok := p.link(s, i, false); ok {
					p.add(html)
					i = end
					continue
				}
			}
		case '!':
			if p.links && i+1 < len(s) && s[i+1] == '[' {
				if html, end, ok := p.link(s, i+1, true); ok {
					p.add(html)
					i = end
					continue
				}
			}
		case '<':
			if p.links {
				if html, end, ok := autolink(s, i); ok {
					p.add(html)
					i = end
					continue
				}
			}
		case 'h':
			// A bare URL is text (Telegram links it itself), safe from
			// emphasis: https://example.com/__init__ stays whole.
			if n := bareURL(s, i); n > 0 {
				p.text.WriteString(s[i : i+n])
				i += n
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		p.text.WriteString(s[i : i+size])
		i += size
	}
	p.flush()
}

// codeSpan reads a code span at s[i]: a run of backticks, text, and a run of
// the same length.
func (p *inlineParser) codeSpan(s string, i int) (html string, end int, ok bool) {
	n := runLength(s, i, '`')
	for j := i + n; j < len(s); {
		k := strings.IndexByte(s[j:], '`')
		if k < 0 {
			return "", 0, false
		}
		j += k
		m := runLength(s, j, '`')
		if m != n {
			j += m
			continue
		}
		code := strings.ReplaceAll(s[i+n:j], "\n", " ")
		if len(code) >= 2 && code[0] == ' ' && code[len(code)-1] == ' ' && strings.Trim(code, " ") != "" {
			code = code[1 : len(code)-1]
		}
		if !p.code {
			return escapeText(code), j + m, true
		}
		return "<code>" + escapeText(code) + "</code>", j + m, true
	}
	return "", 0, false
}

// link reads [text](url "title") at s[i] ("![alt](url)" when image: a link
// to the image). A URL that is not safe leaves the text alone.
func (p *inlineParser) link(s string, i int, image bool) (html string, end int, ok bool) {
	depth, j := 0, i
	for ; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
			continue
		case '[':
			depth++
		case ']':
			depth--
		}
		if depth == 0 {
			break
		}
	}
	if j >= len(s) || j+1 >= len(s) || s[j+1] != '(' {
		return "", 0, false
	}
	label := s[i+1 : j]
	dest, end, ok := linkDestination(s, j+2)
	if !ok {
		return "", 0, false
	}
	inner := &inlineParser{}
	inner.parse(label)
	inner.emphasis()
	text := inner.render()
	href := safeURL(dest)
	if strings.TrimSpace(text) == "" {
		if image {
			text = "image"
		} else {
			text = escapeText(href)
		}
	}
	if href == "" {
		return text, end, true
	}
	return `<a href="` + attrEscaper.Replace(href) + `">` + text + `</a>`, end, true
}

// linkDestination reads "url", "<url>" and an optional title up to the
// closing parenthesis, from s[i] (just after "(").
func linkDestination(s string, i int) (dest string, end int, ok bool) {
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
	}
	skip()
	var b strings.Builder
	if i < len(s) && s[i] == '<' {
		k := strings.IndexAny(s[i+1:], ">\n")
		if k < 0 || s[i+1+k] != '>' {
			return "", 0, false
		}
		b.WriteString(s[i+1 : i+1+k])
		i += k + 2
	} else {
		depth := 0
	loop:
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
				i++
				b.WriteByte(s[i])
				continue
			case c == '(':
				depth++
			case c == ')':
				if depth == 0 {
					break loop
				}
				depth--
			case c == ' ' || c == '\t' || c == '\n' || c < 0x20:
				break loop
			}
			b.WriteByte(c)
		}
	}
	skip()
	if i < len(s) && (s[i] == '"' || s[i] == '\'' || s[i] == '(') {
		closer := s[i]
		if closer == '(' {
			closer = ')'
		}
		k := strings.IndexByte(s[i+1:], closer)
		if k < 0 {
			return "", 0, false
		}
		i += k + 2
		skip()
	}
	if i >= len(s) || s[i] != ')' {
		return "", 0, false
	}
	return b.String(), i + 1, true
}

// autolink reads <https://…> at s[i].
func autolink(s string, i int) (html string, end int, ok bool) {
	k := strings.IndexAny(s[i+1:], "<> \t\n")
	if k < 0 || s[i+1+k] != '>' {
		return "", 0, false
	}
	raw := s[i+1 : i+1+k]
	href := safeURL(raw)
	if href == "" || !strings.Contains(raw, ":") {
		return "", 0, false
	}
	return `<a href="` + attrEscaper.Replace(href) + `">` + escapeText(raw) + `</a>`, i + k + 2, true
}

// bareURL is the length of an http(s) URL starting a word at s[i], its
// trailing punctuation left out; 0 if there is none.
func bareURL(s string, i int) int {
	rest := s[i:]
	if !strings.HasPrefix(rest, "https://") && !strings.HasPrefix(rest, "http://") {
		return 0
	}
	if b := runeBefore(s, i); !unicode.IsSpace(b) && !strings.ContainsRune("(\"'*_~|", b) {
		return 0
	}
	n := strings.IndexFunc(rest, func(r rune) bool { return unicode.IsSpace(r) || r == '<' || r == '>' || r == '"' })
	if n < 0 {
		n = len(rest)
	}
	for n > 0 && strings.IndexByte(".,;:!?)'*_~|", rest[n-1]) >= 0 {
		n--
	}
	return n
}

// emphasis pairs delimiter runs, CommonMark's "process emphasis": each
// closer, left to right, takes the nearest opener of its kind; the
// delimiters between them can no longer pair.
func (p *inlineParser) emphasis() {
	type key struct {
		delim   byte
		mod3    int
		canOpen bool
	}
	var stack []int         // nodes that may open
	bottom := map[key]int{} // no opener for this kind below this height
	for ci, n := range p.nodes {
		if n.delim == 0 {
			continue
		}
		for n.canClose && n.count > 0 {
			k := key{n.delim, n.orig % 3, n.canOpen}
			found := -1
			for si := len(stack) - 1; si >= bottom[k]; si-- {
				o := p.nodes[stack[si]]
				if o.delim != n.delim {
					continue
				}
				if (n.delim == '*' || n.delim == '_') && (o.canClose || n.canOpen) &&
					(o.orig+n.orig)%3 == 0 && (o.orig%3 != 0 || n.orig%3 != 0) {
					continue // the rule of three
				}
				found = si
				break
			}
			if found < 0 {
				bottom[k] = len(stack)
				break
			}
			o := p.nodes[stack[found]]
			use := 1
			if n.delim == '~' || n.delim == '|' || (o.count >= 2 && n.count >= 2) {
				use = 2
			}
			tag := emphasisTag(n.delim, use)
			o.count -= use
			n.count -= use
			o.open = append([]string{"<" + tag + ">"}, o.open...)
			n.close = append(n.close, "</"+tag+">")
			stack = stack[:found+1]
			if o.count == 0 {
				stack = stack[:found]
			}
			for k, h := range bottom {
				bottom[k] = min(h, len(stack))
			}
		}
		if n.canOpen && n.count > 0 {
			stack = append(stack, ci)
		}
	}
}

func emphasisTag(delim byte, n int) string {
	switch {
	case delim == '~':
		return "s"
	case delim == '|':
		return "tg-spoiler"
	case n == 2:
		return "b"
	default:
		return "i"
	}
}

func (p *inlineParser) render() string {
	var b strings.Builder
	for _, n := range p.nodes {
		if n.delim == 0 {
			b.WriteString(n.html)
			continue
		}
		for _, t := range n.close {
			b.WriteString(t)
		}
		for range n.count {
			b.WriteByte(n.delim)
		}
		for _, t := range n.open {
			b.WriteString(t)
		}
	}
	return b.String()
}

// flanking says whether a delimiter run between before and after may open
// (left-flanking) or close (right-flanking) emphasis, as CommonMark defines
// it.
func flanking(before, after rune) (left, right bool) {
	left = !unicode.IsSpace(after) && (!isPunct(after) || unicode.IsSpace(before) || isPunct(before))
	right = !unicode.IsSpace(before) && (!isPunct(before) || unicode.IsSpace(after) || isPunct(after))
	return left, right
}

func isPunct(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }

func isASCIIPunct(c byte) bool {
	return c < utf8.RuneSelf && c > ' ' && !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') && c != 0x7f
}

func runLength(s string, i int, c byte) int {
	n := 0
	for i+n < len(s) && s[i+n] == c {
		n++
	}
	return n
}

// runeBefore is the rune before s[i], a space at the start.
func runeBefore(s string, i int) rune {
	if i <= 0 {
		return ' '
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r
}

// runeAt is the rune at s[i], a space at the end.
func runeAt(s string, i int) rune {
	if i >= len(s) {
		return ' '
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r
}
