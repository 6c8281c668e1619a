package models_test

import (
	"regexp"
	"strings"
	"testing"

	"parley/models"
)

func TestNewToken(t *testing.T) {
	urlSafe := regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	seen := map[string]bool{}
	for range 100 {
		tok := models.NewToken("prl_")
		if len(tok) != len("prl_")+43 || tok[:4] != "prl_" {
			t.Fatalf("NewToken(prl_) = %q, want prl_ and 43 characters", tok)
		}
		if !urlSafe.MatchString(tok[4:]) {
			t.Fatalf("NewToken = %q, want URL-safe characters only", tok)
		}
		if seen[tok] {
			t.Fatalf("NewToken repeated %q", tok)
		}
		seen[tok] = true
	}
	if tok := models.NewToken(""); !urlSafe.MatchString(tok) {
		t.Errorf("NewToken(\"\") = %q, want 43 URL-safe characters", tok)
	}
}

func TestHashToken(t *testing.T) {
	// SHA-256 test vector from FIPS 180-2.
	if got, want := models.HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("HashToken(abc) = %q, want %q", got, want)
	}
	tok := models.NewToken("prl_")
	if h1, h2 := models.HashToken(tok), models.HashToken(strings.Clone(tok)); h1 != h2 {
		t.Error("HashToken is not deterministic")
	}
	if models.HashToken(tok) == models.HashToken(tok+"x") {
		t.Error("different tokens hash the same")
	}
	if h := models.HashToken(tok); len(h) != 64 || h == tok {
		t.Errorf("HashToken = %q, want 64 hex characters different from the token", h)
	}
}
