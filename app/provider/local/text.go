package local

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// words splits s into lower-case words of letters and digits; apostrophes
// inside a word are kept ("don't"), a trailing possessive "'s" is dropped.
func words(s string) []string {
	var (
		out []string
		b   strings.Builder
	)
	flush := func() {
		w := strings.Trim(b.String(), "'")
		b.Reset()
		w = strings.TrimSuffix(w, "'s")
		if w != "" {
			out = append(out, w)
		}
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		case r == '\'' || r == '’':
			if b.Len() > 0 {
				b.WriteByte('\'')
			}
		default:
			flush()
		}
	}
	flush()
	return out
}

// stem reduces an English word to a rough stem so that "refunds",
// "refunded" and "refunding" meet; it is deliberately simple and
// deterministic, not linguistically exact.
func stem(w string) string {
	if utf8.RuneCountInString(w) <= 3 {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w = w[:len(w)-1]
	}
	stripped := false
	switch {
	case strings.HasSuffix(w, "ing") && len(w) > 5:
		w, stripped = w[:len(w)-3], true
	case strings.HasSuffix(w, "ed") && len(w) > 4:
		w, stripped = w[:len(w)-2], true
	}
	if stripped && len(w) >= 2 && w[len(w)-1] == w[len(w)-2] && !strings.ContainsRune("aeioulsz", rune(w[len(w)-1])) {
		w = w[:len(w)-1] // shipping → ship
	}
	if strings.HasSuffix(w, "e") && len(w) > 3 {
		w = w[:len(w)-1]
	}
	return w
}

// keywords returns the distinct stems of the meaningful words of s: stop
// words and single letters are ignored, numbers are kept.
func keywords(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range words(s) {
		if stopWords[w] || (utf8.RuneCountInString(w) < 2 && !isDigits(w)) {
			continue
		}
		out[stem(w)] = true
	}
	return out
}

func isDigits(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return s != ""
}

// stopWords are words that carry no topic: question words, auxiliaries,
// pronouns, fillers and politeness. A question made only of them matches
// nothing.
var stopWords = toSet(`a about above after again against all almost also am an and another any anybody anyone
anything anyway are aren't around as ask at be because been before being below between both but by can
can't cannot could couldn't did didn't do does doesn't doing don't done down during each either else enough
even ever every explain few for from further get gets getting give given go goes going got had hadn't has
hasn't have haven't having he he'd he'll her here hers herself him himself his how how's however i i'd i'll
i'm i've if in into is isn't it it's its itself just know let let's like make many may me might mine more
most much must my myself need no nor not now of off ok okay on once only or other our ours ourselves out
over own please quite rather really said same say says see shall she she'd she'll should shouldn't show so
some something still such sure tell than thank thanks that that's the their theirs them themselves then
there there's these they they'd they'll they're they've thing things this those though through to too
under until up upon us very want was wasn't we we'd we'll we're we've well were weren't what what's when
when's where where's whether which while who who's whom whose why why's will with within without won't
would wouldn't yes yet you you'd you'll you're you've your yours yourself yourselves hi hello hey`)

func toSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// sentences splits a record's text into sentences: Markdown headings are
// dropped (they label, they do not answer), list items and lines ending a
// paragraph stand alone, and prose is split after '.', '!' or '?' followed
// by a space, except after common abbreviations and initials.
func sentences(text string) []string {
	var (
		out  []string
		para []string
	)
	flush := func() {
		if len(para) > 0 {
			out = append(out, splitProse(strings.Join(para, " "))...)
			para = nil
		}
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "#"):
			flush()
		case isListItem(line):
			flush()
			para = append(para, trimListMarker(line))
			flush()
		default:
			para = append(para, line)
		}
	}
	flush()
	return out
}

func isListItem(line string) bool {
	return trimListMarker(line) != line
}

func trimListMarker(line string) string {
	for _, p := range []string{"- ", "* ", "• ", "+ "} {
		if strings.HasPrefix(line, p) {
			return strings.TrimSpace(line[len(p):])
		}
	}
	i := 0
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(line) && (line[i] == '.' || line[i] == ')') && line[i+1] == ' ' {
		return strings.TrimSpace(line[i+2:])
	}
	return line
}

var abbreviations = toSet("e.g i.e etc mr mrs ms dr st vs no approx inc ltd co jr sr prof fig")

func splitProse(p string) []string {
	p = strings.Join(strings.Fields(p), " ")
	var (
		out   []string
		start int
	)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '.' && c != '!' && c != '?' {
			continue
		}
		// the end of a sentence is punctuation (and closing quotes or
		// brackets) followed by a space
		j := i + 1
		for j < len(p) && strings.IndexByte(`"')]”’`, p[j]) >= 0 {
			j++
		}
		if j < len(p) && p[j] != ' ' {
			continue
		}
		if c == '.' {
			ws := strings.Fields(p[start:i])
			if len(ws) > 0 {
				last := strings.ToLower(strings.TrimLeft(ws[len(ws)-1], `("'`))
				if abbreviations[last] || (utf8.RuneCountInString(last) == 1 && unicode.IsUpper([]rune(ws[len(ws)-1])[0])) {
					continue
				}
			}
		}
		if s := strings.TrimSpace(p[start:j]); s != "" {
			out = append(out, s)
		}
		start = j
		i = j - 1
	}
	if s := strings.TrimSpace(p[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// endSentence makes s end like a sentence.
func endSentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	switch s[len(s)-1] {
	case '.', '!', '?', '"', ')', ']':
		return s
	}
	if strings.HasSuffix(s, "”") || strings.HasSuffix(s, "…") {
		return s
	}
	return s + "."
}

// clip shortens s to about n bytes at a word boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n], ' ')
	if cut <= 0 {
		cut = n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
	}
	return strings.TrimRight(s[:cut], " ,;:") + "…"
}
