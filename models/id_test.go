package models_test

import (
	"strings"
	"testing"

	"parley/models"
)

func TestNewID(t *testing.T) {
	const n = 2000
	seen := map[string]bool{}
	prev := ""
	for i := range n {
		id := models.NewID()
		if !models.ValidID(id) {
			t.Fatalf("NewID() = %q, not ValidID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
		// Ids made one after the other sort in creation order, even within a millisecond:
		// cursors and "newest first" depend on it.
		if i > 0 && id <= prev {
			t.Fatalf("NewID() = %q after %q, want increasing", id, prev)
		}
		prev = id
	}
}

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   string
		want bool
	}{
		{"OK", models.NewID(), true},
		{"Uppercase", strings.ToUpper(models.NewID()), true},
		{"Empty", "", false},
		{"Word", "support-bot", false},
		{"NoHyphens", strings.ReplaceAll(models.NewID(), "-", ""), false},
		{"Braces", "{" + models.NewID() + "}", false},
		{"URN", "urn:uuid:" + models.NewID(), false},
		{"TooLong", models.NewID() + "0", false},
		{"NotHex", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", false},
		{"Injection", "' OR '1'='1' --------------------", false},
		{"Padded36", " " + models.NewID()[1:], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := models.ValidID(tc.id); got != tc.want {
				t.Errorf("ValidID(%q) = %v, want %v", tc.id, got, tc.want)
			}
		})
	}
}
