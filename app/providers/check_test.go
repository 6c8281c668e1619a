package providers_test

import (
	"fmt"
	"strings"
	"testing"

	"parley/app/providers"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

func TestCheckModel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		r := providers.New(s)
		t.Run("ErrNoneConfigured", func(t *testing.T) {
			err := r.CheckModel(ctx, "olama/llama3")
			if got, want := models.ErrorFields(err)["model"], "No provider named olama. Providers: local."; got != want {
				t.Errorf("model error = %q, want %q", got, want)
			}
		})
		mustProvider(t, s, "ollama", "http://localhost:11434/v1", "llama3", "")
		mustProvider(t, s, "bare", "http://localhost:8080/v1", "", "")
		for _, model := range []string{"", "local", " LOCAL ", "local/anything", "ollama", "Ollama", "ollama/llama3.1", "ollama/org/model", "bare/some-model"} {
			t.Run("OK_"+strings.ReplaceAll(model, "/", "_"), func(t *testing.T) {
				if err := r.CheckModel(ctx, model); err != nil {
					t.Errorf("CheckModel(%q) = %v, want nil", model, err)
				}
			})
		}
		for _, tc := range []struct{ name, model, want string }{
			{"ErrUnknownProvider", "olama/llama3", "No provider named olama. Providers: local, bare, ollama."},
			{"ErrUnknownPlainName", "gpt-4o-mini", "No provider named gpt-4o-mini. Providers: local, bare, ollama."},
			{"ErrNoDefaultModel", "bare", "Provider bare has no default model: name one, like bare/MODEL, or set its default model under Providers."},
			{"ErrNoDefaultModelSlash", "bare/", "Provider bare has no default model: name one, like bare/MODEL, or set its default model under Providers."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := r.CheckModel(ctx, tc.model)
				if models.ErrorCode(err) != models.CodeInvalid {
					t.Fatalf("CheckModel(%q) = %v, want invalid input", tc.model, err)
				}
				if got := models.ErrorFields(err)["model"]; got != tc.want {
					t.Errorf("model error = %q, want %q", got, tc.want)
				}
			})
		}
		t.Run("ErrManyListed", func(t *testing.T) {
			for i := range 20 {
				mustProvider(t, s, fmt.Sprintf("p%02d", i), "http://localhost:9000/v1", "m", "")
			}
			got := models.ErrorFields(r.CheckModel(ctx, "nope"))["model"]
			if !strings.HasPrefix(got, "No provider named nope. Providers: local, bare, ollama, p00,") || !strings.HasSuffix(got, "p17, …") {
				t.Errorf("model error = %q, want the first 20 providers and an ellipsis", got)
			}
		})
	})
}
