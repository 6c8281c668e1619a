package telegramtest_test

import (
	"strings"
	"testing"

	"parley/app/channel/telegram/telegramtest"
)

func TestValid(t *testing.T) {
	valid := []struct{ name, html string }{
		{"Plain", "Hello, world"},
		{"Empty", ""},
		{"Entities", "a &lt; b &gt; c &amp; d &quot;e&quot; &#169; &#x1F600;"},
		{"Styles", "<b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <ins>n</ins> <s>s</s> <strike>k</strike> <del>d</del>"},
		{"Spoilers", `<tg-spoiler>x</tg-spoiler> <span class="tg-spoiler">y</span>`},
		{"Nested", "<b>bold <i>both <u>all</u></i></b>"},
		{"SameNested", "<b>a <b>b</b></b>"},
		{"Link", `<a href="https://example.com/?a=1&amp;b=2">x</a> <a href='tg://user?id=1'>u</a>`},
		{"BoldLink", `<b><a href="https://example.com">x</a></b> <a href="https://example.com"><i>y</i></a>`},
		{"Code", "<code>x &lt; y</code>"},
		{"Pre", "<pre>line 1\nline 2</pre>"},
		{"PreLanguage", `<pre><code class="language-go">func main() {}</code></pre>`},
		{"PreCodeWhitespace", "<pre>\n<code>x</code>\n</pre>"},
		{"Blockquote", "<blockquote>quoted <b>bold</b> <a href=\"https://e.com\">link</a> <code>c</code></blockquote>"},
		{"Expandable", "<blockquote expandable>long</blockquote>"},
		{"Emoji", `<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>`},
		{"UpperCase", "<B>x</B>"},
		{"UnicodeText", "naïve — 🧑‍💻"},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			if err := telegramtest.Valid(tt.html); err != nil {
				t.Errorf("Valid(%q) = %v, want nil", tt.html, err)
			}
		})
	}

	invalid := []struct{ name, html, want string }{
		{"BareLess", "a < b", "bare <"},
		{"BareGreater", "a > b", "bare >"},
		{"BareAmp", "AT & T", "bare &"},
		{"UnknownEntity", "a&nbsp;b", "&nbsp; is not an entity"},
		{"BadNumber", "&#xZZ;", "not a number"},
		{"Surrogate", "&#xD800;", "not a character"},
		{"NulEntity", "&#0;", "not a character"},
		{"Unclosed", "<b>bold", "<b> is not closed"},
		{"CloseNothing", "x</b>", "</b> closes no tag"},
		{"Crossed", "<b><i>x</b></i>", "</b> closes <i>"},
		{"Script", "<script>alert(1)</script>", "<script> is not a tag"},
		{"Br", "a<br>b", "<br> is not a tag"},
		{"Div", "<div>x</div>", "<div> is not a tag"},
		{"ExtraAttr", `<b class="x">y</b>`, `attribute "class"`},
		{"OnClick", `<a href="https://e.com" onclick="x()">y</a>`, `attribute "onclick"`},
		{"LinkWithoutHref", "<a>x</a>", "without href"},
		{"LinkInLink", `<a href="https://a">x <a href="https://b">y</a></a>`, "<a> inside <a>"},
		{"TagInCode", "<code><b>x</b></code>", "inside <code>"},
		{"TagInPre", "<pre><b>x</b></pre>", "inside <pre>"},
		{"TextBeforePreCode", "<pre>x<code>y</code></pre>", "inside <pre>"},
		{"TextAfterPreCode", "<pre><code>y</code>x</pre>", "after the <code>"},
		{"CodeClassOutsidePre", `<code class="language-go">x</code>`, "outside <pre>"},
		{"CodeClassNotLanguage", `<pre><code class="go">x</code></pre>`, "language-"},
		{"CodeInLink", `<a href="https://e.com"><code>x</code></a>`, "<code> inside <a>"},
		{"PreInLink", `<a href="https://e.com"><pre>x</pre></a>`, "<pre> inside <a>"},
		{"QuoteInQuote", "<blockquote>a<blockquote>b</blockquote></blockquote>", "do not nest"},
		{"PreInQuote", "<blockquote><pre>x</pre></blockquote>", "<pre> inside <blockquote>"},
		{"SpanNotSpoiler", `<span class="red">x</span>`, "tg-spoiler"},
		{"EmojiWithoutID", "<tg-emoji>x</tg-emoji>", "emoji-id"},
		{"UnclosedTag", "<b x", "not closed by >"},
		{"UnclosedQuote", `<a href="https://e.com>x</a>`, "unclosed quote"},
		{"BadEntityInHref", `<a href="https://e.com/?a&b">x</a>`, "bare &"},
		{"ClosingWithAttr", `<b>x</b class="y">`, "has attributes"},
		{"NotUTF8", "a\xffb", "not UTF-8"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			err := telegramtest.Valid(tt.html)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Valid(%q) = %v, want an error containing %q", tt.html, err, tt.want)
			}
		})
	}
}

func TestPlainText(t *testing.T) {
	got, err := telegramtest.PlainText(`<b>a</b> &lt;3 &amp; <a href="https://e.com?a=1&amp;b=2">link</a> &#x1F600;`)
	if err != nil {
		t.Fatal(err)
	}
	if want := "a <3 & link 😀"; got != want {
		t.Errorf("PlainText = %q, want %q", got, want)
	}
	if _, err := telegramtest.PlainText("<b>"); err == nil {
		t.Error("PlainText of invalid HTML: no error")
	}
}
