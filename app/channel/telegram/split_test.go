package telegram_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"parley/app/channel/telegram"
	"parley/app/channel/telegram/telegramtest"
)

func units(s string) int { return len(utf16.Encode([]rune(s))) }

func plain(t *testing.T, html string) string {
	t.Helper()
	p, err := telegramtest.PlainText(html)
	if err != nil {
		t.Fatalf("%q is not valid: %v", html, err)
	}
	return p
}

func noSpace(s string) string { return strings.Join(strings.Fields(s), "") }

// checkParts checks what every split must hold: each part at most limit
// UTF-16 code units, valid on its own, with visible text; and together the
// parts keep all the text, in order, losing only whitespace at the cuts.
func checkParts(t *testing.T, html string, limit int, parts []string) {
	t.Helper()
	var all strings.Builder
	for i, p := range parts {
		if n := units(p); n > limit {
			t.Errorf("part %d has %d UTF-16 units, limit %d: %q", i, n, limit, p)
		}
		text := plain(t, p)
		if strings.TrimSpace(text) == "" {
			t.Errorf("part %d has no text: %q", i, p)
		}
		all.WriteString(text)
	}
	if got, want := noSpace(all.String()), noSpace(plain(t, html)); got != want {
		t.Errorf("the parts' text differs from the whole's:\n got %q\nwant %q", got, want)
	}
}

// answer is a Markdown answer of about n characters, in paragraphs with
// formatting, links, a list and entities.
func answer(n int) string {
	var b strings.Builder
	for i := 1; b.Len() < n; i++ {
		fmt.Fprintf(&b, "## Part %d\n\nThis is **paragraph %d**, with *some* `code`, a [link](https://example.com/?p=%d&q=1) and a few words & symbols < > to escape. ", i, i, i)
		b.WriteString("It goes on for a while so that the paragraph is long enough to matter. Another sentence follows here.\n\n")
		b.WriteString("- first point\n- second point with **bold**\n\n")
	}
	return b.String()
}

func TestSplitLongAnswer(t *testing.T) {
	md := answer(6000)
	html := telegram.FormatHTML(md)
	if units(html) <= telegram.MaxMessageLength {
		t.Fatalf("the answer is too short for the test: %d units", units(html))
	}
	parts := telegram.Split(html, telegram.MaxMessageLength)
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2", len(parts))
	}
	checkParts(t, html, telegram.MaxMessageLength, parts)
	// The first part ends at a paragraph, and a heading stays with its
	// paragraph: the second part starts with a heading.
	if !strings.HasPrefix(parts[1], "<b>Part ") {
		t.Errorf("the second part starts %q, want a heading", parts[1][:60])
	}
	if units(parts[0]) < telegram.MaxMessageLength*2/3 {
		t.Errorf("the first part is only %d units", units(parts[0]))
	}
}

func TestSplitShort(t *testing.T) {
	for _, html := range []string{"Hello", "<b>Hi</b> &amp; bye", strings.Repeat("x", telegram.MaxMessageLength)} {
		if got := telegram.Split(html, 0); !cmp.Equal(got, []string{html}) {
			t.Errorf("Split(%.30q) = %d parts, want it whole", html, len(got))
		}
	}
	for _, html := range []string{"", "  \n\n ", "<b> </b>"} {
		if got := telegram.Split(html, 10); len(got) != 0 {
			t.Errorf("Split(%q) = %q, want no parts", html, got)
		}
	}
}

func TestSplitBoundaries(t *testing.T) {
	tests := []struct {
		name  string
		html  string
		limit int
		want  []string
	}{
		{"Paragraph", "First para line.\nSecond line here.\n\nNext para.", 40,
			[]string{"First para line.\nSecond line here.", "Next para."}},
		{"HeadingStaysWithItsParagraph", "Intro text here.\n\n<b>Heading</b>\n\nBody text follows.", 50,
			[]string{"Intro text here.", "<b>Heading</b>\n\nBody text follows."}},
		{"ParagraphOverLine", "aaaa aaaa aaaa aaaa\n\nbbbb bbbb\ncccc cccc dddd", 40,
			[]string{"aaaa aaaa aaaa aaaa", "bbbb bbbb\ncccc cccc dddd"}},
		{"Line", "one two three four\nfive six seven eight nine ten", 30,
			[]string{"one two three four", "five six seven eight nine ten"}},
		{"Sentence", "This is one. This is two and more words here", 30,
			[]string{"This is one.", "This is two and more words", "here"}},
		{"Word", "alpha beta gamma delta epsilon", 12,
			[]string{"alpha beta", "gamma delta", "epsilon"}},
		{"HardSplit", strings.Repeat("a", 25), 10,
			[]string{"aaaaaaaaaa", "aaaaaaaaaa", "aaaaa"}},
		{"LongWordAmongWords", "hi " + strings.Repeat("b", 12) + " ok", 10,
			[]string{"hi bbbbbbb", "bbbbb ok"}},
		{"WordMovedWhole", "hi " + strings.Repeat("b", 10) + " ok", 10,
			[]string{"hi", "bbbbbbbbbb", "ok"}},
		{"URLMovedWhole", "See https://example.com/a/b/c", 26,
			[]string{"See", "https://example.com/a/b/c"}},
		{"URLTooLongIsCut", "See https://example.com/a/b/c/d", 26,
			[]string{"See https://example.com/a/", "b/c/d"}},
		{"TagsReopened", "<b>one two three four five</b>", 20,
			[]string{"<b>one two three</b>", "<b>four five</b>"}},
		{"NestedReopened", `<i>a <b>bb cc dd ee</b> ff</i>`, 22,
			[]string{"<i>a <b>bb cc</b></i>", "<i><b>dd ee</b> ff</i>"}},
		{"LinkReopened", `<a href="https://e.com">one two three</a>`, 34,
			[]string{`<a href="https://e.com">one</a>`, `<a href="https://e.com">two</a>`, `<a href="https://e.com">three</a>`}},
		{"CutBeforeClosingTag", "<b>aaaa bbbb</b> cccc", 13,
			[]string{"<b>aaaa</b>", "<b>bbbb</b>", "cccc"}},
		{"NoEmptyElement", "<b>aaaaaaa</b> <i>bbbbbbb</i>", 14,
			[]string{"<b>aaaaaaa</b>", "<i>bbbbbbb</i>"}},
		{"Entities", "&amp;&amp;&amp; &lt;&lt;", 12,
			[]string{"&amp;&amp;", "&amp;", "&lt;&lt;"}},
		{"EmojiCountTwo", "😀😀😀😀😀", 4,
			[]string{"😀😀", "😀😀", "😀"}},
		{"EmojiNotHalved", "a😀😀", 4,
			[]string{"a😀", "😀"}},
		{"QuoteReopened", "<blockquote>line one\nline two</blockquote>", 40,
			[]string{"<blockquote>line one</blockquote>", "<blockquote>line two</blockquote>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := telegram.Split(tt.html, tt.limit)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Split(%q, %d) (-want +got):\n%s", tt.html, tt.limit, diff)
			}
			checkParts(t, tt.html, tt.limit, got)
		})
	}
}

