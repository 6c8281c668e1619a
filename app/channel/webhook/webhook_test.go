package webhook_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"parley/app/channel/webhook"
	"parley/models"
)

func TestVerify(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	body := []byte(`{"eventId":"e1","conversationId":"c1","text":"hi"}`)
	good := webhook.Sign("whsec_a", now, body)
	for _, tc := range []struct {
		name   string
		secret string
		header string
		body   []byte
		at     time.Time
		want   error
	}{
		{"OK", "whsec_a", good, body, now, nil},
		{"OKWithinWindow", "whsec_a", good, body, now.Add(4 * time.Minute), nil},
		{"OKSecondValue", "whsec_a", strings.Replace(webhook.Sign("whsec_old", now, body), "t=", "v1=00,t=", 1) + "," + strings.Split(good, ",")[1], body, now, nil},
		{"ErrWrongSecret", "whsec_b", good, body, now, webhook.ErrBadSignature},
		{"ErrBodyChanged", "whsec_a", good, []byte(`{"eventId":"e2"}`), now, webhook.ErrBadSignature},
		{"ErrExpired", "whsec_a", good, body, now.Add(5*time.Minute + time.Second), webhook.ErrExpired},
		{"ErrFromTheFuture", "whsec_a", good, body, now.Add(-6 * time.Minute), webhook.ErrExpired},
		{"ErrTimestampChanged", "whsec_a", strings.Replace(good, "t=1900000000", "t=1900000001", 1), body, now, webhook.ErrBadSignature},
		{"ErrMissing", "whsec_a", "", body, now, webhook.ErrNoSignature},
		{"ErrMalformed", "whsec_a", "sha256=abc", body, now, webhook.ErrNoSignature},
		{"ErrNoSecret", "", good, body, now, webhook.ErrNoSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := webhook.Verify(tc.secret, tc.header, tc.body, tc.at); !errors.Is(got, tc.want) {
				t.Errorf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e, err := webhook.Parse([]byte(`{"eventId":" e1 ","conversationId":"c1","contact":{"fingerprint":"u-7","name":"Ann"},"text":"hello","extra":1}`))
		if err != nil || e.EventID != "e1" || e.Contact.Name != "Ann" || e.Text != "hello" {
			t.Fatalf("Parse = %+v, %v", e, err)
		}
	})
	for _, tc := range []struct {
		name   string
		body   string
		fields []string
	}{
		{"ErrEmpty", `{}`, []string{"eventId", "conversationId", "text"}},
		{"ErrContactWithoutFingerprint", `{"eventId":"e","conversationId":"c","text":"x","contact":{"name":"Ann"}}`, []string{"contact.fingerprint"}},
		{"ErrTooLong", `{"eventId":"` + strings.Repeat("e", 161) + `","conversationId":"c","text":"x"}`, []string{"eventId"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := webhook.Parse([]byte(tc.body))
			got := models.ErrorFields(err)
			if models.ErrorCode(err) != models.CodeInvalid || len(got) != len(tc.fields) {
				t.Fatalf("Parse error = %v, fields %v; want %v", err, got, tc.fields)
			}
			for _, f := range tc.fields {
				if got[f] == "" {
					t.Errorf("no message for %s: %v", f, got)
				}
			}
		})
	}
	if _, err := webhook.Parse([]byte(`not json`)); models.ErrorCode(err) != models.CodeInvalid {
		t.Errorf("not JSON: %v", err)
	}
}
