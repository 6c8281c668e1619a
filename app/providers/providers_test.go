package providers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"parley/app/crypto"
	"parley/app/engine"
	"parley/app/provider"
	"parley/app/providers"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// Resolve is what the engine calls.
var _ engine.Resolver = (*providers.Resolver)(nil).Resolve
var _ engine.Resolver = providers.NewResolver(nil)

// fakeOpenAI is an in-process OpenAI-compatible server that accepts one API
// key and records the Authorization header and model of every call.
type fakeOpenAI struct {
	*httptest.Server
	key string

	mu    sync.Mutex
	auths []string
	model []string
}

func newFake(t *testing.T, key string) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{key: key}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Model string `json:"model"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.auths = append(f.auths, r.Header.Get("Authorization"))
		f.model = append(f.model, body.Model)
		key := f.key
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+key {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}`)
			return
		}
		switch r.URL.Path {
		case "/v1/models":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"object":"list","data":[{"id":"model-b"},{"id":"model-a"}]}`)
		case "/v1/chat/completions":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: %s\n\n", `{"choices":[{"index":0,"delta":{"content":"Hello from the fake."},"finish_reason":null}]}`)
			fmt.Fprintf(w, "data: %s\n\n", `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)
			fmt.Fprint(w, "data: [DONE]\n\n")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOpenAI) setKey(k string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.key = k
}

func (f *fakeOpenAI) last() (auth, model string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.auths) == 0 {
		return "", ""
	}
	return f.auths[len(f.auths)-1], f.model[len(f.model)-1]
}

func withBox(t *testing.T, s *store.Store) {
	t.Helper()
	b, err := crypto.NewBox(bytes.Repeat([]byte{7}, crypto.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s.SetBox(b)
}

func mustProvider(t *testing.T, s *store.Store, name, baseURL, defaultModel, key string) *models.Provider {
	t.Helper()
	p, err := s.CreateProvider(t.Context(), models.Provider{Name: name, BaseURL: baseURL, DefaultModel: defaultModel, TimeoutSeconds: 5}, key)
	if err != nil {
		t.Fatalf("CreateProvider(%q): %v", name, err)
	}
	return p
}

func ask(t *testing.T, p provider.Provider, model string) *provider.Response {
	t.Helper()
	res, err := p.Complete(t.Context(), provider.Request{Model: model, Messages: []provider.Message{{Role: provider.RoleUser, Content: "hi"}}}, nil)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	return res
}

func TestResolve(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		withBox(t, s)
		fake := newFake(t, "sk-fake-1")
		mustProvider(t, s, "fake", fake.URL+"/v1", "model-a", "sk-fake-1")
		mustProvider(t, s, "nodefault", fake.URL+"/v1", "", "sk-fake-1")
		r := providers.New(s, providers.WithRetries(-1, 0))
		ctx := t.Context()

		cases := []struct {
			model, provider, name string
		}{
			{"", "local", "local"},
			{"local", "local", "local"},
			{" Local ", "local", "local"},
			{"local/anything", "local", "anything"},
			{"fake/model-b", "fake", "model-b"},
			{"FAKE/model-b", "fake", "model-b"},
			{"fake", "fake", "model-a"},
			{"fake/", "fake", "model-a"},
			{"fake/org/model-c", "fake", "org/model-c"},
			{"nodefault/model-z", "nodefault", "model-z"},
		}
		for _, tc := range cases {
			t.Run(strings.ReplaceAll(tc.model, "/", "_"), func(t *testing.T) {
				p, name, err := r.Resolve(ctx, tc.model)
				if err != nil {
					t.Fatalf("Resolve(%q): %v", tc.model, err)
				}
				if p.Name() != tc.provider || name != tc.name {
					t.Errorf("Resolve(%q) = %s, %q; want %s, %q", tc.model, p.Name(), name, tc.provider, tc.name)
				}
			})
		}

		t.Run("ErrUnknown", func(t *testing.T) {
			for _, model := range []string{"foo", "foo/gpt-4o", "gpt-4o-mini"} {
				_, _, err := r.Resolve(ctx, model)
				if !errors.Is(err, provider.ErrNoProvider) {
					t.Fatalf("Resolve(%q) err = %v, want ErrNoProvider", model, err)
				}
				name, _, _ := strings.Cut(model, "/")
				if want := fmt.Sprintf("no provider named %q is configured (see Providers)", name); err.Error() != want {
					t.Errorf("message = %q, want %q", err.Error(), want)
				}
			}
		})
		t.Run("ErrNoDefaultModel", func(t *testing.T) {
			_, _, err := r.Resolve(ctx, "nodefault")
			var pe *provider.Error
			if !errors.As(err, &pe) || !strings.Contains(pe.Message, "no default model") {
				t.Errorf("err = %v, want a provider error about the default model", err)
			}
		})
	})
}

func TestResolveUsesDecryptedKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		withBox(t, s)
		ctx := t.Context()
		fake := newFake(t, "sk-fake-1")
		p := mustProvider(t, s, "fake", fake.URL+"/v1", "model-a", "sk-fake-1")
		r := providers.New(s, providers.WithRetries(-1, 0))

		prov, model, err := r.Resolve(ctx, "fake/model-b")
		if err != nil {
			t.Fatal(err)
		}
		res := ask(t, prov, model)
		if res.Text != "Hello from the fake." {
			t.Errorf("Text = %q", res.Text)
		}
		if auth, m := fake.last(); auth != "Bearer sk-fake-1" || m != "model-b" {
			t.Errorf("the fake got Authorization %q and model %q, want the decrypted key and model-b", auth, m)
		}

		t.Run("Cached", func(t *testing.T) {
			again, _, err := r.Resolve(ctx, "fake")
			if err != nil {
				t.Fatal(err)
			}
			if again != prov {
				t.Error("an unchanged provider got a new client")
			}
		})
		t.Run("EditAppliesAtOnce", func(t *testing.T) {
			fake.setKey("sk-fake-2")
			cur, _ := s.FindProvider(ctx, p.ID)
			k := "sk-fake-2"
			if _, err := s.UpdateProvider(ctx, *cur, &k); err != nil {
				t.Fatal(err)
			}
			prov2, model, err := r.Resolve(ctx, "fake")
			if err != nil {
				t.Fatal(err)
			}
			if prov2 == prov {
				t.Error("the client was not rebuilt after the key changed")
			}
			ask(t, prov2, model)
			if auth, m := fake.last(); auth != "Bearer sk-fake-2" || m != "model-a" {
				t.Errorf("after the edit the fake got %q and model %q, want the new key and the default model", auth, m)
			}
		})
		t.Run("KeyRemoved", func(t *testing.T) {
			cur, _ := s.FindProvider(ctx, p.ID)
			empty := ""
			if _, err := s.UpdateProvider(ctx, *cur, &empty); err != nil {
				t.Fatal(err)
			}
			prov3, model, err := r.Resolve(ctx, "fake")
			if err != nil {
				t.Fatal(err)
			}
			_, err = prov3.Complete(ctx, provider.Request{Model: model, Messages: []provider.Message{{Role: provider.RoleUser, Content: "hi"}}}, nil)
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Status != http.StatusUnauthorized {
				t.Fatalf("err = %v, want a 401 provider error", err)
			}
			if auth, _ := fake.last(); auth != "" {
				t.Errorf("Authorization = %q, want none once the key is removed", auth)
			}
		})
		t.Run("ErrKeyUndecryptable", func(t *testing.T) {
			k := "sk-fake-3"
			cur, _ := s.FindProvider(ctx, p.ID)
			if _, err := s.UpdateProvider(ctx, *cur, &k); err != nil {
				t.Fatal(err)
			}
			other, _ := crypto.NewBox(bytes.Repeat([]byte{8}, crypto.KeySize))
			s.SetBox(other)
			defer withBox(t, s)
			_, _, err := r.Resolve(ctx, "fake")
			var pe *provider.Error
			if !errors.As(err, &pe) || !strings.Contains(pe.Message, "cannot be decrypted") || strings.Contains(pe.Message, k) {
				t.Errorf("err = %v, want a clear provider error without the key", err)
			}
		})
	})
}

