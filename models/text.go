package models

import "unicode/utf8"

// TruncateUTF8 cuts s to at most n bytes without splitting a character, so
// what is stored or shown stays valid UTF-8 (PostgreSQL rejects anything else).
func TruncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Deref is an optional string's value, "" for none.
func Deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
