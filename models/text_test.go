package models_test

import (
	"testing"
	"unicode/utf8"

	"parley/models"
)

func TestTruncateUTF8(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int
		want     string
	}{
		{"Short", "abc", 10, "abc"},
		{"Exact", "abc", 3, "abc"},
		{"ASCII", "abcdef", 4, "abcd"},
		{"NoSplit", "aé", 2, "a"}, // é is 2 bytes: cutting at 2 would split it
		{"Emoji", "ok👍", 4, "ok"},
		{"Zero", "abc", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := models.TruncateUTF8(tc.in, tc.n)
			if got != tc.want || !utf8.ValidString(got) {
				t.Errorf("TruncateUTF8(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}
