package local

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"parley/app/provider"
)

// toolKind is what the local provider understands a tool to do.
type toolKind int

const (
	kindGeneric toolKind = iota
	kindDateTime
	kindCalculator
)

// nameWords splits a tool name into lower-case words: snake_case,
// kebab-case, dotted, spaced and camelCase names all work.
func nameWords(name string) []string {
	var (
		out  []string
		b    strings.Builder
		prev rune
	)
	flush := func() {
		if b.Len() > 0 {
			out = append(out, strings.ToLower(b.String()))
			b.Reset()
		}
	}
	for _, r := range name {
		switch {
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			flush()
			b.WriteRune(r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			flush()
		}
		prev = r
	}
	flush()
	return out
}

// kindOf classifies a tool by its name first, then its description.
func kindOf(t provider.Tool) toolKind {
	name := nameWords(t.Name)
	desc := words(t.Description)
	if hasAny(name, calcWords) {
		return kindCalculator
	}
	if hasAny(name, dateWords) {
		return kindDateTime
	}
	if hasAny(desc, calcWords) {
		return kindCalculator
	}
	if hasAny(desc, dateWords) {
		return kindDateTime
	}
	return kindGeneric
}

var (
	calcWords = toSet("arithmetic calculator calculate calculates calculation calculations calc math maths mathematical")
	dateWords = toSet("date time datetime clock today")
)

func hasAny(ws []string, set map[string]bool) bool {
	for _, w := range ws {
		if set[w] {
			return true
		}
	}
	return false
}

// asksDateTime tells whether a message asks for the date or time: "what
// date is it", "what time is it", "what's today", "what day is it". "time"
// followed by a verb ("what time does the shop open", "time to ship") is
// about something else.
func asksDateTime(msg string) bool {
	ws := words(msg)
	for i, w := range ws {
		next := ""
		if i+1 < len(ws) {
			next = ws[i+1]
		}
		switch w {
		case "date", "today", "today's", "datetime":
			return true
		case "time":
			if !timeVerbs[next] {
				return true
			}
		case "day":
			if next == "is" && i+2 < len(ws) && (ws[i+2] == "it" || ws[i+2] == "today") {
				return true
			}
			if i > 0 && (ws[i-1] == "what" || ws[i-1] == "which") {
				return true
			}
		}
	}
	return false
}

var timeVerbs = toSet("does do did will would should can could to does it take takes")

// pickTool chooses the tool a message clearly asks for, with its JSON
// arguments; ok is false when none fits. A calculator wins when the message
// holds an expression, then a date/time tool when it asks for the date or
// time, then the tool whose name's words all appear in the message (the one
// with most words when several do).
func pickTool(tools []provider.Tool, msg string) (provider.Tool, string, bool) {
	if expr, ok := findExpression(msg); ok {
		for _, t := range tools {
			if kindOf(t) == kindCalculator {
				args, _ := json.Marshal(map[string]string{argName(t, "expression"): expr})
				return t, string(args), true
			}
		}
	}
	if asksDateTime(msg) {
		for _, t := range tools {
			if kindOf(t) == kindDateTime {
				return t, "{}", true
			}
		}
	}
	have := keywords(msg)
	best, bestN := -1, 0
	for i, t := range tools {
		if !fillable(t) {
			continue // it needs arguments the message does not give (a city, say)
		}
		n := 0
		all := true
		for _, w := range nameWords(t.Name) {
			if stopWords[w] || genericVerbs[w] {
				continue
			}
			if !have[stem(w)] {
				all = false
				break
			}
			n++
		}
		if all && n > bestN {
			best, bestN = i, n
		}
	}
	if best < 0 {
		return provider.Tool{}, "", false
	}
	t := tools[best]
	args := "{}"
	if p := textParam(t); p != "" {
		b, _ := json.Marshal(map[string]string{p: msg})
		args = string(b)
	}
	return t, args, true
}

// fillable reports whether the offline provider can fill a tool's required
// arguments: it has none, or only its free-text one (which gets the message).
func fillable(t provider.Tool) bool {
	text := textParam(t)
	var req []string
	switch r := t.Parameters["required"].(type) {
	case []string:
		req = r
	case []any:
		for _, v := range r {
			if s, ok := v.(string); ok {
				req = append(req, s)
			}
		}
	}
	for _, name := range req {
		if name != text {
			return false
		}
	}
	return true
}

// genericVerbs are name words that say how, not what ("get_weather" is
// about the weather); they need not appear in the message.
var genericVerbs = toSet("get fetch run call do lookup look find query read load")

// argName returns the tool's string parameter to put the value in: want if
// the schema declares it, else its only property, else want.
func argName(t provider.Tool, want string) string {
	props, _ := t.Parameters["properties"].(map[string]any)
	if _, ok := props[want]; ok || len(props) != 1 {
		return want
	}
	for k := range props {
		return k
	}
	return want
}

// textParam names a generic tool's free-text parameter (query, question…),
// which gets the user's message; "" when it has none.
func textParam(t provider.Tool) string {
	props, _ := t.Parameters["properties"].(map[string]any)
	for _, k := range []string{"query", "q", "question", "text", "input", "message", "search"} {
		if _, ok := props[k]; ok {
			return k
		}
	}
	return ""
}

// weave turns the tool results of this turn into an answer.
func weave(req provider.Request, results []provider.Message) string {
	calls := map[string]provider.ToolCall{}
	for _, m := range req.Messages {
		for _, c := range m.ToolCalls {
			calls[c.ID] = c
		}
	}
	defs := map[string]provider.Tool{}
	for _, t := range req.Tools {
		defs[t.Name] = t
	}
	var parts []string
	for _, m := range results {
		call := calls[m.ToolCallID]
		name := m.Name
		if name == "" {
			name = call.Name
		}
		def, ok := defs[name]
		if !ok {
			def = provider.Tool{Name: name}
		}
		var args map[string]any
		_ = json.Unmarshal([]byte(call.Arguments), &args)
		expr, _ := args[argName(def, "expression")].(string)
		result := strings.TrimSpace(m.Content)
		label := strings.Join(nameWords(name), " ")
		if label == "" {
			label = "requested"
		}
		if msg, failed := toolError(result); failed {
			parts = append(parts, endSentence(fmt.Sprintf("Sorry, the %s ability failed: %s", label, msg)))
			continue
		}
		result = unwrapResult(result)
		switch {
		case result == "":
			parts = append(parts, fmt.Sprintf("The %s ability returned nothing.", label))
		case kindOf(def) == kindCalculator && expr != "":
			parts = append(parts, fmt.Sprintf("%s = %s.", expr, strings.TrimSuffix(result, ".")))
		case kindOf(def) == kindDateTime:
			parts = append(parts, fmt.Sprintf("The current date and time is %s.", strings.TrimSuffix(result, ".")))
		default:
			parts = append(parts, endSentence(fmt.Sprintf("Here is the result of %s: %s", label, result)))
		}
	}
	return strings.Join(parts, " ")
}

// toolError recognises a failed tool run: content starting with "error:",
// or a JSON object with only an "error" field.
func toolError(s string) (string, bool) {
	if len(s) >= 6 && strings.EqualFold(s[:6], "error:") {
		return strings.TrimSpace(s[6:]), true
	}
	var obj map[string]any
	if json.Unmarshal([]byte(s), &obj) == nil && len(obj) == 1 {
		if e, ok := obj["error"]; ok {
			if es, ok := e.(string); ok {
				return es, true
			}
			b, _ := json.Marshal(e)
			return string(b), true
		}
	}
	return "", false
}

// unwrapResult takes the value out of a JSON result that carries one
// ({"result": 84}, "text"), and leaves anything else as it is.
func unwrapResult(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case map[string]any:
		for _, k := range []string{"result", "value", "output", "datetime", "answer", "text"} {
			if r, ok := x[k]; ok && scalar(r) {
				return fmt.Sprint(r)
			}
		}
		if len(x) == 1 {
			for _, r := range x {
				if scalar(r) {
					return fmt.Sprint(r)
				}
			}
		}
	}
	return s
}