func TestSplitPre(t *testing.T) {
	var code strings.Builder
	for i := range 400 {
		fmt.Fprintf(&code, "\tfmt.Println(\"line %03d\", x < y && y > z)\n", i)
	}
	md := "Here is the program:\n\n```go\n" + code.String() + "```\n\nThat is all."
	html := telegram.FormatHTML(md)
	parts := telegram.Split(html, telegram.MaxMessageLength)
	if len(parts) < 4 {
		t.Fatalf("%d parts, want at least 4", len(parts))
	}
	checkParts(t, html, telegram.MaxMessageLength, parts)
	var lines []string
	for i, p := range parts {
		body := p
		if i == 0 {
			body = strings.TrimPrefix(body, "Here is the program:\n\n")
		}
		if i == len(parts)-1 {
			body = strings.TrimSuffix(body, "\n\nThat is all.")
		}
		const open, close = `<pre><code class="language-go">`, "</code></pre>"
		if !strings.HasPrefix(body, open) || !strings.HasSuffix(body, close) {
			t.Fatalf("part %d is not one whole go block: %.60q … %q", i, body, body[max(0, len(body)-40):])
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(strings.TrimPrefix(body, open), close), "\n")...)
	}
	// Cut at lines: every line whole, none lost, in order.
	want := strings.Split(strings.TrimSuffix(strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;").Replace(code.String()), "\n"), "\n")
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("code lines (-want +got):\n%s", diff)
	}
}

func TestSplitPreLongLine(t *testing.T) {
	html := "<pre>" + strings.Repeat("x", 50) + "</pre>"
	parts := telegram.Split(html, 30)
	want := []string{"<pre>" + strings.Repeat("x", 19) + "</pre>", "<pre>" + strings.Repeat("x", 19) + "</pre>", "<pre>" + strings.Repeat("x", 12) + "</pre>"}
	if diff := cmp.Diff(want, parts); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	checkParts(t, html, 30, parts)
}

func TestSplitEmojiAnswer(t *testing.T) {
	// 3,000 emoji are 6,000 UTF-16 units: more than one message though only
	// 3,000 characters.
	html := strings.Repeat("😀", 3000)
	parts := telegram.Split(html, telegram.MaxMessageLength)
	if len(parts) != 2 || units(parts[0]) != telegram.MaxMessageLength || units(parts[1]) != 6000-telegram.MaxMessageLength {
		t.Fatalf("parts of %v units", []int{units(parts[0]), units(parts[len(parts)-1])})
	}
	checkParts(t, html, telegram.MaxMessageLength, parts)
}

func TestSplitLongWord(t *testing.T) {
	html := "<b>" + strings.Repeat("a", 10000) + "</b>"
	parts := telegram.Split(html, telegram.MaxMessageLength)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	for i, p := range parts {
		if !strings.HasPrefix(p, "<b>") || !strings.HasSuffix(p, "</b>") {
			t.Errorf("part %d is not bold throughout", i)
		}
	}
	checkParts(t, html, telegram.MaxMessageLength, parts)
}

// TestSplitAnyLimit splits a formatted answer at many limits: every part is
// valid and fits, and no text is lost.
func TestSplitAnyLimit(t *testing.T) {
	md := answer(1500) + "\n```python\nprint('<x>')\n\n\nfor i in range(3):\n    print(i)\n```\n> quoted **bold** [l](https://e.com)\n> more 😀😀"
	html := telegram.FormatHTML(md)
	// Below about twice the longest run of nested tags (here <blockquote><a
	// href="https://e.com">…), a part cannot hold a character and its tags.
	for limit := 100; limit <= 1200; limit += 17 {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			checkParts(t, html, limit, telegram.Split(html, limit))
		})
	}
}
