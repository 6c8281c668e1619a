package telegram_test

import (
	"strings"
	"testing"

	"parley/app/channel/telegram"
	"parley/app/channel/telegram/telegramtest"
)

func TestFormatHTML(t *testing.T) {
	tests := []struct {
		name, md, want string
	}{
		// Text and escaping.
		{"Plain", "Hello, world", "Hello, world"},
		{"Empty", "", ""},
		{"Escapes", "a < b > c & d", "a &lt; b &gt; c &amp; d"},
		{"RawBold", "<b>not bold</b>", "&lt;b&gt;not bold&lt;/b&gt;"},
		{"Script", "<script>alert('x')</script>", "&lt;script&gt;alert('x')&lt;/script&gt;"},
		{"Entity", "&amp; &nbsp; &#169;", "&amp;amp; &amp;nbsp; &amp;#169;"},
		{"Quotes", `He said "hi"`, `He said "hi"`},
		{"BackslashEscape", `\*not italic\* and \_not\_ \\`, `*not italic* and _not_ \`},
		{"CRLF", "a\r\nb", "a\nb"},

		// Emphasis.
		{"Bold", "**bold**", "<b>bold</b>"},
		{"BoldUnderscore", "__bold__", "<b>bold</b>"},
		{"ItalicStar", "*italic*", "<i>italic</i>"},
		{"ItalicUnderscore", "_italic_", "<i>italic</i>"},
		{"BoldItalic", "***both***", "<i><b>both</b></i>"},
		{"Strike", "~~gone~~", "<s>gone</s>"},
		{"Spoiler", "||secret||", "<tg-spoiler>secret</tg-spoiler>"},
		{"InSentence", "This is **very** important, *really*.", "This is <b>very</b> important, <i>really</i>."},
		{"BoldColon", "**Note:** read this", "<b>Note:</b> read this"},
		{"NestedItalicInBold", "**bold *and italic* bold**", "<b>bold <i>and italic</i> bold</b>"},
		{"NestedBoldInItalic", "_italic **bold** italic_", "<i>italic <b>bold</b> italic</i>"},
		{"StrikeWithBold", "~~old **price**~~", "<s>old <b>price</b></s>"},
		{"Intraword", "foo**bar**baz", "foo<b>bar</b>baz"},
		{"AcrossLines", "**two\nlines**", "<b>two\nlines</b>"},

		// Markers that do not pair stay as typed.
		{"UnmatchedBold", "**not closed", "**not closed"},
		{"UnmatchedItalic", "an *open marker", "an *open marker"},
		{"UnmatchedCode", "a `tick", "a `tick"},
		{"Multiplication", "2 * 3 * 4 = 24", "2 * 3 * 4 = 24"},
		{"SnakeCase", "use snake_case_names here", "use snake_case_names here"},
		{"SingleTilde", "~5 minutes", "~5 minutes"},
		{"TripleTilde", "a ~~~b~~~ c", "a ~~~b~~~ c"},
		{"SinglePipe", "a | b | c", "a | b | c"},
		{"SpaceInside", "** not bold **", "** not bold **"},
		{"Crossed", "**a _b** c_", "<b>a _b</b> c_"},
		{"EmptyMarkers", "a **** b", "a **** b"},
		{"BareURL", "see https://example.com/__init__ and http://x.org/a_b_c.", "see https://example.com/__init__ and http://x.org/a_b_c."},

		// Code.
		{"Code", "run `go test ./...` now", "run <code>go test ./...</code> now"},
		{"CodeEscapes", "`<b>&</b>`", "<code>&lt;b&gt;&amp;&lt;/b&gt;</code>"},
		{"CodeKeepsMarkers", "`**not bold** _x_`", "<code>**not bold** _x_</code>"},
		{"DoubleBacktick", "``a ` b``", "<code>a ` b</code>"},
		{"CodeSpaces", "`` `x` ``", "<code>`x`</code>"},
		{"CodeBeatsEmphasis", "*a `b*` c*", "<i>a <code>b*</code> c</i>"},
		{"Fence", "```\nplain code\n```", "<pre>plain code</pre>"},
		{"FenceLanguage", "```go\nfunc main() {\n\tfmt.Println(\"<hi>\")\n}\n```", "<pre><code class=\"language-go\">func main() {\n\tfmt.Println(\"&lt;hi&gt;\")\n}</code></pre>"},
		{"FenceLanguageCleaned", "```C++ {linenos}\nint x;\n```", "<pre><code class=\"language-c++\">int x;</code></pre>"},
		{"FenceLanguageHostile", "```\"><script>\nx\n```", "<pre><code class=\"language-script\">x</code></pre>"},
		{"FenceKeepsMarkdown", "```md\n# not a heading\n**not bold** <b>\n```", "<pre><code class=\"language-md\"># not a heading\n**not bold** &lt;b&gt;</code></pre>"},
		{"FenceTilde", "~~~\nx\n~~~", "<pre>x</pre>"},
		{"FenceLonger", "````\n```\ninner\n```\n````", "<pre>```\ninner\n```</pre>"},
		{"FenceUnclosed", "text\n```python\nprint(1)", "text\n<pre><code class=\"language-python\">print(1)</code></pre>"},
		{"FenceEmpty", "```\n```", "<pre> </pre>"},
		{"FenceIndentedInList", "1. Run:\n   ```sh\n   make\n     all\n   ```", "1. Run:\n<pre><code class=\"language-sh\">make\n  all</code></pre>"},
		{"FenceInlineOnOneLine", "```x```", "<code>x</code>"},
		{"FenceBetweenText", "Before:\n```\ncode\n```\nAfter.", "Before:\n<pre>code</pre>\nAfter."},

		// Links.
		{"Link", "[Parley](https://parley.example/docs)", `<a href="https://parley.example/docs">Parley</a>`},
		{"LinkQueryEscaped", `[x](https://e.com/?a=1&b="2")`, `<a href="https://e.com/?a=1&amp;b=&quot;2&quot;">x</a>`},
		{"LinkParens", "[wiki](https://en.wikipedia.org/wiki/Go_(programming_language))", `<a href="https://en.wikipedia.org/wiki/Go_(programming_language)">wiki</a>`},
		{"LinkTitle", `[x](https://e.com "The title")`, `<a href="https://e.com">x</a>`},
		{"LinkAngle", "[x](<https://e.com/a b>)", "x"},
		{"LinkBoldText", "[**bold** link](https://e.com)", `<a href="https://e.com"><b>bold</b> link</a>`},
		{"LinkCodeTextIsPlain", "[`cmd`](https://e.com)", `<a href="https://e.com">cmd</a>`},
		{"BoldAroundLink", "**[x](https://e.com)**", `<b><a href="https://e.com">x</a></b>`},
		{"LinkEmptyText", "[](https://e.com)", `<a href="https://e.com">https://e.com</a>`},
		{"LinkMailto", "[mail](mailto:help@parley.example)", `<a href="mailto:help@parley.example">mail</a>`},
		{"LinkTg", "[me](tg://user?id=42)", `<a href="tg://user?id=42">me</a>`},
		{"LinkHTTPUpper", "[x](HTTPS://E.COM)", `<a href="HTTPS://E.COM">x</a>`},
		{"LinkJavascript", "[click](javascript:alert(1))", "click"},
		{"LinkJavascriptCase", "[click](JaVaScRiPt:alert(1))", "click"},
		{"LinkData", "[x](data:text/html,<script>alert(1)</script>)", "x"},
		{"LinkFile", "[x](file:///etc/passwd)", "x"},
		{"LinkRelative", "[x](/admin)", "x"},
		{"LinkNoScheme", "[x](example.com)", "x"},
		{"LinkVBScript", "[x](vbscript:msgbox)", "x"},
		{"LinkAttributeBreakout", `[x](https://e.com/"onclick="alert(1))`, `<a href="https://e.com/&quot;onclick=&quot;alert(1)">x</a>`},
		{"LinkInsideLinkText", "[a [b](https://b.com)](https://a.com)", `<a href="https://a.com">a [b](https://b.com)</a>`},
		{"NotALink", "[just brackets] and (parens)", "[just brackets] and (parens)"},
		{"UnclosedLink", "[x](https://e.com", "[x](https://e.com"},
		{"Autolink", "<https://e.com/a?b=1&c=2>", `<a href="https://e.com/a?b=1&amp;c=2">https://e.com/a?b=1&amp;c=2</a>`},
		{"AutolinkJavascript", "<javascript:alert(1)>", "&lt;javascript:alert(1)&gt;"},
		{"Image", "![a diagram](https://e.com/d.png)", `<a href="https://e.com/d.png">a diagram</a>`},
		{"ImageNoAlt", "![](https://e.com/d.png)", `<a href="https://e.com/d.png">image</a>`},

		// Headings.
		{"Heading", "# Title", "<b>Title</b>"},
		{"HeadingLevels", "## Two\n###### Six", "<b>Two</b>\n<b>Six</b>"},
		{"HeadingClosingHashes", "## Title ##", "<b>Title</b>"},
		{"HeadingFormatting", "### The `Split` *function*", "<b>The <code>Split</code> <i>function</i></b>"},
		{"HeadingEscapes", "# A <b> & B", "<b>A &lt;b&gt; &amp; B</b>"},
		{"Hashtag", "#hashtag", "#hashtag"},
		{"SevenHashes", "####### seven", "####### seven"},
		{"EmptyHeading", "#\ntext", "text"},

		// Lists.
		{"Bullets", "- one\n- two\n* three\n+ four", "• one\n• two\n• three\n• four"},
		{"Numbered", "1. first\n2. second\n10) tenth", "1. first\n2. second\n10. tenth"},
		{"NestedList", "- top\n  - nested\n    - deeper\n- top again", "• top\n   ◦ nested\n      ◦ deeper\n• top again"},
		{"ListFormatting", "- **bold** item with `code`", "• <b>bold</b> item with <code>code</code>"},
		{"Tasks", "- [ ] todo\n- [x] done", "☐ todo\n☑ done"},
		{"ListAfterText", "Steps:\n1. a\n2. b", "Steps:\n1. a\n2. b"},
		{"StarItalicNotList", "*italic* start", "<i>italic</i> start"},
		{"NumberNotList", "2024 was a year", "2024 was a year"},
		{"VersionNotList", "1.5 is out", "1.5 is out"},

		// Quotes.
		{"Quote", "> quoted", "<blockquote>quoted</blockquote>"},
		{"QuoteLines", "> one\n> **two**\n>three", "<blockquote>one\n<b>two</b>\nthree</blockquote>"},
		{"QuoteNested", "> outer\n>> inner", "<blockquote>outer\ninner</blockquote>"},
		{"QuoteWithList", "> - a\n> - b", "<blockquote>• a\n• b</blockquote>"},
		{"QuoteAroundCode", "> look:\n> ```\n> x\n> ```\n> done", "<blockquote>look:</blockquote>\n<pre>x</pre>\n<blockquote>done</blockquote>"},
		{"QuoteBetween", "a\n\n> q\n\nb", "a\n\n<blockquote>q</blockquote>\n\nb"},
		{"NotQuote", "5 > 3", "5 &gt; 3"},

		// Paragraphs and rules.
		{"Paragraphs", "one\n\n\n\ntwo", "one\n\ntwo"},
		{"Trim", "\n\n  text  \n\n", "  text"},
		{"Rule", "above\n\n---\n\nbelow", "above\n\n———\n\nbelow"},
		{"RuleStars", "* * *", "———"},

		// A typical answer.
		{"Answer",
			"## Refunds\n\nYou can get a refund **within 14 days**. To ask for one:\n\n1. Open *Orders*.\n2. Pick the order & press `Refund`.\n\n> Refunds take 3–5 days.\n\nSee [the policy](https://shop.example/refunds?lang=en&v=2).",
			"<b>Refunds</b>\n\nYou can get a refund <b>within 14 days</b>. To ask for one:\n\n1. Open <i>Orders</i>.\n2. Pick the order &amp; press <code>Refund</code>.\n\n<blockquote>Refunds take 3–5 days.</blockquote>\n\nSee <a href=\"https://shop.example/refunds?lang=en&amp;v=2\">the policy</a>."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := telegram.FormatHTML(tt.md)
			if got != tt.want {
				t.Errorf("FormatHTML(%q)\n got %q\nwant %q", tt.md, got, tt.want)
			}
			if err := telegramtest.Valid(got); err != nil {
				t.Errorf("FormatHTML(%q) = %q is not valid: %v", tt.md, got, err)
			}
		})
	}
}

// hostile is Markdown meant to break out of the safelist.
var hostile = []string{
	"<img src=x onerror=alert(1)>",
	"<a href=\"javascript:alert(1)\">x</a>",
	"[x](javascript:alert(1)) [y](  javascript:alert(1)  ) [z](java\nscript:alert(1))",
	"**<i>**</i>",
	"`</code><script>`",
	"```\n</pre><script>alert(1)</script>\n```",
	"```\"onmouseover=\"x\nx\n```",
	"[<b>x</b>](https://e.com/<script>)",
	"&lt;b&gt; &#60;b&#62;",
	"> <blockquote>\n>> </blockquote>",
	"||**__~~*_`x`_*~~__**||",
	"\x00<b>\x00</b>\xff",
}

func TestFormatHTMLNeverPassesHTML(t *testing.T) {
	for _, md := range hostile {
		got := telegram.FormatHTML(md)
		if err := telegramtest.Valid(got); err != nil {
			t.Errorf("FormatHTML(%q) = %q is not valid: %v", md, got, err)
		}
		// Valid has checked the tags and attributes; the text may say
		// "javascript:", but no href.
		for _, bad := range []string{"<img", "<script", `<a href="javascript`, `<a href=" javascript`, "<blockquote><blockquote>"} {
			if strings.Contains(strings.ToLower(got), strings.ToLower(bad)) {
				t.Errorf("FormatHTML(%q) = %q contains %q", md, got, bad)
			}
		}
	}
}

func FuzzFormatHTML(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Add("# h\n\n- **a** _b_ `c`\n1. [d](https://e.com)\n> q\n```go\nx\n```\n~~s~~ ||p||")
	f.Fuzz(func(t *testing.T, md string) {
		html := telegram.FormatHTML(md)
		if err := telegramtest.Valid(html); err != nil {
			t.Fatalf("FormatHTML(%q) = %q is not valid: %v", md, html, err)
		}
		for _, part := range telegram.Split(html, 64) {
			if err := telegramtest.Valid(part); err != nil {
				t.Fatalf("Split(FormatHTML(%q), 64) part %q is not valid: %v", md, part, err)
			}
		}
	})
}
