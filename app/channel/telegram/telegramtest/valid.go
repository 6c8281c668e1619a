package telegramtest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Valid checks that html is text Telegram's HTML parse mode accepts, more
// strictly than Telegram itself, so that tests catch what Telegram would
// refuse or quietly drop:
//   - tags are only b, strong, i, em, u, ins, s, strike, del, tg-spoiler,
//     span class="tg-spoiler", a href, code, pre, pre > code
//     class="language-…", blockquote [expandable] and tg-emoji emoji-id,
//     with no other attributes;
//   - every tag is closed, in order;
//   - nesting is as Telegram's formatting options allow: nothing inside
//     code or pre (but one code in a pre), no link, code or pre inside a
//     link, no blockquote inside a blockquote, and no pre inside one;
//   - <, > and & appear only as tags and entities, and entities are &lt;,
//     &gt;, &amp;, &quot; or numeric.
//
// It says where the first fault is.
func Valid(html string) error {
	var stack []element
	for i := 0; i < len(html); {
		switch html[i] {
		case '<':
			t, n, err := readTag(html[i:])
			if err != nil {
				return fmt.Errorf("byte %d: %w", i, err)
			}
			if t.closing {
				if len(stack) == 0 {
					return fmt.Errorf("byte %d: </%s> closes no tag", i, t.name)
				}
				top := stack[len(stack)-1]
				if top.name != t.name {
					return fmt.Errorf("byte %d: </%s> closes <%s>", i, t.name, top.name)
				}
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].name == "pre" {
					stack[len(stack)-1].done = true // nothing after a pre's code
				}
			} else {
				if err := allowed(t, stack); err != nil {
					return fmt.Errorf("byte %d: %w", i, err)
				}
				markContent(stack)
				stack = append(stack, element{name: t.name})
			}
			i += n
		case '>':
			return fmt.Errorf("byte %d: a bare > (write &gt;)", i)
		case '&':
			n, err := readEntity(html[i:])
			if err != nil {
				return fmt.Errorf("byte %d: %w", i, err)
			}
			if err := textAllowed(stack); err != nil {
				return fmt.Errorf("byte %d: %w", i, err)
			}
			markContent(stack)
			i += n
		default:
			r, n := utf8.DecodeRuneInString(html[i:])
			if r == utf8.RuneError && n == 1 {
				return fmt.Errorf("byte %d: not UTF-8", i)
			}
			if r != ' ' && r != '\n' && r != '\t' {
				if err := textAllowed(stack); err != nil {
					return fmt.Errorf("byte %d: %w", i, err)
				}
				markContent(stack)
			}
			i += n
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("<%s> is not closed", stack[len(stack)-1].name)
	}
	return nil
}

// element is an open tag; content says text or a tag came inside it, done
// that a pre's code has ended.
type element struct {
	name    string
	content bool
	done    bool
}

func markContent(stack []element) {
	if len(stack) > 0 {
		stack[len(stack)-1].content = true
	}
}

func textAllowed(stack []element) error {
	if len(stack) > 0 {
		if top := stack[len(stack)-1]; top.name == "pre" && top.done {
			return fmt.Errorf("text after the <code> of a <pre>")
		}
	}
	return nil
}

type tag struct {
	name    string
	closing bool
	attrs   map[string]string
}

func inside(stack []element, names ...string) string {
	for _, e := range stack {
		for _, n := range names {
			if e.name == n {
				return n
			}
		}
	}
	return ""
}

// allowed checks an opening tag against the safelist and the nesting rules.
func allowed(t tag, stack []element) error {
	var parent string
	if len(stack) > 0 {
		parent = stack[len(stack)-1].name
	}
	attrs := func(names ...string) error {
		for a := range t.attrs {
			ok := false
			for _, n := range names {
				ok = ok || a == n
			}
			if !ok {
				return fmt.Errorf("<%s> has an attribute %q Telegram does not support", t.name, a)
			}
		}
		return nil
	}
	if parent == "code" {
		return fmt.Errorf("<%s> inside <code>: code contains text only", t.name)
	}
	if parent == "pre" {
		if t.name != "code" || stack[len(stack)-1].content {
			return fmt.Errorf("<%s> inside <pre>: a pre contains text or one <code>", t.name)
		}
		if err := attrs("class"); err != nil {
			return err
		}
		if c, ok := t.attrs["class"]; ok && (!strings.HasPrefix(c, "language-") || len(c) == len("language-")) {
			return fmt.Errorf(`<code class=%q>: the class must be "language-…"`, c)
		}
		return nil
	}
	switch t.name {
	case "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler":
		return attrs()
	case "span":
		if t.attrs["class"] != "tg-spoiler" {
			return fmt.Errorf(`<span> without class="tg-spoiler"`)
		}
		return attrs("class")
	case "a":
		if in := inside(stack, "a"); in != "" {
			return fmt.Errorf("<a> inside <a>")
		}
		if strings.TrimSpace(t.attrs["href"]) == "" {
			return fmt.Errorf("<a> without href")
		}
		return attrs("href")
	case "code":
		if in := inside(stack, "a"); in != "" {
			return fmt.Errorf("<code> inside <a>")
		}
		if _, ok := t.attrs["class"]; ok {
			return fmt.Errorf("<code class> outside <pre>: a language is given to a pre's code only")
		}
		return attrs()
	case "pre":
		if in := inside(stack, "a", "blockquote"); in != "" {
			return fmt.Errorf("<pre> inside <%s>", in)
		}
		return attrs()
	case "blockquote":
		if in := inside(stack, "blockquote", "a"); in != "" {
			return fmt.Errorf("<blockquote> inside <%s>: blockquotes do not nest", in)
		}
		return attrs("expandable")
	case "tg-emoji":
		id := t.attrs["emoji-id"]
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return fmt.Errorf("<tg-emoji> without a numeric emoji-id")
		}
		return attrs("emoji-id")
	}
	return fmt.Errorf("<%s> is not a tag Telegram supports", t.name)
}

