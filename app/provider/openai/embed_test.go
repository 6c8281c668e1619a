package openai

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"parley/app/provider"
)

func serve(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := New(Config{Name: "emb", BaseURL: srv.URL + "/v1", APIKey: "sk-secret", MaxRetries: 1, RetryDelay: time.Millisecond})
	c.sleep = func(context.Context, time.Duration) error { return nil }
	return c
}

// TestEmbed: a batch of texts goes out in one POST /v1/embeddings with the
// model and the key, and the vectors come back in input order even when the
// server lists them in another.
func TestEmbed(t *testing.T) {
	var got struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	var auth, path string
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		auth, path = r.Header.Get("Authorization"), r.URL.Path
		_ = json.NewDecoder(r.Body).Decode(&got)
		_, _ = w.Write([]byte(`{"data":[{"index":1,"embedding":[0,1]},{"index":0,"embedding":[1,0]}]}`))
	})
	vecs, err := c.Embed(t.Context(), "nomic-embed-text", []string{"first", "second"})
	if err != nil {
		t.Fatal(err)
	}
	if path != "/v1/embeddings" || auth != "Bearer sk-secret" || got.Model != "nomic-embed-text" || len(got.Input) != 2 {
		t.Errorf("request: %s %q %+v", path, auth, got)
	}
	if len(vecs) != 2 || vecs[0][0] != 1 || vecs[1][1] != 1 {
		t.Errorf("vectors = %v, want [[1 0] [0 1]]", vecs)
	}
}

// TestEmbedErrors: failures are plain words — the server's status and
// message (without the key), a wrong count, vectors of different lengths —
// and a 503 is tried again.
func TestEmbedErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"Status", `{"error":{"message":"model sk-secret not found"}}`, 404, "answered 404 Not Found: model [redacted] not found"},
		{"Count", `{"data":[{"index":0,"embedding":[1]}]}`, 200, "1 vectors for 2 texts"},
		{"Lengths", `{"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":[1,2]}]}`, 200, "different lengths"},
		{"NotJSON", `<html>`, 200, "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			_, err := c.Embed(t.Context(), "m", []string{"a", "b"})
			var pe *provider.Error
			if !errors.As(err, &pe) || !strings.Contains(pe.Message, tc.want) || strings.Contains(pe.Message, "sk-secret") {
				t.Errorf("error = %v, want a provider error containing %q", err, tc.want)
			}
		})
	}
	t.Run("RetriesUnavailable", func(t *testing.T) {
		n := 0
		c := serve(t, func(w http.ResponseWriter, r *http.Request) {
			if n++; n == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte(`{"data":[{"index":0,"embedding":[1]}]}`))
		})
		if _, err := c.Embed(t.Context(), "m", []string{"a"}); err != nil || n != 2 {
			t.Errorf("after a 503: err %v after %d calls, want success on the second", err, n)
		}
	})
}

// TestRerank reads both response shapes: {"results":[{index,
// relevance_score}]} (Jina, Cohere, vLLM, llama.cpp, Infinity) and TEI's
// bare [{index, score}], best first, at most top_n.
func TestRerank(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"Results", `{"results":[{"index":0,"relevance_score":0.1},{"index":2,"relevance_score":0.9},{"index":1,"relevance_score":0.5}]}`},
		{"TEI", `[{"index":1,"score":0.5},{"index":0,"score":0.1},{"index":2,"score":0.9}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var req map[string]any
			c := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/rerank" {
					http.NotFound(w, r)
					return
				}
				_ = json.NewDecoder(r.Body).Decode(&req)
				_, _ = w.Write([]byte(tc.body))
			})
			got, err := c.Rerank(t.Context(), "bge-reranker", "q", []string{"a", "b", "c"}, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].Index != 2 || got[1].Index != 1 || got[0].Score != 0.9 {
				t.Errorf("results = %+v, want index 2 (0.9) then 1 (0.5)", got)
			}
			if req["model"] != "bge-reranker" || req["query"] != "q" || req["top_n"] != float64(2) || len(req["documents"].([]any)) != 3 {
				t.Errorf("request = %v", req)
			}
		})
	}
	t.Run("ErrBadIndex", func(t *testing.T) {
		c := serve(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"results":[{"index":7,"relevance_score":0.1}]}`))
		})
		if _, err := c.Rerank(t.Context(), "m", "q", []string{"a"}, 1); err == nil || !strings.Contains(err.Error(), "valid index") {
			t.Errorf("err = %v, want one about the index", err)
		}
	})
}
