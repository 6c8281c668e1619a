package models_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"parley/models"
)

func TestErrorHelpers(t *testing.T) {
	notFound := models.Errorf(models.CodeNotFound, "Bot %s not found.", "x")
	field := models.FieldError("email", "Email is taken.")
	for _, tc := range []struct {
		name        string
		err         error
		wantCode    string
		wantMessage string
		wantFields  map[string]string
	}{
		{"Nil", nil, "", "Internal error.", nil},
		{"Domain", notFound, models.CodeNotFound, "Bot x not found.", nil},
		{"Wrapped", fmt.Errorf("store: find bot: %w", notFound), models.CodeNotFound, "Bot x not found.", nil},
		{"Field", field, models.CodeInvalid, "Email is taken.", map[string]string{"email": "Email is taken."}},
		{"WrappedField", fmt.Errorf("handler: %w", field), models.CodeInvalid, "Email is taken.", map[string]string{"email": "Email is taken."}},
		// Internal errors reveal nothing of their text.
		{"Internal", errors.New("pq: password authentication failed for user parley"), models.CodeInternal, "Internal error.", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := models.ErrorCode(tc.err); got != tc.wantCode {
				t.Errorf("ErrorCode = %q, want %q", got, tc.wantCode)
			}
			if got := models.ErrorMessage(tc.err); got != tc.wantMessage {
				t.Errorf("ErrorMessage = %q, want %q", got, tc.wantMessage)
			}
			if diff := cmp.Diff(tc.wantFields, models.ErrorFields(tc.err)); diff != "" {
				t.Errorf("ErrorFields (-want +got):\n%s", diff)
			}
		})
	}
}
