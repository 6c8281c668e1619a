package models

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMaskFormats(t *testing.T) {
	cases := []struct {
		name string
		fn   func(string) string
		in   string
		want string
	}{
		{"Email", MaskEmails, "write to jane.doe@example.com today", "write to j•••@example.com today"},
		{"EmailSubdomain", MaskEmails, "x@mail.example.co.uk", "x•••@mail.example.co.uk"},
		{"NotEmail", MaskEmails, "at @ home", "at @ home"},
		{"CardSpaces", MaskCards, "card 4111 1111 1111 1111 ok", "card card •••• 1111 ok"},
		{"CardDashes", MaskCards, "5500-0000-0000-0004", "card •••• 0004"},
		{"CardPlain", MaskCards, "378282246310005", "card •••• 0005"},
		{"NotLuhn", MaskCards, "order 4111 1111 1111 1112", "order 4111 1111 1111 1112"},
		{"IBANGrouped", MaskIBANs, "pay DE89 3704 0044 0532 0130 00 now", "pay IBAN DE•• •••• 3000 now"},
		{"IBANCompact", MaskIBANs, "GB82WEST12345698765432", "IBAN GB•• •••• 5432"},
		{"IBANBadChecksum", MaskIBANs, "GB83WEST12345698765432", "GB83WEST12345698765432"},
		{"PhoneIntl", MaskPhones, "call +44 20 7946 0958", "call phone •••• 58"},
		{"PhoneLocal", MaskPhones, "call 555-123-4567 now", "call phone •••• 67 now"},
		{"PhoneBrackets", MaskPhones, "(030) 1234567", "phone •••• 67"},
		{"ShortNumber", MaskPhones, "order 12345", "order 12345"},
		{"Date", MaskPhones, "on 2026-11-21", "on 2026-11-21"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.fn(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMaskPersonalData(t *testing.T) {
	in := "Jane (jane@example.com, +1 415 555 2671) paid with 4111111111111111 from DE89370400440532013000."
	want := "Jane (j•••@example.com, phone •••• 71) paid with card •••• 1111 from IBAN DE•• •••• 3000."
	if got := MaskPersonalData(in); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestMasksPersonalData(t *testing.T) {
	for _, tc := range []struct {
		o    *Operator
		want bool
	}{
		{nil, true},
		{&Operator{Role: RoleSupport}, true},
		{&Operator{Role: RoleSupport, SeePersonalData: true}, false},
		{&Operator{Role: RoleAdmin}, false},
		{&Operator{Role: RoleBuilder}, false},
		{&Operator{Role: RoleQA}, false},
	} {
		if got := tc.o.MasksPersonalData(); got != tc.want {
			t.Errorf("%+v: got %v, want %v", tc.o, got, tc.want)
		}
	}
}

func TestMaskMeta(t *testing.T) {
	in := Meta{
		"email":   "jane.doe@example.com",
		"phone":   4915112345678.0,
		"count":   3.0,
		"nested":  map[string]any{"iban": "DE89 3704 0044 0532 0130 00", "list": []any{"call +49 151 1234 5678", 7.0}},
		"cards":   []string{"4111 1111 1111 1111"},
		"ok":      true,
		"channel": "telegram",
	}
	got := MaskMeta(in)
	want := Meta{
		"email":   "j•••@example.com",
		"phone":   MaskPersonalData("4915112345678"),
		"count":   3.0,
		"nested":  map[string]any{"iban": "IBAN DE•• •••• 3000", "list": []any{MaskPersonalData("call +49 151 1234 5678"), 7.0}},
		"cards":   []string{"card •••• 1111"},
		"ok":      true,
		"channel": "telegram",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MaskMeta (-want +got):\n%s", diff)
	}
	if s, ok := got["phone"].(string); !ok || strings.Contains(s, "4915112345678") {
		t.Errorf("phone number not masked: %v", got["phone"])
	}
	if in["email"] != "jane.doe@example.com" {
		t.Error("MaskMeta changed its input")
	}
	if MaskMeta(nil) != nil {
		t.Error("MaskMeta(nil) != nil")
	}
}
