// Package redact replaces personal data in a user's message — email
// addresses, phone numbers, payment card numbers and IBANs — with typed
// placeholders ([email], [phone], [card], [iban]), so that a bot with privacy
// on neither stores them nor sends them to a model.
//
// Every function is pure. The detectors prefer missing an odd format to
// redacting what is not personal data: card numbers must pass the Luhn check
// and look like a card (issuer digit 2–6, grouped as cards are printed);
// IBANs must have their country's length and a valid mod-97 check; phone
// numbers must be international (+ or 00), North American (area code and
// exchange, separated), or national with a trunk 0 — and dates, times,
// prices, version strings, IP addresses and numbers after words such as
// "order" or "invoice" are left alone.
package redact

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is a kind of personal data.
type Kind string

// The kinds of personal data Text replaces.
const (
	Email Kind = "email"
	Phone Kind = "phone"
	Card  Kind = "card"
	IBAN  Kind = "iban"
)

// Kinds lists every kind, in the order Text looks for them (emails and
// IBANs first, so that the digits inside them are not taken for a card or a
// phone number).
var Kinds = []Kind{Email, IBAN, Card, Phone}

// Placeholder is the text that replaces an item of the kind, e.g. "[email]".
func (k Kind) Placeholder() string { return "[" + string(k) + "]" }

// Result is redacted text and how many items of each kind were replaced.
type Result struct {
	Text   string
	Counts map[Kind]int
}

// Count is the number of items replaced.
func (r Result) Count() int {
	n := 0
	for _, c := range r.Counts {
		n += c
	}
	return n
}

// Text replaces the personal data in s with placeholders.
func Text(s string) Result {
	res := Result{Text: s, Counts: map[Kind]int{}}
	for _, k := range Kinds {
		spans := finders[k](res.Text)
		if len(spans) == 0 {
			continue
		}
		res.Counts[k] += len(spans)
		res.Text = replace(res.Text, spans, k.Placeholder())
	}
	return res
}

// Placeholders counts the placeholders in text redacted before, for a turn
// that answers a message stored earlier (it may count one the user typed).
func Placeholders(s string) int {
	n := 0
	for _, k := range Kinds {
		n += strings.Count(s, k.Placeholder())
	}
	return n
}

// span is a byte range [start, end) of the text.
type span struct{ start, end int }

var finders = map[Kind]func(string) []span{
	Email: findEmails,
	IBAN:  findIBANs,
	Card:  findCards,
	Phone: findPhones,
}

func replace(s string, spans []span, with string) string {
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.start])
		b.WriteString(with)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// ---- email ----

// emailRe is an address as people write it: a local part of letters,
// digits and ._%+- (dots not first, last or doubled), @, and a domain of
// labels ending in a top-level domain of two letters or more.
var emailRe = regexp.MustCompile(`[\p{L}\p{N}_%+\-]+(?:\.[\p{L}\p{N}_%+\-]+)*@(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?\.)+\p{L}{2,}`)

func findEmails(s string) []span {
	var out []span
	for _, loc := range emailRe.FindAllStringIndex(s, -1) {
		out = append(out, span{loc[0], loc[1]})
	}
	return out
}

// ---- IBAN ----

// ibanLengths is the length of an IBAN in each country that issues them
// (SWIFT's IBAN registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
	"BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
	"EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
	"GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
	"JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
	"MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
	"NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
	"SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

// ibanStart is where an IBAN may begin: a country code and check digits.
var ibanStart = regexp.MustCompile(`\b[A-Za-z]{2}[0-9]{2}`)

// findIBANs reads, from each possible start, the letters and digits that
// follow (in one run, or in groups separated by single spaces) and keeps the
// longest prefix, ending at a group's end, that is a valid IBAN.
func findIBANs(s string) []span {
	var out []span
	next := 0
	for _, loc := range ibanStart.FindAllStringIndex(s, -1) {
		start := loc[0]
		if start < next {
			continue
		}
		var ends []int
		n, i := 0, start
		for {
			j := i
			for j < len(s) && isASCIIAlnum(s[j]) {
				j++
			}
			n += j - i
			if n > 34 {
				break
			}
			ends = append(ends, j)
			if j+1 < len(s) && s[j] == ' ' && isASCIIAlnum(s[j+1]) {
				i = j + 1
				continue
			}
			break
		}
		for k := len(ends) - 1; k >= 0; k-- {
			if validIBAN(strings.ReplaceAll(s[start:ends[k]], " ", "")) {
				out = append(out, span{start, ends[k]})
				next = ends[k]
				break
			}
		}
	}
	return out
}

