package ability_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"parley/app/engine/ability"
	"parley/models"
)

// seen is what a test server received.
type seen struct {
	mu      sync.Mutex
	method  string
	path    string // escaped, as sent
	query   map[string][]string
	body    string
	headers http.Header
}

func (s *seen) get() seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return seen{method: s.method, path: s.path, query: s.query, body: s.body, headers: s.headers}
}

// recordingServer records each request and answers with handler.
func recordingServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *seen) {
	t.Helper()
	rec := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.method, rec.path, rec.query, rec.body, rec.headers = r.Method, r.URL.EscapedPath(), r.URL.Query(), string(b), r.Header.Clone()
		rec.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

func jsonHandler(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}
}

// loopbackClient is a guarded client that may reach httptest servers.
func loopbackClient() *http.Client {
	return ability.NewGuardedClient(ability.GuardOptions{Allow: []string{"127.0.0.1"}})
}

func fetchAbility(meta models.Meta) models.Ability {
	meta["action"] = "fetch"
	return models.Ability{Name: "Status", Description: "Checks the status.", Meta: meta}
}

func TestFetchGET(t *testing.T) {
	srv, rec := recordingServer(t, jsonHandler(`{"status":"ok","components":[{"name":"sync","up":true}]}`))
	r := mustParse(t, fetchAbility(models.Meta{
		"method": "GET",
		"url":    srv.URL + "/api/{component}/status?q={query}&fixed=1",
		"parameters": []any{
			map[string]any{"name": "query", "description": "Search words.", "required": true},
			map[string]any{"name": "component", "required": true},
			map[string]any{"name": "region", "enum": []any{"eu", "us"}},
			map[string]any{"name": "limit", "type": "integer"},
		},
	}), ability.WithClient(loopbackClient()))

	got, err := r.Run(context.Background(), json.RawMessage(`{"query": "a b&c=d", "component": "../admin", "region": "eu", "limit": 5, "undeclared": "x"}`))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := "HTTP/1.1 200 OK\nContent-Type: application/json\n\n" + `{
  "status": "ok",
  "components": [
    {
      "name": "sync",
      "up": true
    }
  ]
}`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("result mismatch (-want +got):\n%s", diff)
	}
	s := rec.get()
	if s.method != http.MethodGet {
		t.Errorf("method = %s, want GET", s.method)
	}
	if want := "/api/..%2Fadmin/status"; s.path != want {
		t.Errorf("path = %q, want %q", s.path, want)
	}
	wantQuery := map[string][]string{"q": {"a b&c=d"}, "fixed": {"1"}, "region": {"eu"}, "limit": {"5"}}
	if diff := cmp.Diff(wantQuery, s.query); diff != "" {
		t.Errorf("query mismatch (-want +got):\n%s", diff)
	}
}

func TestFetchPathDots(t *testing.T) {
	srv, rec := recordingServer(t, jsonHandler(`{}`))
	r := mustParse(t, fetchAbility(models.Meta{"url": srv.URL + "/files/{name}/meta"}), ability.WithClient(loopbackClient()))
	if _, err := r.Run(context.Background(), json.RawMessage(`{"name": ".."}`)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got, want := rec.get().path, "/files/%2E%2E/meta"; got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
}

func TestFetchPOST(t *testing.T) {
	srv, rec := recordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "ticket T-1042 created")
	})
	a := seedTicket
	a.Meta = models.Meta{}
	for k, v := range seedTicket.Meta {
		a.Meta[k] = v
	}
	a.Meta["url"] = srv.URL + "/api/tickets"
	r := mustParse(t, a, ability.WithClient(loopbackClient()))

	got, err := r.Run(context.Background(), json.RawMessage(`{"email": "ann@example.com", "subject": "Sync fails", "priority": "urgent", "extra": 1}`))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if want := "HTTP/1.1 201 Created\nContent-Type: text/plain; charset=utf-8\n\nticket T-1042 created"; got != want {
		t.Errorf("result = %q, want %q", got, want)
	}
	s := rec.get()
	if s.method != http.MethodPost || s.path != "/api/tickets" {
		t.Errorf("request = %s %s, want POST /api/tickets", s.method, s.path)
	}
	if ct := s.headers.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(s.body), &body); err != nil {
		t.Fatalf("body %q: %v", s.body, err)
	}
	wantBody := map[string]any{"email": "ann@example.com", "subject": "Sync fails", "priority": "urgent"}
	if diff := cmp.Diff(wantBody, body); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}

