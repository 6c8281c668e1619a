package models

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Personal data masking: what support sees in transcripts, search results
// and exports unless an admin lets their account see personal data. Each
// format has its own function, so each is tested on its own; MaskPersonalData
// applies them all. A masked item keeps a hint of its shape (the first
// letter and domain of an email, the last digits of a number) so a reviewer
// can still tell two items apart.

var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	// cardRE: 13 to 19 digits, optionally grouped by single spaces or dashes.
	cardRE = regexp.MustCompile(`\b\d(?:[ \-]?\d){12,18}\b`)
	// ibanRE: two letters, two check digits, 11 to 30 letters and digits, optionally grouped by spaces.
	ibanRE = regexp.MustCompile(`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b`)
	// phoneRE: an optional +, then 7 to 15 digits with spaces, dots, dashes or brackets between.
	phoneRE = regexp.MustCompile(`(?:\+|\(|\b)\d(?:[ .\-]?\(?\d\)?){6,14}\b`)
)

// MaskEmails replaces email addresses: "jane.doe@example.com" → "j•••@example.com".
func MaskEmails(s string) string {
	return emailRE.ReplaceAllStringFunc(s, func(m string) string {
		at := strings.LastIndexByte(m, '@')
		return m[:1] + "•••" + m[at:]
	})
}

// digitsOf returns the digits of s.
func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Luhn reports whether digits (only digits) pass the Luhn checksum of card numbers.
func Luhn(digits string) bool {
	if len(digits) < 2 {
		return false
	}
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// MaskCards replaces card numbers (13–19 digits passing the Luhn check; other
// long numbers, such as order numbers, stay): "4111 1111 1111 1111" → "card •••• 1111".
func MaskCards(s string) string {
	return cardRE.ReplaceAllStringFunc(s, func(m string) string {
		d := digitsOf(m)
		if !Luhn(d) {
			return m
		}
		return "card •••• " + d[len(d)-4:]
	})
}

// ValidIBAN reports whether s (letters and digits, upper-case) is an IBAN
// whose check digits are right (ISO 13616: mod 97 of the rearranged number is 1).
func ValidIBAN(s string) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	var b strings.Builder
	for _, r := range s[4:] + s[:4] {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteString(big.NewInt(int64(r - 'A' + 10)).String())
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(b.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

// MaskIBANs replaces IBANs whose checksum is right: "DE89 3704 0044 0532 0130 00" → "IBAN DE•• •••• 3000".
func MaskIBANs(s string) string {
	return ibanRE.ReplaceAllStringFunc(s, func(m string) string {
		compact := strings.ReplaceAll(m, " ", "")
		if !ValidIBAN(compact) {
			return m
		}
		return "IBAN " + compact[:2] + "•• •••• " + compact[len(compact)-4:]
	})
}

// MaskPhones replaces phone numbers (7 to 15 digits, as E.164 allows, with
// the usual separators): "+44 20 7946 0958" → "phone •••• 58".
func MaskPhones(s string) string {
	return phoneRE.ReplaceAllStringFunc(s, func(m string) string {
		d := digitsOf(m)
		if len(d) < 7 || len(d) > 15 {
			return m
		}
		// Dates and times are not phone numbers: 2026-11-21, 12:30.
		if looksLikeDate(m) {
			return m
		}
		return "phone •••• " + d[len(d)-2:]
	})
}

func looksLikeDate(m string) bool {
	parts := strings.FieldsFunc(m, func(r rune) bool { return !unicode.IsDigit(r) })
	return len(parts) == 3 && (len(parts[0]) == 4 || len(parts[2]) == 4) && len(digitsOf(m)) == 8
}

// MaskPersonalData masks emails, IBANs, card numbers and phone numbers in s,
// in that order (so the digits of a card or an IBAN are not taken for a phone number).
func MaskPersonalData(s string) string {
	return MaskPhones(MaskCards(MaskIBANs(MaskEmails(s))))
}

// MasksPersonalData reports whether the operator sees personal data masked:
// support does, unless an admin granted the account "see personal data".
func (o *Operator) MasksPersonalData() bool {
	return o == nil || (o.Role == RoleSupport && !o.SeePersonalData)
}

// MaskMeta returns a copy of m with personal data masked in every string
// and number it holds, however deep (a phone number kept as a JSON number
// is masked as its digits would be, and becomes the masked text); keys are
// kept. m itself is not changed. Free-form meta is shown raw in the
// transcript and exported, so it is masked like the text around it.
func MaskMeta(m Meta) Meta {
	if m == nil {
		return nil
	}
	out := make(Meta, len(m))
	for k, v := range m {
		out[k] = maskValue(v)
	}
	return out
}

// maskValue masks one value of meta (see MaskMeta).
func maskValue(v any) any {
	switch x := v.(type) {
	case string:
		return MaskPersonalData(x)
	case map[string]any:
		return map[string]any(MaskMeta(x))
	case Meta:
		return MaskMeta(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskValue(e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = MaskPersonalData(e)
		}
		return out
	case float64, float32, int, int64, int32, uint, uint64, uint32, json.Number:
		s := fmt.Sprint(x)
		if f, ok := x.(float64); ok {
			s = strconv.FormatFloat(f, 'f', -1, 64)
		}
		if m := MaskPersonalData(s); m != s {
			return m
		}
		return v
	default:
		return v
	}
}
