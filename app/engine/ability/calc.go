package ability

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxExpression bounds the length of a calculator expression, in characters.
const MaxExpression = 200

// Calculate evaluates one arithmetic expression, without eval: numbers
// (decimals, 1e3), + - * / ^ (power, right-associative, tighter than unary
// minus: -2^2 is -4), parentheses, unary minus and plus, % as modulo between
// two operands ("10 % 3" is 1) and as a percentage after one ("15%" is 0.15,
// "200 * 15%" is 30, "15% of 80" is 12). A % followed by another operator or
// the end is a percentage. × ÷ − and ** are accepted for * / - and ^.
// Division or modulo by zero, a non-finite result and malformed or over-long
// input are errors that say where.
func Calculate(expr string) (float64, error) {
	if n := utf8.RuneCountInString(expr); n > MaxExpression {
		return 0, fmt.Errorf("the expression is %d characters long; at most %d are allowed", n, MaxExpression)
	}
	toks, err := tokenize(expr)
	if err != nil {
		return 0, err
	}
	if len(toks) == 1 { // just the end
		return 0, errors.New("the expression is empty")
	}
	p := &calcParser{toks: toks}
	v, _, err := p.sum()
	if err != nil {
		return 0, err
	}
	if t := p.peek(); t.kind != tokEnd {
		return 0, fmt.Errorf("unexpected %s at position %d", t, t.pos)
	}
	switch {
	case math.IsNaN(v):
		return 0, errors.New("the result is undefined")
	case math.IsInf(v, 0):
		return 0, errors.New("the result is too large")
	}
	return v, nil
}