// readTag reads the tag at the start of s, attributes included.
func readTag(s string) (tag, int, error) {
	i := 1
	t := tag{attrs: map[string]string{}}
	if i < len(s) && s[i] == '/' {
		t.closing = true
		i++
	}
	start := i
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	if i == start {
		return t, 0, fmt.Errorf("a bare < (write &lt;)")
	}
	t.name = strings.ToLower(s[start:i])
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return t, 0, fmt.Errorf("<%s is not closed by >", t.name)
		}
		if s[i] == '>' {
			return t, i + 1, nil
		}
		if t.closing {
			return t, 0, fmt.Errorf("</%s> has attributes", t.name)
		}
		as := i
		for i < len(s) && isNameByte(s[i]) {
			i++
		}
		if i == as {
			return t, 0, fmt.Errorf("<%s> has a malformed attribute at %q", t.name, clip(s[i:]))
		}
		name := strings.ToLower(s[as:i])
		value := ""
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i >= len(s) {
				return t, 0, fmt.Errorf("<%s is not closed by >", t.name)
			}
			if q := s[i]; q == '"' || q == '\'' {
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					return t, 0, fmt.Errorf("<%s %s=…> has an unclosed quote", t.name, name)
				}
				value = s[i+1 : i+1+end]
				i += end + 2
			} else {
				vs := i
				for i < len(s) && !isSpace(s[i]) && s[i] != '>' {
					i++
				}
				value = s[vs:i]
			}
			if strings.ContainsAny(value, "<") {
				return t, 0, fmt.Errorf("<%s %s=…> has a < in its value", t.name, name)
			}
			decoded, err := decodeEntities(value)
			if err != nil {
				return t, 0, fmt.Errorf("<%s %s=…>: %w", t.name, name, err)
			}
			value = decoded
		}
		if _, dup := t.attrs[name]; dup {
			return t, 0, fmt.Errorf("<%s> repeats the attribute %s", t.name, name)
		}
		t.attrs[name] = value
	}
}

// readEntity reads the entity at the start of s.
func readEntity(s string) (int, error) {
	end := strings.IndexByte(s, ';')
	if end < 0 || end > 12 {
		return 0, fmt.Errorf("a bare & (write &amp;)")
	}
	body := s[1:end]
	switch body {
	case "lt", "gt", "amp", "quot":
		return end + 1, nil
	}
	if strings.HasPrefix(body, "#") {
		num, base := body[1:], 10
		if strings.HasPrefix(num, "x") || strings.HasPrefix(num, "X") {
			num, base = num[1:], 16
		}
		v, err := strconv.ParseUint(num, base, 32)
		if err != nil || num == "" || strings.ContainsAny(num, "+-") {
			return 0, fmt.Errorf("&%s; is not a number", body)
		}
		if v == 0 || v > utf8.MaxRune || v >= 0xD800 && v <= 0xDFFF {
			return 0, fmt.Errorf("&%s; is not a character", body)
		}
		return end + 1, nil
	}
	for i := 0; i < len(body); i++ {
		if !isNameByte(body[i]) {
			return 0, fmt.Errorf("a bare & (write &amp;)")
		}
	}
	return 0, fmt.Errorf("&%s; is not an entity Telegram supports (only &lt; &gt; &amp; &quot; and numeric ones)", body)
}

// decodeEntities decodes the entities of an attribute's value or of text.
func decodeEntities(s string) (string, error) {
	if !strings.Contains(s, "&") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '&' {
			b.WriteByte(s[i])
			i++
			continue
		}
		n, err := readEntity(s[i:])
		if err != nil {
			return "", err
		}
		b.WriteString(entityText(s[i+1 : i+n-1]))
		i += n
	}
	return b.String(), nil
}

// entityText is the text of a valid entity's body ("amp", "#169").
func entityText(body string) string {
	switch body {
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "amp":
		return "&"
	case "quot":
		return `"`
	}
	num, base := body[1:], 10
	if strings.HasPrefix(num, "x") || strings.HasPrefix(num, "X") {
		num, base = num[1:], 16
	}
	v, _ := strconv.ParseUint(num, base, 32)
	return string(rune(v))
}

// PlainText is the text of valid HTML as Telegram shows it: tags gone,
// entities decoded. Telegram's limits (MaxMessageLength) count this text.
func PlainText(html string) (string, error) {
	if err := Valid(html); err != nil {
		return "", err
	}
	var b strings.Builder
	for i := 0; i < len(html); {
		switch html[i] {
		case '<':
			_, n, _ := readTag(html[i:])
			i += n
		case '&':
			n, _ := readEntity(html[i:])
			b.WriteString(entityText(html[i+1 : i+n-1]))
			i += n
		default:
			b.WriteByte(html[i])
			i++
		}
	}
	return b.String(), nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}
