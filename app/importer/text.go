package importer

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxSlugRunes bounds the heading part of a chunk's source.
const maxSlugRunes = 200

// block is a paragraph (or a fenced code block) and the line it starts on.
type block struct {
	text string
	line int
}

// section is the text under one heading, or before the first one.
type section struct {
	title  string   // the heading's text; "" before the first heading and in plain text
	path   []string // the enclosing headings' titles, outermost first, ending with title
	slug   string   // the heading's anchor, as GitHub makes it ("" without a heading)
	blocks []block
}

// parseText chunks a plain text or Markdown file: sections by heading
// (Markdown only), then paragraphs packed into chunks of at most MaxChars,
// a paragraph longer than that split with OverlapChars of overlap.
func (p *parser) parseText(data []byte, markdown bool) error {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	for _, s := range splitSections(text, markdown) {
		if err := p.chunkSection(s); err != nil {
			return err
		}
	}
	return nil
}

// chunkSection turns one section into records. Each chunk of a section under
// a heading starts with the heading's title, so a chunk found by retrieval
// says what it is about, and its source points at the heading's anchor.
func (p *parser) chunkSection(s section) error {
	if len(s.blocks) == 0 {
		return nil
	}
	name := truncateRunes(p.name, MaxSourceChars-maxSlugRunes-1)
	source := name
	if s.slug != "" {
		source += "#" + s.slug
	}
	var meta map[string]any
	if len(s.path) > 0 {
		meta = map[string]any{"section": strings.Join(s.path, " › ")}
	}
	prefix := ""
	if s.title != "" && utf8.RuneCountInString(s.title) <= p.opts.MaxChars/4 {
		prefix = s.title + "\n\n"
	}
	budget := p.opts.MaxChars - utf8.RuneCountInString(prefix)
	overlap := min(p.opts.OverlapChars, budget/2)

	emit := func(text string, line int) error {
		var m map[string]any
		if meta != nil {
			m = map[string]any{"section": meta["section"]}
		}
		return p.add(Record{Text: prefix + text, Source: source, Meta: m}, line, 0)
	}
	var (
		cur     []string
		curLen  int
		curLine int
	)
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		err := emit(strings.Join(cur, "\n\n"), curLine)
		cur, curLen = nil, 0
		return err
	}
	for _, b := range s.blocks {
		n := utf8.RuneCountInString(b.text)
		if len(cur) > 0 && curLen+2+n > budget {
			if err := flush(); err != nil {
				return err
			}
		}
		if n > budget {
			for _, piece := range splitLong(b.text, budget, overlap) {
				if err := emit(piece, b.line); err != nil {
					return err
				}
			}
			continue
		}
		if len(cur) == 0 {
			curLine, curLen = b.line, n
		} else {
			curLen += 2 + n
		}
		cur = append(cur, b.text)
	}
	return flush()
}

// splitSections cuts text into sections at Markdown headings (ATX "## Title"
// and setext "Title\n====="), ignoring "#" lines inside fenced code, and each
// section into blocks at blank lines. A fenced code block is one block, blank
// lines and all. Plain text (markdown false) is one section of paragraphs.
func splitSections(text string, markdown bool) []section {
	lines := strings.Split(text, "\n")
	start := 0
	if markdown {
		start = frontMatterEnd(lines)
	}
	type heading struct {
		level int
		title string
	}
	var (
		secs     []section
		cur      section
		stack    []heading
		para     []string
		paraLine int
		fence    string
		slugs    = map[string]int{}
	)
	flush := func() {
		if t := strings.TrimSpace(strings.Join(para, "\n")); t != "" {
			cur.blocks = append(cur.blocks, block{text: t, line: paraLine})
		}
		para = nil
	}
	open := func(level int, title string) {
		flush()
		secs = append(secs, cur)
		for len(stack) > 0 && stack[len(stack)-1].level >= level {
			stack = stack[:len(stack)-1]
		}
		stack = append(stack, heading{level, title})
		path := make([]string, 0, len(stack))
		for _, h := range stack {
			if h.title != "" {
				path = append(path, h.title)
			}
		}
		cur = section{title: title, path: path, slug: uniqueSlug(slugs, title)}
	}
	for i := start; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t")
		n := i + 1
		if markdown {
			if fence != "" {
				para = append(para, line)
				if isFenceClose(line, fence) {
					fence = ""
					flush()
				}
				continue
			}
			if f := fenceOpen(line); f != "" {
				flush()
				para, paraLine, fence = []string{line}, n, f
				continue
			}
			if level, title, ok := atxHeading(line); ok {
				open(level, title)
				continue
			}
			if len(para) > 0 {
				if level := setextLevel(line); level > 0 {
					title := strings.Join(strings.Fields(strings.Join(para, " ")), " ")
					para = nil
					open(level, title)
					continue
				}
			}
			if isThematicBreak(line) {
				flush()
				continue
			}
		}
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if len(para) == 0 {
			paraLine = n
		}
		para = append(para, line)
	}
	flush()
	return append(secs, cur)
}

// frontMatterEnd returns the index of the first line after a YAML front
// matter block ("---" … "---" at the very start), or 0 when there is none.
func frontMatterEnd(lines []string) int {
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "---" {
		return 0
	}
	for i := 1; i < len(lines); i++ {
		if l := strings.TrimSpace(lines[i]); l == "---" || l == "..." {
			return i + 1
		}
	}
	return 0
}

