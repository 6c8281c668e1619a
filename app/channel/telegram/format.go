package telegram

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FormatHTML converts a bot's answer written in Markdown, as language
// models write it, into Telegram's HTML (parse mode ParseModeHTML):
// **bold** and __bold__, *italic* and _italic_, ~~strike~~, ||spoiler||,
// `code`, ```fenced code``` with its language, [links](https://…) and
// <https://…>, headings as bold lines, "- ", "* " and "1. " lists as "• " and
// "1. " lines, > quotes as blockquotes, and rules as a line.
//
// Everything else is text: the answer's own HTML never passes (<b>,
// <script> and & show as typed), links keep only http, https, tg and mailto
// URLs (others show as their text), and markers that do not pair up stay
// as typed. The result is valid for Telegram but may be longer than a
// message: see Split.
func FormatHTML(markdown string) string {
	md := strings.ReplaceAll(markdown, "\r\n", "\n")
	md = strings.ReplaceAll(md, "\r", "\n")
	md = strings.ToValidUTF8(md, "\uFFFD")
	md = strings.Map(func(r rune) rune {
		if r == 0 {
			return '\uFFFD'
		}
		return r
	}, md)
	blocks := renderBlocks(strings.Split(md, "\n"), false)
	return joinBlocks(blocks)
}

// block is one rendered block; blank says a blank line came before it.
type block struct {
	html  string
	pre   bool
	blank bool
}

func joinBlocks(blocks []block) string {
	var b strings.Builder
	for i, bl := range blocks {
		if i > 0 {
			b.WriteByte('\n')
			if bl.blank {
				b.WriteByte('\n')
			}
		}
		b.WriteString(bl.html)
	}
	return b.String()
}

// renderBlocks renders lines into blocks. In a quote (inQuote), nested
// quotes are flattened, since Telegram's blockquotes do not nest.
func renderBlocks(lines []string, inQuote bool) []block {
	var out []block
	blank := false
	emit := func(b block) {
		b.blank = blank && len(out) > 0
		blank = false
		out = append(out, b)
	}
	for i := 0; i < len(lines); {
		line := strings.TrimRight(lines[i], " \t")
		if line == "" {
			blank = true
			i++
			continue
		}
		if f, ok := openFence(line); ok {
			var code []string
			i++
			for ; i < len(lines); i++ {
				if f.closes(lines[i]) {
					i++
					break
				}
				code = append(code, f.strip(lines[i]))
			}
			emit(block{html: renderPre(code, f.lang), pre: true})
			continue
		}
		if _, ok := quoteContent(line); ok {
			var inner []string
			for ; i < len(lines); i++ {
				c, ok := quoteContent(strings.TrimRight(lines[i], " \t"))
				if !ok {
					break
				}
				inner = append(inner, c)
			}
			for j, b := range renderQuote(inner, inQuote) {
				if j == 0 {
					emit(b) // the blank before the quote
				} else {
					out = append(out, b)
				}
			}
			continue
		}
		if text, ok := heading(line); ok {
			if text = renderInline(text, true); text != "" {
				emit(block{html: "<b>" + text + "</b>"})
			}
			i++
			continue
		}
		if isRule(line) {
			emit(block{html: "———"})
			i++
			continue
		}
		if item, ok := listItem(line); ok {
			emit(block{html: item})
			i++
			continue
		}
		var para []string
		for ; i < len(lines); i++ {
			l := strings.TrimRight(lines[i], " \t")
			if len(para) > 0 && startsBlock(l) {
				break
			}
			para = append(para, l)
		}
		emit(block{html: renderInline(strings.Join(para, "\n"), true)})
	}
	return out
}

// startsBlock reports whether a line ends a paragraph.
func startsBlock(line string) bool {
	if line == "" || isRule(line) {
		return true
	}
	if _, ok := openFence(line); ok {
		return true
	}
	if _, ok := quoteContent(line); ok {
		return true
	}
	if _, ok := heading(line); ok {
		return true
	}
	_, ok := listMarker(line)
	return ok
}

// renderQuote renders a quote's lines as blockquotes. Code blocks stay
// outside them (Telegram's entities of that kind do not contain each
// other), so a quote around code becomes quote, code, quote.
func renderQuote(inner []string, inQuote bool) []block {
	blocks := renderBlocks(inner, true)
	if inQuote {
		return blocks
	}
	var out []block
	var run []block
	flush := func() {
		if len(run) == 0 {
			return
		}
		out = append(out, block{html: "<blockquote>" + joinBlocks(run) + "</blockquote>", blank: run[0].blank})
		run = nil
	}
	for _, b := range blocks {
		if b.pre {
			flush()
			out = append(out, b)
			continue
		}
		run = append(run, b)
	}
	flush()
	return out
}

// quoteContent strips a quote marker: up to 3 spaces, ">", one optional
// space.
func quoteContent(line string) (string, bool) {
	rest := strings.TrimLeft(line, " ")
	if len(line)-len(rest) > 3 || !strings.HasPrefix(rest, ">") {
		return "", false
	}
	rest = rest[1:]
	rest = strings.TrimPrefix(rest, " ")
	return rest, true
}