func scalar(v any) bool {
	switch v.(type) {
	case string, float64, bool, json.Number:
		return true
	}
	return false
}

// An expression token: a number, an operator, a parenthesis.
type exprToken struct {
	kind  byte   // 'n' number, 'o' binary operator, '(' , ')', '%' percent, 'f' "% of", '-' minus (binary or unary)
	text  string // the number or operator as rendered
	space bool   // whitespace came before it in the message
}

const maxExprTokens = 48

// findExpression extracts the longest arithmetic expression in a message,
// in a plain form any calculator parses: "12*7" → "12 * 7", "15% of 80" →
// "(15 / 100) * 80", "3 plus 4" → "3 + 4". Dates and phone-like numbers
// ("2024-01-05", "555-1234") are not expressions.
func findExpression(msg string) (string, bool) {
	best := ""
	bestLen := 0
	var segs [][]exprToken
	for _, seg := range exprSegments(msg) {
		segs = append(segs, splitDates(seg)...)
	}
	for _, seg := range segs {
		if len(seg) > maxExprTokens {
			seg = seg[:maxExprTokens]
		}
		for i := range seg {
			for j := len(seg); j-i > bestLen; j-- {
				if validExpr(seg[i:j]) {
					best, bestLen = renderExpr(seg[i:j]), j-i
					break
				}
			}
		}
	}
	return best, best != ""
}

