package models

import "testing"

func TestOriginsAllows(t *testing.T) {
	tests := []struct {
		name    string
		allowed string
		origin  string
		want    bool
	}{
		{"Exact", "https://example.com", "https://example.com", true},
		{"CaseInsensitive", "HTTPS://Example.COM/", "https://example.com", true},
		{"DefaultPortHTTPS", "https://example.com:443", "https://example.com", true},
		{"DefaultPortInOrigin", "https://example.com", "https://example.com:443", true},
		{"DefaultPortHTTP", "http://example.com", "http://example.com:80", true},
		{"OtherPort", "https://example.com", "https://example.com:8443", false},
		{"ExplicitPort", "http://localhost:3000", "http://localhost:3000", true},
		{"ExplicitPortOther", "http://localhost:3000", "http://localhost:3001", false},
		{"OtherScheme", "https://example.com", "http://example.com", false},
		{"WildcardSub", "https://*.example.com", "https://sub.example.com", true},
		{"WildcardDeep", "https://*.example.com", "https://a.b.example.com", true},
		{"WildcardNotApex", "https://*.example.com", "https://example.com", false},
		{"WildcardNotLookalike", "https://*.example.com", "https://evil-example.com", false},
		{"WildcardNotSuffixTrick", "https://*.example.com", "https://example.com.evil.org", false},
		{"WildcardScheme", "https://*.example.com", "http://sub.example.com", false},
		{"SubNotAllowedWithoutWildcard", "https://example.com", "https://sub.example.com", false},
		{"SeveralLines", "https://a.org\nhttps://b.org, http://localhost:8080", "http://localhost:8080", true},
		{"NoOriginsRefuseAll", "", "https://example.com", false},
		{"EmptyOrigin", "https://example.com", "", false},
		{"NullOrigin", "https://example.com", "null", false},
		{"OriginWithPath", "https://example.com", "https://example.com/x", false},
		{"OriginWildcardNotHonoured", "https://*.example.com", "https://*.example.com", false},
		{"IPv6", "http://[::1]:8080", "http://[0:0::1]:8080", true},
		{"IP", "http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WidgetOriginAllowed(tt.allowed, tt.origin); got != tt.want {
				t.Errorf("WidgetOriginAllowed(%q, %q) = %v, want %v", tt.allowed, tt.origin, got, tt.want)
			}
		})
	}
}

func TestParseOrigins(t *testing.T) {
	t.Run("Normalised", func(t *testing.T) {
		l, err := ParseOrigins("HTTPS://Example.com:443/\nhttp://localhost:3000\n\nhttps://*.Shop.example.com\nhttps://example.com")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := l.String(), "https://example.com\nhttp://localhost:3000\nhttps://*.shop.example.com"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	for _, bad := range []string{"example.com", "ftp://example.com", "https://example.com/path", "https://user@example.com",
		"https://*.com", "https://exa mple.com", "https://example.com:99999", "https://ex_ample.com", "https://*.127.0.0.1", "https://", "https://a.org?x=1"} {
		t.Run("Err_"+bad, func(t *testing.T) {
			if _, err := ParseOrigins(bad); err == nil {
				t.Errorf("ParseOrigins(%q) accepted it", bad)
			} else if ErrorCode(err) != CodeInvalid {
				t.Errorf("code %q", ErrorCode(err))
			}
		})
	}
}

func TestWidgetValidate(t *testing.T) {
	bot := "b"
	it := Integration{Type: IntegrationWidget, BotID: &bot, Widget: WidgetSettings{Theme: "pink", Layout: "sideways",
		Origin: "example.com", Language: "english!", TokenLifetime: 5}}
	fields := ErrorFields(it.Validate())
	for _, f := range []string{"theme", "layout", "origin", "language", "tokenLifetime"} {
		if fields[f] == "" {
			t.Errorf("no error on %s: %v", f, fields)
		}
	}
	ok := Integration{Type: IntegrationWidget, BotID: &bot}
	NormalizeWidget(&ok.Widget)
	if err := ok.Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	if ok.Widget.Theme != "auto" || ok.Widget.Layout != "bubble" || ok.Widget.TokenLifetime != DefaultWidgetTokenLifetime {
		t.Errorf("defaults: %+v", ok.Widget)
	}
}

func TestVerifyIdentity(t *testing.T) {
	sig := SignIdentity("wids_secret", "user-42")
	if !VerifyIdentity("wids_secret", "user-42", sig) {
		t.Error("a good signature was refused")
	}
	for name, c := range map[string][3]string{
		"OtherUser":   {"wids_secret", "user-43", sig},
		"OtherSecret": {"wids_other", "user-42", sig},
		"NotHex":      {"wids_secret", "user-42", "zz"},
		"Empty":       {"wids_secret", "user-42", ""},
		"NoSecret":    {"", "user-42", SignIdentity("", "user-42")},
	} {
		if VerifyIdentity(c[0], c[1], c[2]) {
			t.Errorf("%s: accepted", name)
		}
	}
}