// FormatNumber renders a result rounded to 12 significant digits, without
// trailing zeros or an exponent: 12, 0.3 (not 0.30000000000000004), 3.33333333333.
func FormatNumber(v float64) string {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		r = v
	}
	if r == 0 {
		return "0" // also for -0
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

type tokKind int

const (
	tokEnd tokKind = iota
	tokNum
	tokOp // one of + - * / % ^ ( )
	tokOf
)

type token struct {
	kind tokKind
	op   rune
	num  float64
	text string
	pos  int // 1-based character position
}

func (t token) String() string {
	switch t.kind {
	case tokEnd:
		return "end of expression"
	case tokOf:
		return `"of"`
	default:
		return fmt.Sprintf("%q", t.text)
	}
}

func tokenize(expr string) ([]token, error) {
	rs := []rune(expr)
	var toks []token
	for i := 0; i < len(rs); {
		r := rs[i]
		pos := i + 1
		switch {
		case unicode.IsSpace(r):
			i++
		case r >= '0' && r <= '9' || r == '.':
			j := i
			for j < len(rs) && (rs[j] >= '0' && rs[j] <= '9' || rs[j] == '.') {
				j++
			}
			// an exponent: e or E, an optional sign, digits
			if j < len(rs) && (rs[j] == 'e' || rs[j] == 'E') {
				k := j + 1
				if k < len(rs) && (rs[k] == '+' || rs[k] == '-') {
					k++
				}
				if k < len(rs) && rs[k] >= '0' && rs[k] <= '9' {
					for k < len(rs) && rs[k] >= '0' && rs[k] <= '9' {
						k++
					}
					j = k
				}
			}
			text := string(rs[i:j])
			v, err := strconv.ParseFloat(text, 64)
			if err != nil || strings.Count(text, ".") > 1 {
				return nil, fmt.Errorf("%q at position %d is not a number", text, pos)
			}
			toks = append(toks, token{kind: tokNum, num: v, text: text, pos: pos})
			i = j
		case unicode.IsLetter(r):
			j := i
			for j < len(rs) && unicode.IsLetter(rs[j]) {
				j++
			}
			word := string(rs[i:j])
			if strings.ToLower(word) != "of" {
				return nil, fmt.Errorf("unknown word %q at position %d; only numbers, + - * / %% ^, parentheses and \"of\" (as in 15%% of 80) are allowed", word, pos)
			}
			toks = append(toks, token{kind: tokOf, text: word, pos: pos})
			i = j
		default:
			op := r
			n := 1
			switch r {
			case '+', '-', '/', '%', '^', '(', ')':
			case '*':
				if i+1 < len(rs) && rs[i+1] == '*' {
					op, n = '^', 2
				}
			case '×':
				op = '*'
			case '÷':
				op = '/'
			case '−':
				op = '-'
			default:
				return nil, fmt.Errorf("unexpected character %q at position %d", string(r), pos)
			}
			toks = append(toks, token{kind: tokOp, op: op, text: string(rs[i : i+n]), pos: pos})
			i += n
		}
	}
	return append(toks, token{kind: tokEnd, pos: len(rs) + 1}), nil
}

// calcParser is a recursive-descent parser that evaluates as it goes:
//
//	sum     = product { ("+" | "-") product }
//	product = unary { ("*" | "/" | "%" | "of") unary }   // "of" only after a percentage
//	unary   = ("-" | "+") unary | power
//	power   = postfix [ "^" unary ]
//	postfix = primary [ "%" ]                            // when no operand follows
//	primary = number | "(" sum ")"
//
// Each level also reports whether its value ended in a percentage.
type calcParser struct {
	toks  []token
	pos   int
	depth int
}

// maxDepth bounds nesting (parentheses and unary signs).
const maxDepth = 100

func (p *calcParser) peek() token { return p.toks[p.pos] }

func (p *calcParser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEnd {
		p.pos++
	}
	return t
}

func (p *calcParser) isOp(r rune) bool {
	t := p.peek()
	return t.kind == tokOp && t.op == r
}

func (p *calcParser) sum() (float64, bool, error) {
	v, pct, err := p.product()
	if err != nil {
		return 0, false, err
	}
	for p.isOp('+') || p.isOp('-') {
		op := p.next().op
		r, rpct, err := p.product()
		if err != nil {
			return 0, false, err
		}
		if op == '+' {
			v += r
		} else {
			v -= r
		}
		pct = rpct
	}
	return v, pct, nil
}

func (p *calcParser) product() (float64, bool, error) {
	v, pct, err := p.unary()
	if err != nil {
		return 0, false, err
	}
	for {
		t := p.peek()
		isOf := t.kind == tokOf
		if !isOf && !(t.kind == tokOp && (t.op == '*' || t.op == '/' || t.op == '%')) {
			return v, pct, nil
		}
		if isOf && !pct {
			return 0, false, fmt.Errorf("\"of\" at position %d must follow a percentage, as in 15%% of 80", t.pos)
		}
		p.next()
		r, rpct, err := p.unary()
		if err != nil {
			return 0, false, err
		}
		switch {
		case isOf, t.op == '*':
			v *= r
		case t.op == '/':
			if r == 0 {
				return 0, false, fmt.Errorf("division by zero at position %d", t.pos)
			}
			v /= r
		case t.op == '%':
			if r == 0 {
				return 0, false, fmt.Errorf("modulo by zero at position %d", t.pos)
			}
			v = math.Mod(v, r)
		}
		pct = rpct
	}
}

func (p *calcParser) unary() (float64, bool, error) {
	if p.isOp('-') || p.isOp('+') {
		t := p.next()
		if p.depth++; p.depth > maxDepth {
			return 0, false, fmt.Errorf("the expression is nested too deeply at position %d", t.pos)
		}
		v, pct, err := p.unary()
		p.depth--
		if t.op == '-' {
			v = -v
		}
		return v, pct, err
	}
	return p.power()
}

func (p *calcParser) power() (float64, bool, error) {
	v, pct, err := p.postfix()
	if err != nil || !p.isOp('^') {
		return v, pct, err
	}
	p.next()
	e, _, err := p.unary()
	if err != nil {
		return 0, false, err
	}
	return math.Pow(v, e), false, nil
}

func (p *calcParser) postfix() (float64, bool, error) {
	v, err := p.primary()
	if err != nil {
		return 0, false, err
	}
	if p.isOp('%') {
		after := p.toks[p.pos+1]
		if after.kind != tokNum && !(after.kind == tokOp && after.op == '(') {
			p.next()
			return v / 100, true, nil
		}
	}
	return v, false, nil
}

func (p *calcParser) primary() (float64, error) {
	t := p.next()
	switch {
	case t.kind == tokNum:
		return t.num, nil
	case t.kind == tokOp && t.op == '(':
		if p.depth++; p.depth > maxDepth {
			return 0, fmt.Errorf("the expression is nested too deeply at position %d", t.pos)
		}
		v, _, err := p.sum()
		p.depth--
		if err != nil {
			return 0, err
		}
		if !p.isOp(')') {
			return 0, fmt.Errorf("missing \")\" for the \"(\" at position %d", t.pos)
		}
		p.next()
		return v, nil
	case t.kind == tokEnd:
		return 0, errors.New("the expression ends where a number was expected")
	default:
		return 0, fmt.Errorf("expected a number at position %d, found %s", t.pos, t)
	}
}