func TestModels(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		withBox(t, s)
		ctx := t.Context()
		fake := newFake(t, "sk-fake-1")
		r := providers.New(s)

		t.Run("OK", func(t *testing.T) {
			p := mustProvider(t, s, "good", fake.URL+"/v1", "", "sk-fake-1")
			got, err := r.Models(ctx, p.ID)
			if err != nil {
				t.Fatalf("Models: %v", err)
			}
			if strings.Join(got, ",") != "model-a,model-b" {
				t.Errorf("Models = %v", got)
			}
			if auth, _ := fake.last(); auth != "Bearer sk-fake-1" {
				t.Errorf("Authorization = %q, want the decrypted key", auth)
			}
		})
		t.Run("ErrWrongKey", func(t *testing.T) {
			p := mustProvider(t, s, "badkey", fake.URL+"/v1", "", "sk-wrong")
			_, err := r.Models(ctx, p.ID)
			var pe *provider.Error
			if !errors.As(err, &pe) || !strings.Contains(pe.Message, "401") || !strings.Contains(pe.Message, "check the API key") {
				t.Fatalf("err = %v, want a 401 explained", err)
			}
			if strings.Contains(pe.Message, "sk-wrong") {
				t.Error("the error shows the key")
			}
		})
		t.Run("ErrUnreachable", func(t *testing.T) {
			closed := httptest.NewServer(http.NotFoundHandler())
			closed.Close()
			p := mustProvider(t, s, "down", closed.URL+"/v1", "", "")
			_, err := r.Models(ctx, p.ID)
			var pe *provider.Error
			if !errors.As(err, &pe) || !strings.Contains(pe.Message, "cannot reach") {
				t.Fatalf("err = %v, want cannot reach", err)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := r.Models(ctx, models.NewID())
			if models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("err = %v, want not found", err)
			}
		})
	})
}

func TestResolveStoreDown(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	r := providers.New(s)
	_ = s.Close()
	_, _, err := r.Resolve(context.Background(), "somewhere/model")
	if err == nil || errors.Is(err, provider.ErrNoProvider) {
		t.Errorf("err = %v, want the database error, not \"not configured\"", err)
	}
	if p, _, err := r.Resolve(context.Background(), "local"); err != nil || p.Name() != "local" {
		t.Errorf("local needs no database: %v, %v", p, err)
	}
}

// TestCatalog: the bot form's picker offers local (offline), each provider by
// name and the models its endpoint lists — cached, and never a key; a
// provider that cannot be reached is still offered, saying so.
func TestCatalog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		withBox(t, s)
		ctx := t.Context()
		fake := newFake(t, "sk-cat-1")
		mustProvider(t, s, "fakeai", fake.URL+"/v1", "model-a", "sk-cat-1")
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close()
		mustProvider(t, s, "gone", closed.URL+"/v1", "", "")
		r := providers.New(s)
		got, err := r.Catalog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var values []string
		labels := map[string]string{}
		for _, o := range got {
			values = append(values, o.Value)
			labels[o.Value] = o.Label
		}
		if want := "local,fakeai,fakeai/model-a,fakeai/model-b,gone"; strings.Join(values, ",") != want {
			t.Errorf("catalog = %v, want %s", values, want)
		}
		if !strings.Contains(labels["local"], "offline") || !strings.Contains(labels["gone"], "not reachable") {
			t.Errorf("labels = %v", labels)
		}
		for _, o := range got {
			if strings.Contains(o.Label+o.Value, "sk-cat-1") {
				t.Error("the catalog shows an API key")
			}
		}
		calls := len(fake.auths)
		if _, err := r.Catalog(ctx); err != nil {
			t.Fatal(err)
		}
		if len(fake.auths) != calls {
			t.Error("the catalog asked the provider again instead of using its cached list")
		}
	})
}