// exprSegments tokenises msg into runs of expression tokens separated by
// anything that cannot be part of an expression.
func exprSegments(msg string) [][]exprToken {
	var (
		segs  [][]exprToken
		cur   []exprToken
		space bool
	)
	cut := func() {
		if len(cur) > 0 {
			segs = append(segs, cur)
			cur = nil
		}
	}
	add := func(t exprToken) {
		t.space = space
		cur = append(cur, t)
		space = false
	}
	rs := []rune(msg)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			space = true
		case unicode.IsDigit(r) || (r == '.' && i+1 < len(rs) && unicode.IsDigit(rs[i+1])):
			j := i
			var b strings.Builder
			for j < len(rs) {
				c := rs[j]
				if unicode.IsDigit(c) {
					b.WriteRune(c)
				} else if (c == '.' || c == ',') && j+1 < len(rs) && unicode.IsDigit(rs[j+1]) && !(c == ',' && strings.Contains(b.String(), ".")) {
					if c == '.' {
						b.WriteRune(c)
					}
				} else {
					break
				}
				j++
			}
			add(exprToken{kind: 'n', text: b.String()})
			i = j - 1
		case strings.ContainsRune("+*/^×÷", r):
			op := map[rune]string{'+': "+", '*': "*", '/': "/", '^': "^", '×': "*", '÷': "/"}[r]
			if r == '*' && i+1 < len(rs) && rs[i+1] == '*' {
				op = "^"
				i++
			}
			add(exprToken{kind: 'o', text: op})
		case r == '-' || r == '−':
			add(exprToken{kind: '-', text: "-"})
		case r == '(' || r == ')':
			add(exprToken{kind: byte(r), text: string(r)})
		case r == '%':
			add(exprToken{kind: '%', text: "%"})
		case unicode.IsLetter(r):
			j := i
			for j < len(rs) && unicode.IsLetter(rs[j]) {
				j++
			}
			w := strings.ToLower(string(rs[i:j]))
			nextWord := ""
			k := j
			for k < len(rs) && unicode.IsSpace(rs[k]) {
				k++
			}
			e := k
			for e < len(rs) && unicode.IsLetter(rs[e]) {
				e++
			}
			nextWord = strings.ToLower(string(rs[k:e]))
			switch {
			case w == "plus":
				add(exprToken{kind: 'o', text: "+"})
			case w == "minus":
				add(exprToken{kind: '-', text: "-"})
			case w == "times" || w == "x":
				add(exprToken{kind: 'o', text: "*"})
			case (w == "multiplied" || w == "divided") && nextWord == "by":
				op := "*"
				if w == "divided" {
					op = "/"
				}
				add(exprToken{kind: 'o', text: op})
				j = e
			case w == "percent" || w == "pct":
				add(exprToken{kind: '%', text: "%"})
			case w == "of" && len(cur) > 0 && cur[len(cur)-1].kind == '%':
				cur[len(cur)-1].kind = 'f'
			default:
				cut()
			}
			space = false
			i = j - 1
		default:
			cut()
			space = false
		}
	}
	cut()
	return segs
}