// heading returns an ATX heading's text: up to 3 spaces, 1–6 "#", a space.
func heading(line string) (string, bool) {
	rest := strings.TrimLeft(line, " ")
	if len(line)-len(rest) > 3 {
		return "", false
	}
	n := 0
	for n < len(rest) && rest[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || (n < len(rest) && rest[n] != ' ' && rest[n] != '\t') {
		return "", false
	}
	text := strings.TrimSpace(rest[n:])
	// A closing sequence of "#" preceded by a space goes.
	if t := strings.TrimRight(text, "#"); t == "" || strings.HasSuffix(t, " ") {
		text = strings.TrimSpace(t)
	}
	return text, true
}

// isRule reports a thematic break: three or more "-", "*" or "_" alone.
func isRule(line string) bool {
	s := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, line)
	if len(s) < 3 || (s[0] != '-' && s[0] != '*' && s[0] != '_') {
		return false
	}
	return strings.Count(s, s[:1]) == len(s)
}

// marker is a list item's marker.
type marker struct {
	indent  int    // columns before the marker
	ordinal string // "12" for "12." or "12)"; empty for a bullet
	rest    string // the item's text
}

func listMarker(line string) (marker, bool) {
	indent, i := 0, 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		if line[i] == '\t' {
			indent += 4
		} else {
			indent++
		}
		i++
	}
	s := line[i:]
	switch {
	case len(s) >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && (s[1] == ' ' || s[1] == '\t'):
		return marker{indent: indent, rest: strings.TrimSpace(s[2:])}, true
	case len(s) == 1 && (s[0] == '-' || s[0] == '*' || s[0] == '+'):
		return marker{indent: indent}, true
	}
	n := 0
	for n < len(s) && n < 9 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 || n >= len(s) || (s[n] != '.' && s[n] != ')') {
		return marker{}, false
	}
	if n+1 < len(s) && s[n+1] != ' ' && s[n+1] != '\t' {
		return marker{}, false
	}
	return marker{indent: indent, ordinal: s[:n], rest: strings.TrimSpace(s[n+1:])}, true
}

// listItem renders a list item as a line: "• " for a bullet ("◦ " nested),
// "1. " for a number, ☐/☑ for a task; nesting indents by three spaces per
// level.
func listItem(line string) (string, bool) {
	m, ok := listMarker(line)
	if !ok {
		return "", false
	}
	depth := min(m.indent/2, 4)
	prefix := strings.Repeat("   ", depth)
	text := m.rest
	bullet := "• "
	if depth > 0 {
		bullet = "◦ "
	}
	if m.ordinal != "" {
		n, _ := strconv.Atoi(m.ordinal)
		bullet = strconv.Itoa(n) + ". "
	}
	switch {
	case strings.HasPrefix(text, "[ ] "), text == "[ ]":
		bullet, text = "☐ ", strings.TrimSpace(text[3:])
	case strings.HasPrefix(text, "[x] "), strings.HasPrefix(text, "[X] "), text == "[x]", text == "[X]":
		bullet, text = "☑ ", strings.TrimSpace(text[3:])
	}
	return prefix + bullet + renderInline(text, true), true
}

// fence is an open code fence.
type fence struct {
	char   byte
	n      int
	indent int
	lang   string
}

// openFence reads a fence opening: "```" or "~~~" (or longer), any
// indentation (models indent fences inside list items), an optional
// language.
func openFence(line string) (fence, bool) {
	rest := strings.TrimLeft(line, " \t")
	if len(rest) < 3 || (rest[0] != '`' && rest[0] != '~') {
		return fence{}, false
	}
	f := fence{char: rest[0], indent: len(line) - len(rest)}
	for f.n < len(rest) && rest[f.n] == f.char {
		f.n++
	}
	if f.n < 3 {
		return fence{}, false
	}
	info := strings.TrimSpace(rest[f.n:])
	if f.char == '`' && strings.Contains(info, "`") {
		return fence{}, false // "```x```" on one line is inline code
	}
	if word, _, _ := strings.Cut(info, " "); word != "" {
		f.lang = languageName(word)
	}
	return f, true
}

func (f fence) closes(line string) bool {
	rest := strings.TrimSpace(line)
	if len(rest) < f.n {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] != f.char {
			return false
		}
	}
	return true
}

// strip removes up to the fence's indentation from a line of its code.
func (f fence) strip(line string) string {
	i := 0
	for i < f.indent && i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return line[i:]
}

// languageName keeps what can name a language ("c++", "objective-c",
// "c#"), lower case; "" when nothing is left.
func languageName(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "{"), ".")
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("+#-_.", r)) {
			b.WriteRune(r)
		}
		if b.Len() >= 32 {
			break
		}
	}
	return b.String()
}

func renderPre(code []string, lang string) string {
	for len(code) > 0 && strings.TrimSpace(code[len(code)-1]) == "" {
		code = code[:len(code)-1]
	}
	body := escapeText(strings.Join(code, "\n"))
	if body == "" {
		body = " " // Telegram refuses an empty entity
	}
	if lang != "" {
		return `<pre><code class="language-` + lang + `">` + body + `</code></pre>`
	}
	return "<pre>" + body + "</pre>"
}

// escapeText escapes text for Telegram's HTML.
func escapeText(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return textEscaper.Replace(s)
}

var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

var attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

// safeURL returns a link's URL when its scheme is http, https, tg or mailto
// and it has no spaces or control characters; "" otherwise.
func safeURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || strings.IndexFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return ""
		}
	case "tg", "mailto":
		if u.Opaque == "" && u.Host == "" && u.Path == "" {
			return ""
		}
	default:
		return ""
	}
	return raw
}