func TestFetchArgumentErrors(t *testing.T) {
	srv, _ := recordingServer(t, jsonHandler(`{}`))
	r := mustParse(t, fetchAbility(models.Meta{
		"url": srv.URL + "/s?q={query}",
		"parameters": []any{
			map[string]any{"name": "query", "required": true},
			map[string]any{"name": "region", "enum": []any{"eu", "us"}},
		},
	}), ability.WithClient(loopbackClient()))
	tests := []struct{ name, args, wantErr string }{
		{"ErrMissing", `{"region": "eu"}`, `ability "Status": the argument "query" is required`},
		{"ErrNull", `{"query": null}`, `the argument "query" is required`},
		{"ErrNotObject", `"x"`, "arguments must be a JSON object"},
		{"ErrTrailing", `{"query": "x"} {}`, "arguments must be one JSON object"},
		{"ErrEnum", `{"query": "x", "region": "mars"}`, `the argument "region" is "mars"; it must be one of [eu us]`},
		{"ErrObjectValue", `{"query": {"a": 1}}`, `the argument "query" must be a string, number or boolean`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Run(context.Background(), json.RawMessage(tt.args))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Run = (%q, %v), want an error containing %q", got, err, tt.wantErr)
			}
		})
	}
}

func TestFetchResponses(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"NotFoundIsAResult", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no such component", http.StatusNotFound)
		}, "HTTP/1.1 404 Not Found\nContent-Type: text/plain; charset=utf-8\n\nno such component\n"},
		{"Empty", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}, "HTTP/1.1 204 No Content\n\n(empty body)"},
		{"Binary", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte{0x89, 'P', 'N', 'G', 0, 1, 2})
		}, "HTTP/1.1 200 OK\nContent-Type: image/png\n\n(binary body of type image/png, not shown)"},
		{"NULAndInvalidUTF8Replaced", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "a\x00b\xffc")
		}, "HTTP/1.1 200 OK\nContent-Type: text/plain\n\na\uFFFDb\uFFFDc"},
		{"InvalidJSONAsText", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"a":`)
		}, "HTTP/1.1 200 OK\nContent-Type: application/json\n\n{\"a\":"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := recordingServer(t, tt.handler)
			r := mustParse(t, fetchAbility(models.Meta{"url": srv.URL + "/"}), ability.WithClient(loopbackClient()))
			got, err := r.Run(context.Background(), nil)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFetchBodyCap(t *testing.T) {
	big := strings.Repeat("0123456789", 1000) // 10,000 bytes
	srv, _ := recordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `["`+big+`"]`)
	})
	t.Run("Custom", func(t *testing.T) {
		r := mustParse(t, fetchAbility(models.Meta{"url": srv.URL + "/"}), ability.WithClient(loopbackClient()), ability.WithMaxBody(1024))
		got, err := r.Run(context.Background(), nil)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		head, note, ok := strings.Cut(got, "\n\n[truncated")
		if !ok {
			t.Fatalf("result has no truncation note: %q", got)
		}
		if _, body, _ := strings.Cut(head, "\n\n"); len(body) != 1024 {
			t.Errorf("body kept = %d bytes, want 1024", len(body))
		}
		if want := ": the response is longer than 1 KiB; only the first 1 KiB are shown]"; note != want {
			t.Errorf("note = %q, want %q", note, want)
		}
	})
	t.Run("DefaultNotReached", func(t *testing.T) {
		r := mustParse(t, fetchAbility(models.Meta{"url": srv.URL + "/"}), ability.WithClient(loopbackClient()))
		got, err := r.Run(context.Background(), nil)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if strings.Contains(got, "[truncated") || !strings.Contains(got, "[\n  \""+big+"\"\n]") {
			t.Errorf("a 10 KB body was not kept whole and pretty-printed (%d bytes)", len(got))
		}
	})
	t.Run("Default", func(t *testing.T) {
		huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, strings.Repeat("x", 200<<10))
		}))
		t.Cleanup(huge.Close)
		r := mustParse(t, fetchAbility(models.Meta{"url": huge.URL + "/"}), ability.WithClient(loopbackClient()))
		got, err := r.Run(context.Background(), nil)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		_, body, _ := strings.Cut(got, "\n\n")
		if n := strings.Count(body, "x"); n != ability.DefaultMaxBody {
			t.Errorf("kept %d bytes, want %d", n, ability.DefaultMaxBody)
		}
		if !strings.HasSuffix(got, "[truncated: the response is longer than 64 KiB; only the first 64 KiB are shown]") {
			t.Errorf("result ends %q", got[len(got)-100:])
		}
	})
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	stall := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"SlowHeaders", stall},
		{"SlowBody", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			stall(w, r)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			r := mustParse(t, fetchAbility(models.Meta{"url": srv.URL + "/"}), ability.WithClient(loopbackClient()), ability.WithTimeout(100*time.Millisecond))
			got, err := r.Run(context.Background(), nil)
			if err == nil {
				t.Fatalf("Run = %q, want a timeout", got)
			}
			if want := `ability "Status": fetch timed out after 100ms`; err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
		})
	}
	t.Run("ClientTimeout", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(stall))
		t.Cleanup(srv.Close)
		client := ability.NewGuardedClient(ability.GuardOptions{Allow: []string{"127.0.0.1"}, Timeout: 100 * time.Millisecond})
		resp, err := client.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
			t.Fatal("GET succeeded, want a timeout")
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("error = %q, want a timeout", err)
		}
	})
}

const secretValue = "s3cr3t-t0ken-value"

func secretStore(ctx context.Context, name string) (string, error) {
	if name == "status-token" {
		return secretValue, nil
	}
	return "", errors.New("no such secret")
}

func TestFetchSecrets(t *testing.T) {
	meta := func(url string) models.Meta {
		return models.Meta{"url": url, "headers": map[string]any{"Authorization": "Bearer {{secret:status-token}}", "X-Plain": "yes"}}
	}
	t.Run("OK", func(t *testing.T) {
		srv, rec := recordingServer(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "you sent "+r.Header.Get("Authorization")) // a careless echo
		})
		r := mustParse(t, fetchAbility(meta(srv.URL+"/")), ability.WithClient(loopbackClient()), ability.WithSecrets(secretStore))
		got, err := r.Run(context.Background(), nil)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		s := rec.get()
		if got, want := s.headers.Get("Authorization"), "Bearer "+secretValue; got != want {
			t.Errorf("Authorization = %q, want %q", got, want)
		}
		if got := s.headers.Get("X-Plain"); got != "yes" {
			t.Errorf("X-Plain = %q, want yes", got)
		}
		if strings.Contains(got, secretValue) {
			t.Errorf("result %q contains the secret", got)
		}
		if !strings.HasSuffix(got, "you sent Bearer [secret]") {
			t.Errorf("result = %q, want the echoed secret redacted", got)
		}
	})
	t.Run("ErrUnreachableKeepsSecret", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		r := mustParse(t, fetchAbility(meta(url+"/")), ability.WithClient(loopbackClient()), ability.WithSecrets(secretStore))
		_, err := r.Run(context.Background(), nil)
		if err == nil {
			t.Fatal("Run succeeded against a closed server")
		}
		if !strings.Contains(err.Error(), "fetch failed") || strings.Contains(err.Error(), secretValue) {
			t.Errorf("error = %q, want a fetch failure without the secret", err)
		}
	})
	t.Run("ErrUnknownSecret", func(t *testing.T) {
		m := meta("https://status.example/")
		m["headers"] = map[string]any{"X-Token": "{{secret:missing}}"}
		r := mustParse(t, fetchAbility(m), ability.WithSecrets(secretStore))
		_, err := r.Run(context.Background(), nil)
		if want := `ability "Status": header "X-Token": secret "missing": no such secret`; err == nil || err.Error() != want {
			t.Errorf("error = %v, want %q", err, want)
		}
	})
	t.Run("ErrNoSecretStore", func(t *testing.T) {
		r := mustParse(t, fetchAbility(meta("https://status.example/")))
		_, err := r.Run(context.Background(), nil)
		if want := `header "Authorization" needs the secret "status-token", but no secret store is configured`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
	})
	t.Run("ErrSecretWithLineBreak", func(t *testing.T) {
		r := mustParse(t, fetchAbility(meta("https://status.example/")), ability.WithSecrets(func(context.Context, string) (string, error) {
			return "abc\r\nX-Evil: 1", nil
		}))
		_, err := r.Run(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error(), "contains a line break") || strings.Contains(err.Error(), "X-Evil") {
			t.Errorf("error = %v, want a line-break error without the value", err)
		}
	})
	t.Run("NotForwardedToOtherHost", func(t *testing.T) {
		other, otherRec := recordingServer(t, jsonHandler(`{"ok":true}`))
		src, srcRec := recordingServer(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
		})
		r := mustParse(t, fetchAbility(meta(src.URL+"/")), ability.WithClient(loopbackClient()), ability.WithSecrets(secretStore))
		if _, err := r.Run(context.Background(), nil); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := srcRec.get().headers.Get("Authorization"); got != "Bearer "+secretValue {
			t.Errorf("origin Authorization = %q, want the secret", got)
		}
		if got := otherRec.get().headers.Get("Authorization"); got != "" {
			t.Errorf("other host Authorization = %q, want none", got)
		}
		if got := otherRec.get().headers.Get("X-Plain"); got != "yes" {
			t.Errorf("other host X-Plain = %q, want yes (only secret headers are dropped)", got)
		}
	})
	t.Run("KeptOnSameHost", func(t *testing.T) {
		srv, rec := recordingServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/" {
				http.Redirect(w, r, "/v2", http.StatusFound)
			}
		})
		m := meta(srv.URL + "/")
		m["headers"] = map[string]any{"X-Token": "{{secret:status-token}}"}
		r := mustParse(t, fetchAbility(m), ability.WithClient(loopbackClient()), ability.WithSecrets(secretStore))
		if _, err := r.Run(context.Background(), nil); err != nil {
			t.Fatalf("Run: %v", err)
		}
		s := rec.get()
		if s.path != "/v2" || s.headers.Get("X-Token") != secretValue {
			t.Errorf("last request %s with X-Token %q, want /v2 with the secret", s.path, s.headers.Get("X-Token"))
		}
	})
}

func TestFetchGuarded(t *testing.T) {
	srv, _ := recordingServer(t, jsonHandler(`{}`))
	t.Run("ErrDefaultClientBlocksLoopback", func(t *testing.T) {
		r := mustParse(t, fetchAbility(models.Meta{"url": srv.URL + "/"}))
		_, err := r.Run(context.Background(), nil)
		if err == nil {
			t.Fatal("Run reached a loopback server with the default client")
		}
		if want := `ability "Status": blocked: 127.0.0.1 is a loopback address`; err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		if !errors.Is(err, ability.ErrBlocked) {
			t.Errorf("errors.Is(err, ErrBlocked) = false")
		}
	})
	t.Run("ErrMetadata", func(t *testing.T) {
		r := mustParse(t, fetchAbility(models.Meta{"url": "http://169.254.169.254/latest/meta-data/{path}"}), ability.WithClient(loopbackClient()))
		_, err := r.Run(context.Background(), json.RawMessage(`{"path": "iam"}`))
		if err == nil || !strings.Contains(err.Error(), "blocked: 169.254.169.254 is a cloud metadata address") {
			t.Errorf("error = %v, want blocked", err)
		}
	})
}