// validIBAN checks a compact IBAN's country, length and mod-97 check digits.
func validIBAN(iban string) bool {
	iban = strings.ToUpper(iban)
	if len(iban) < 15 || ibanLengths[iban[:2]] != len(iban) {
		return false
	}
	rem := 0
	for _, c := range iban[4:] + iban[:4] {
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// ---- digit groups (cards and phone numbers) ----

// group is one run of ASCII digits, at [start, end).
type group struct{ start, end int }

// digitSequences splits s's digit runs into sequences whose runs are joined
// by gaps that joins accepts.
func digitSequences(s string, joins func(gap string) bool) [][]group {
	var (
		out [][]group
		cur []group
	)
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		g := group{i, j}
		if len(cur) > 0 && !joins(s[cur[len(cur)-1].end:i]) {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, g)
		i = j
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// maxGroups bounds the groups one card or phone number is written in.
const maxGroups = 8

// findGrouped finds, in each sequence, the leftmost and then longest runs of
// groups that valid accepts (it returns the item's span), and continues
// after each one found. A sequence glued to a letter at either end is part of
// a code ("DE88 3704 0044…", "X7 4111…Z") and holds no card or phone number.
func findGrouped(s string, joins func(string) bool, valid func(s string, gs []group) (span, bool)) []span {
	var out []span
	for _, seq := range digitSequences(s, joins) {
		if unicode.IsLetter(prevRune(s, seq[0].start)) || unicode.IsLetter(nextRune(s, seq[len(seq)-1].end)) {
			continue
		}
		for a := 0; a < len(seq); a++ {
			for b := min(len(seq), a+maxGroups); b > a; b-- {
				if sp, ok := valid(s, seq[a:b]); ok {
					out = append(out, sp)
					a = b - 1
					break
				}
			}
		}
	}
	return out
}

func digitsOf(s string, gs []group) string {
	var b strings.Builder
	for _, g := range gs {
		b.WriteString(s[g.start:g.end])
	}
	return b.String()
}

// gaps returns the text between consecutive groups.
func gaps(s string, gs []group) []string {
	var out []string
	for i := 1; i < len(gs); i++ {
		out = append(out, s[gs[i-1].end:gs[i].start])
	}
	return out
}

// ---- card ----

func findCards(s string) []span {
	return findGrouped(s, func(gap string) bool { return gap == " " || gap == "-" }, validCard)
}

// validCard accepts 13 to 19 digits starting with an issuer digit (2–6)
// that pass the Luhn check, written in one run, or in groups of four (the
// last may be shorter), or 4-6-5 / 4-6-4 (American Express, Diners), with
// one kind of separator.
func validCard(s string, gs []group) (span, bool) {
	sp := span{gs[0].start, gs[len(gs)-1].end}
	digits := digitsOf(s, gs)
	if len(digits) < 13 || len(digits) > 19 || digits[0] < '2' || digits[0] > '6' || !luhn(digits) {
		return sp, false
	}
	if !separated(s, sp) || prevRune(s, sp.start) == '+' {
		return sp, false
	}
	seps := gaps(s, gs)
	for _, g := range seps {
		if g != seps[0] {
			return sp, false
		}
	}
	lens := make([]int, len(gs))
	for i, g := range gs {
		lens[i] = g.end - g.start
	}
	return sp, cardGrouping(lens)
}

func cardGrouping(lens []int) bool {
	if len(lens) == 1 {
		return true
	}
	if len(lens) == 3 && lens[0] == 4 && lens[1] == 6 && (lens[2] == 5 || lens[2] == 4) {
		return true
	}
	for i, n := range lens {
		last := i == len(lens)-1
		if (!last && n != 4) || (last && (n < 1 || n > 4)) {
			return false
		}
	}
	return true
}

// luhn is the check digit algorithm of payment card numbers.
func luhn(digits string) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ---- phone ----

func findPhones(s string) []span {
	return findGrouped(s, phoneGap, validPhone)
}

// phoneGap accepts what joins the digit groups of a phone number: a space,
// dash, dot or slash (at most one of those three), parentheses around an
// area code, and spaces around them: "-", " ", ") ", " (", " / ".
func phoneGap(gap string) bool {
	if gap == "" || len(gap) > 3 {
		return false
	}
	marks, spaces, open, closing := 0, 0, 0, 0
	for i := 0; i < len(gap); i++ {
		switch gap[i] {
		case '-', '.', '/':
			marks++
		case ' ':
			spaces++
		case '(':
			open++
		case ')':
			closing++
		default:
			return false
		}
	}
	return marks <= 1 && spaces <= 2 && open <= 1 && closing <= 1
}

// validPhone accepts an international number (+ or 00, then 7 to 15
// digits), a North American one (area code and exchange 2–9, 3-3-4 in
// separated groups, optionally with a leading 1), or a national one with a
// trunk 0 (9 to 12 digits; 10 or 11 when written in one run). A national or
// North American number must not be a date, must use one kind of separator
// besides spaces, and must not follow a word such as "order" or "invoice".
func validPhone(s string, gs []group) (span, bool) {
	sp := span{gs[0].start, gs[len(gs)-1].end}
	if sp.start > 0 && s[sp.start-1] == '(' {
		sp.start--
	}
	plus := sp.start > 0 && s[sp.start-1] == '+'
	if plus {
		sp.start--
		if sp.start > 0 && s[sp.start-1] == '(' { // "(+44) 20 7946 0958"
			sp.start--
		}
	}
	if strings.Count(s[sp.start:sp.end], "(") > strings.Count(s[sp.start:sp.end], ")") && sp.end < len(s) && s[sp.end] == ')' {
		sp.end++
	}
	if !balanced(s[sp.start:sp.end]) || !separated(s, sp) {
		return sp, false
	}
	digits := digitsOf(s, gs)
	if len(digits) < 7 {
		return sp, false
	}
	seps := gaps(s, gs)
	switch {
	case plus:
		return sp, digits[0] != '0' && len(digits) >= 7 && len(digits) <= 15
	case strings.HasPrefix(digits, "00"):
		n := len(digits) - 2
		return sp, digits[2] != '0' && n >= 7 && n <= 15 && !afterIDWord(s, sp.start)
	}
	if !oneSeparator(seps) || looksLikeDate(s, gs) || afterIDWord(s, sp.start) {
		return sp, false
	}
	if nanp(s, gs, digits) {
		return sp, true
	}
	if digits[0] != '0' || digits[1] == '0' || (gs[0].end-gs[0].start == 1 && s[sp.start] != '(') {
		return sp, false // a trunk 0 stands with its area code, or as "(0)"; "0.10.20.3040" is a version
	}
	if len(gs) == 1 {
		return sp, len(digits) == 10 || len(digits) == 11
	}
	return sp, len(digits) >= 9 && len(digits) <= 12
}

// nanp reports a North American number: [1] NXX NXX XXXX in separate groups.
func nanp(s string, gs []group, digits string) bool {
	lens := make([]int, len(gs))
	for i, g := range gs {
		lens[i] = g.end - g.start
	}
	switch {
	case len(lens) == 3 && lens[0] == 3 && lens[1] == 3 && lens[2] == 4:
	case len(lens) == 4 && lens[0] == 1 && digits[0] == '1' && lens[1] == 3 && lens[2] == 3 && lens[3] == 4:
		digits = digits[1:]
	default:
		return false
	}
	return digits[0] >= '2' && digits[3] >= '2'
}

// oneSeparator reports gaps that use at most one of dash, dot and slash
// (spaces and parentheses aside): "05.03.24 / 07.03.24" is two dates.
func oneSeparator(seps []string) bool {
	var mark byte
	for _, g := range seps {
		for i := 0; i < len(g); i++ {
			c := g[i]
			if c == '-' || c == '.' || c == '/' {
				if mark != 0 && mark != c {
					return false
				}
				mark = c
			}
		}
	}
	return true
}

// looksLikeDate reports three consecutive groups that read as a date:
// day/month and a four-digit year either way round, or a two-digit year when
// the date stands alone (not part of a longer run with the same separator,
// as French numbers "01.23.45.67.89" are).
func looksLikeDate(s string, gs []group) bool {
	seps := gaps(s, gs)
	num := func(g group) (int, int) {
		n := 0
		for i := g.start; i < g.end; i++ {
			n = n*10 + int(s[i]-'0')
		}
		return n, g.end - g.start
	}
	for i := 0; i+2 < len(gs); i++ {
		if seps[i] != seps[i+1] || len(seps[i]) != 1 || !strings.ContainsAny(seps[i], "-./") {
			continue
		}
		a, la := num(gs[i])
		b, lb := num(gs[i+1])
		c, lc := num(gs[i+2])
		dayMonth := func(x, y int) bool { return x >= 1 && y >= 1 && x <= 31 && y <= 31 && (x <= 12 || y <= 12) }
		if la == 4 && lb <= 2 && lc <= 2 && a >= 1900 && a <= 2199 && b >= 1 && b <= 12 && c >= 1 && c <= 31 {
			return true
		}
		if la <= 2 && lb <= 2 && dayMonth(a, b) {
			if lc == 4 && c >= 1900 && c <= 2199 {
				return true
			}
			alone := (i == 0 || seps[i-1] != seps[i]) && (i+2 == len(gs)-1 || seps[i+2] != seps[i])
			if lc == 2 && alone {
				return true
			}
		}
	}
	return false
}

// idWords are words after which a number is an identifier, not a phone number.
var idWords = map[string]bool{
	"order": true, "invoice": true, "ticket": true, "tracking": true, "ref": true, "reference": true,
	"booking": true, "confirmation": true, "case": true, "sku": true, "serial": true, "item": true,
	"receipt": true, "transaction": true, "customer": true, "isbn": true, "po": true, "id": true,
	"parcel": true, "shipment": true, "account": true, "policy": true, "claim": true,
}

// afterIDWord reports a number that follows "#" or an identifier word
// ("order 0123456789", "invoice no. 0123456789", "ticket: 0301234567").
func afterIDWord(s string, start int) bool {
	before := strings.ToLower(s[max(0, start-40):start])
	before = strings.TrimRight(before, " \t:")
	if strings.HasSuffix(before, "#") {
		return true
	}
	words := strings.FieldsFunc(before, func(r rune) bool { return !unicode.IsLetter(r) })
	for i := len(words) - 1; i >= 0 && i >= len(words)-2; i-- {
		w := words[i]
		if idWords[w] {
			return true
		}
		if w != "no" && w != "nr" && w != "number" && w != "num" {
			return false
		}
	}
	return false
}

// ---- boundaries ----

// separated reports that a span is not part of a longer token: no letter,
// digit or underscore touches it; no currency sign, "#" or decimal part;
// no "-", ".", "/" or ":" joining it to a word or number ("ORD-…", "v1.2",
// "14:30").
func separated(s string, sp span) bool {
	prev, prev2 := prevRune(s, sp.start), prevRune(s, sp.start-utf8.RuneLen(prevRune(s, sp.start)))
	if wordRune(prev) || strings.ContainsRune("$€£¥#", prev) {
		return false
	}
	if strings.ContainsRune("-./:,", prev) && s[sp.start] != '+' && s[sp.start] != '(' && wordRune(prev2) {
		return false
	}
	next, next2 := nextRune(s, sp.end), nextRune(s, sp.end+utf8.RuneLen(nextRune(s, sp.end)))
	if wordRune(next) || strings.ContainsRune("$€£¥%", next) {
		return false
	}
	if strings.ContainsRune("-./:,", next) && isDigitRune(next2) {
		return false
	}
	return true
}

// balanced reports parentheses that open before they close and all close.
func balanced(s string) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// prevRune is the rune before byte offset i (0 when there is none).
func prevRune(s string, i int) rune {
	if i <= 0 || i > len(s) {
		return 0
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r
}

// nextRune is the rune at byte offset i (0 when there is none).
func nextRune(s string, i int) rune {
	if i < 0 || i >= len(s) {
		return 0
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r
}

func wordRune(r rune) bool    { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
func isDigitRune(r rune) bool { return r >= '0' && r <= '9' }
func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isASCIIAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
