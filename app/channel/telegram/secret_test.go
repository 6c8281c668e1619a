package telegram_test

import (
	"strings"
	"testing"

	"parley/app/channel/telegram"
)

func TestCheckSecret(t *testing.T) {
	const want = "s3cr3t_Token-value"
	tests := []struct {
		name   string
		header string
		want   string
		ok     bool
	}{
		{"Equal", want, want, true},
		{"Missing", "", want, false},
		{"Other", "s3cr3t_Token-valuf", want, false},
		{"Prefix", "s3cr3t", want, false},
		{"Longer", want + "x", want, false},
		{"CaseMatters", strings.ToUpper(want), want, false},
		{"NothingConfigured", "", "", false},
		{"NothingConfiguredAnyHeader", "x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := telegram.CheckSecret(tt.header, tt.want); got != tt.ok {
				t.Errorf("CheckSecret(%q, %q) = %v, want %v", tt.header, tt.want, got, tt.ok)
			}
		})
	}
}

func TestNewSecretToken(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		tok := telegram.NewSecretToken()
		if len(tok) != 48 {
			t.Fatalf("len(%q) = %d, want 48", tok, len(tok))
		}
		if !telegram.ValidSecretToken(tok) {
			t.Fatalf("%q is not a valid secret token", tok)
		}
		if seen[tok] {
			t.Fatalf("%q twice", tok)
		}
		seen[tok] = true
		if !telegram.CheckSecret(tok, tok) {
			t.Fatalf("CheckSecret(%q, itself) = false", tok)
		}
	}
}

func TestValidSecretToken(t *testing.T) {
	tests := []struct {
		tok  string
		want bool
	}{
		{"a", true},
		{"A-Z_a-z_0-9", true},
		{strings.Repeat("x", 256), true},
		{"", false},
		{strings.Repeat("x", 257), false},
		{"has space", false},
		{"dot.ted", false},
		{"plus+", false},
		{"émoji", false},
	}
	for _, tt := range tests {
		if got := telegram.ValidSecretToken(tt.tok); got != tt.want {
			t.Errorf("ValidSecretToken(%q) = %v, want %v", tt.tok, got, tt.want)
		}
	}
}
