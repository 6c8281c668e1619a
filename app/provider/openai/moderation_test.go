package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"parley/app/provider"
)

// moderationServer is an in-process OpenAI-compatible server whose
// /v1/moderations answers with the handlers of script in turn (the last
// repeats); every request is recorded, and other paths answer 404.
func moderationServer(t *testing.T, script ...http.HandlerFunc) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		rec := recorded{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization")}
		if err := json.Unmarshal(raw, &rec.Body); err != nil {
			t.Errorf("request body is not JSON: %v: %s", err, raw)
		}
		f.mu.Lock()
		n := len(f.requests)
		f.requests = append(f.requests, rec)
		f.mu.Unlock()
		if r.URL.Path != "/v1/moderations" {
			http.NotFound(w, r)
			return
		}
		script[min(n, len(script)-1)](w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func moderationJSON(flagged bool, cats ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var c []string
		for _, name := range []string{"harassment", "hate", "self-harm", "violence"} {
			on := false
			for _, x := range cats {
				on = on || x == name
			}
			c = append(c, fmt.Sprintf("%q:%v", name, on))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"modr-1","model":"omni-moderation-latest","results":[{"flagged":%v,"categories":{%s},"category_scores":{}}]}`,
			flagged, strings.Join(c, ","))
	}
}

func moderationCalls(f *fakeOpenAI) []recorded {
	var out []recorded
	for _, c := range f.calls() {
		if c.Path == "/v1/moderations" {
			out = append(out, c)
		}
	}
	return out
}

func TestModerate(t *testing.T) {
	ctx := context.Background()
	var _ provider.Moderator = (*Client)(nil)

	t.Run("Flagged", func(t *testing.T) {
		f := moderationServer(t, moderationJSON(true, "violence", "harassment"))
		flagged, cats, err := f.client(Config{APIKey: "sk-test"}).Moderate(ctx, "I will hurt you")
		if err != nil || !flagged {
			t.Fatalf("Moderate = %v, %v, %v; want flagged", flagged, cats, err)
		}
		if diff := cmp.Diff([]string{"harassment", "violence"}, cats); diff != "" {
			t.Errorf("categories (-want +got):\n%s", diff)
		}
		calls := moderationCalls(f)
		if len(calls) != 1 || calls[0].Method != http.MethodPost || calls[0].Auth != "Bearer sk-test" || calls[0].Body["input"] != "I will hurt you" {
			t.Errorf("requests = %+v", calls)
		}
	})

	t.Run("NotFlagged", func(t *testing.T) {
		f := moderationServer(t, moderationJSON(false))
		flagged, cats, err := f.client(Config{}).Moderate(ctx, "How much is the Pro plan?")
		if err != nil || flagged || len(cats) != 0 {
			t.Errorf("Moderate = %v, %v, %v; want not flagged", flagged, cats, err)
		}
	})

	t.Run("RetriesServerErrors", func(t *testing.T) {
		f := moderationServer(t, jsonError(http.StatusServiceUnavailable, "overloaded"), moderationJSON(true, "hate"))
		flagged, cats, err := f.client(Config{}).Moderate(ctx, "x")
		if err != nil || !flagged || len(cats) != 1 || len(moderationCalls(f)) != 2 {
			t.Errorf("Moderate = %v, %v, %v after %d calls", flagged, cats, err, len(moderationCalls(f)))
		}
	})

	t.Run("ErrServer", func(t *testing.T) {
		f := moderationServer(t, jsonError(http.StatusInternalServerError, "boom"))
		_, _, err := f.client(Config{MaxRetries: -1}).Moderate(ctx, "x")
		pe := providerError(t, err)
		if pe.Status != 500 || !strings.Contains(pe.Message, "500") || errors.Is(err, provider.ErrNoModeration) {
			t.Errorf("err = %+v", pe)
		}
	})

	t.Run("ErrNotOffered", func(t *testing.T) {
		f := moderationServer(t, http.NotFound)
		c := f.client(Config{})
		_, _, err := c.Moderate(ctx, "x")
		if !errors.Is(err, provider.ErrNoModeration) || !strings.Contains(err.Error(), "404") {
			t.Fatalf("err = %v, want ErrNoModeration", err)
		}
		// Remembered: the endpoint is not asked again.
		if _, _, err := c.Moderate(ctx, "y"); !errors.Is(err, provider.ErrNoModeration) || len(moderationCalls(f)) != 1 {
			t.Errorf("second call: %v after %d requests", err, len(moderationCalls(f)))
		}
	})

	t.Run("ErrNoResult", func(t *testing.T) {
		f := moderationServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"modr-1","results":[]}`)
		})
		_, _, err := f.client(Config{}).Moderate(ctx, "x")
		if pe := providerError(t, err); !strings.Contains(pe.Message, "no result") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("ErrKeyNotShown", func(t *testing.T) {
		f := moderationServer(t, jsonError(http.StatusUnauthorized, "Incorrect API key provided: sk-secret"))
		_, _, err := f.client(Config{APIKey: "sk-secret"}).Moderate(ctx, "x")
		if err == nil || strings.Contains(err.Error(), "sk-secret") || !strings.Contains(err.Error(), "check the API key") {
			t.Errorf("err = %v", err)
		}
	})
}