// indent strips up to three leading spaces, as Markdown allows before a
// heading or fence; ok is false when the line is indented more (code).
func indent(line string) (string, bool) {
	for range 3 {
		if !strings.HasPrefix(line, " ") {
			break
		}
		line = line[1:]
	}
	return line, !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t")
}

// atxHeading reads "## Title ##" as level 2, "Title".
func atxHeading(line string) (int, string, bool) {
	s, ok := indent(line)
	if !ok {
		return 0, "", false
	}
	level := 0
	for level < len(s) && s[level] == '#' {
		level++
	}
	if level == 0 || level > 6 || (level < len(s) && s[level] != ' ' && s[level] != '\t') {
		return 0, "", false
	}
	title := strings.TrimSpace(s[level:])
	// A closing sequence of #s, preceded by a space, is not part of the title.
	if t := strings.TrimRight(title, "#"); t != title && (t == "" || strings.HasSuffix(t, " ") || strings.HasSuffix(t, "\t")) {
		title = strings.TrimSpace(t)
	}
	return level, title, true
}

// setextLevel is 1 for a "===" underline, 2 for "---", and 0 otherwise.
func setextLevel(line string) int {
	s, ok := indent(line)
	switch {
	case !ok || len(s) < 2:
		return 0
	case strings.Trim(s, "=") == "":
		return 1
	case strings.Trim(s, "-") == "":
		return 2
	}
	return 0
}

// isThematicBreak reports a "---", "***" or "___" line (spaces allowed).
func isThematicBreak(line string) bool {
	s, ok := indent(line)
	if !ok {
		return false
	}
	s = strings.ReplaceAll(strings.ReplaceAll(s, " ", ""), "\t", "")
	if len(s) < 3 {
		return false
	}
	return strings.Trim(s, "-") == "" || strings.Trim(s, "*") == "" || strings.Trim(s, "_") == ""
}

// fenceOpen returns the fence (e.g. "```" or "~~~~") a line opens, or "".
func fenceOpen(line string) string {
	s, ok := indent(line)
	if !ok || len(s) < 3 || (s[0] != '`' && s[0] != '~') {
		return ""
	}
	n := 0
	for n < len(s) && s[n] == s[0] {
		n++
	}
	if n < 3 || (s[0] == '`' && strings.ContainsRune(s[n:], '`')) {
		return ""
	}
	return s[:n]
}

// isFenceClose reports whether line closes the fenced block opened by fence.
func isFenceClose(line, fence string) bool {
	s, ok := indent(line)
	if !ok || !strings.HasPrefix(s, fence) {
		return false
	}
	return strings.Trim(s, fence[:1]) == ""
}

// uniqueSlug makes a heading's anchor the way GitHub does: lower case,
// letters, digits, "-" and "_" kept, spaces turned into "-", the rest dropped,
// and "-1", "-2"… appended to repeats.
func uniqueSlug(seen map[string]int, title string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.ToLower(title) {
		if n >= maxSlugRunes {
			break
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		default:
			continue
		}
		n++
	}
	slug := b.String()
	if slug == "" {
		return ""
	}
	k := seen[slug]
	seen[slug] = k + 1
	if k > 0 {
		return slug + "-" + strconv.Itoa(k)
	}
	return slug
}

// splitLong cuts a paragraph longer than size characters into pieces of at
// most size, each ending at a sentence end, a line break or a space when one
// lies in its second half, and each starting up to overlap characters before
// the previous one ended (at a word's start), so nothing cut in two is lost.
func splitLong(s string, size, overlap int) []string {
	r := []rune(s)
	var out []string
	start := 0
	for {
		for start < len(r) && unicode.IsSpace(r[start]) {
			start++
		}
		if start >= len(r) {
			return out
		}
		if len(r)-start <= size {
			return append(out, strings.TrimSpace(string(r[start:])))
		}
		end := cutPoint(r, start, start+size)
		out = append(out, strings.TrimSpace(string(r[start:end])))
		next := end
		if overlap > 0 {
			next = wordStart(r, end-overlap, end)
		}
		if next <= start {
			next = end
		}
		start = next
	}
}

// cutPoint picks where the piece r[start:limit] should end (limit < len(r)):
// after the last sentence end or line break in its second half, else before
// the last space there, else at limit.
func cutPoint(r []rune, start, limit int) int {
	lo := start + (limit-start)/2
	for i := limit; i > lo; i-- {
		prev := r[i-1]
		if prev == '\n' || isCJKStop(prev) || (isStop(prev) && unicode.IsSpace(r[i])) {
			return i
		}
	}
	for i := limit; i > lo; i-- {
		if unicode.IsSpace(r[i]) {
			return i
		}
	}
	return limit
}

func isStop(r rune) bool    { return r == '.' || r == '!' || r == '?' || r == ';' || r == ':' }
func isCJKStop(r rune) bool { return r == '。' || r == '！' || r == '？' }

// wordStart moves pos forward (not past end) to the start of a word, so an
// overlap does not begin mid-word; text without spaces keeps pos.
func wordStart(r []rune, pos, end int) int {
	if pos <= 0 {
		return 0
	}
	for i := pos; i < end; i++ {
		if unicode.IsSpace(r[i-1]) && !unicode.IsSpace(r[i]) {
			return i
		}
	}
	return pos
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