// validExpr parses toks as a whole expression with at least one operator:
//
//	expr    = unary { op unary }
//	unary   = "-" unary | primary
//	primary = number [ "%" | "% of" unary ] | "(" expr ")"
func validExpr(toks []exprToken) bool {
	p := exprParser{toks: toks}
	if !p.expr() || p.pos != len(toks) {
		return false
	}
	return p.ops > 0
}

type exprParser struct {
	toks []exprToken
	pos  int
	ops  int
}

func (p *exprParser) peek() byte {
	if p.pos < len(p.toks) {
		return p.toks[p.pos].kind
	}
	return 0
}

func (p *exprParser) expr() bool {
	if !p.unary() {
		return false
	}
	for k := p.peek(); k == 'o' || k == '-'; k = p.peek() {
		p.pos++
		p.ops++
		if !p.unary() {
			return false
		}
	}
	return true
}

func (p *exprParser) unary() bool {
	if p.peek() == '-' {
		p.pos++
		return p.unary()
	}
	switch p.peek() {
	case 'n':
		p.pos++
		switch p.peek() {
		case '%':
			p.pos++
			p.ops++
		case 'f':
			p.pos++
			p.ops++
			return p.unary()
		}
		return true
	case '(':
		p.pos++
		if !p.expr() || p.peek() != ')' {
			return false
		}
		p.pos++
		return true
	}
	return false
}

// splitDates cuts date-like chains out of a segment: numbers joined without
// spaces by '-' (2024-01-05, 555-1234, 555-123-4567) or by '/' three times
// (05/01/2024). "12-7" stays an expression.
func splitDates(seg []exprToken) [][]exprToken {
	var (
		out  [][]exprToken
		from int
	)
	for i := 0; i < len(seg); i++ {
		if seg[i].kind != 'n' {
			continue
		}
		j := i
		sep := ""
		for j+2 < len(seg) && (seg[j+1].kind == '-' || seg[j+1].text == "/") && seg[j+2].kind == 'n' &&
			!seg[j+1].space && !seg[j+2].space && (sep == "" || seg[j+1].text == sep) {
			sep = seg[j+1].text
			j += 2
		}
		if j == i {
			continue
		}
		nums := (j-i)/2 + 1
		dateLike := nums >= 3
		if sep == "-" {
			for k := i; k <= j; k += 2 {
				if t := seg[k].text; len(t) >= 4 || (len(t) > 1 && t[0] == '0') {
					dateLike = true
				}
			}
		}
		if dateLike {
			if i > from {
				out = append(out, seg[from:i])
			}
			from = j + 1
		}
		i = j
	}
	if from < len(seg) {
		out = append(out, seg[from:])
	}
	return out
}

func renderExpr(toks []exprToken) string {
	var b strings.Builder
	for i, t := range toks {
		unaryMinus := t.kind == '-' && (i == 0 || (toks[i-1].kind != 'n' && toks[i-1].kind != ')' && toks[i-1].kind != '%'))
		switch {
		case t.kind == 'n' && i+1 < len(toks) && (toks[i+1].kind == '%' || toks[i+1].kind == 'f'):
			b.WriteString("(" + t.text + " / 100)")
		case t.kind == '%':
		case t.kind == 'f':
			b.WriteString(" * ")
		case unaryMinus:
			b.WriteString("-")
		case t.kind == 'o' || t.kind == '-':
			b.WriteString(" " + t.text + " ")
		default:
			b.WriteString(t.text)
		}
	}
	return b.String()
}
