package handlers

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"parley/app/crypto"
	"parley/models"
	"parley/models/store"
)

// testBox is the encryption the provider tests give the store.
func testBox(t *testing.T) *crypto.Box {
	t.Helper()
	b, err := crypto.NewBox(bytes.Repeat([]byte{3}, crypto.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// addProviderFixtures adds a provider (pointing at a closed port, so testing
// it fails fast) and a vault secret to the role tests' fixtures.
func addProviderFixtures(t *testing.T, a *testApp, f fixtures) {
	t.Helper()
	a.store.SetBox(testBox(t))
	ctx := context.Background()
	suffix := models.NewID()[24:]
	p, err := a.store.CreateProvider(ctx, models.Provider{Name: "roles-" + suffix, BaseURL: "http://127.0.0.1:1/v1", TimeoutSeconds: 5}, "sk-roles")
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.store.CreateVaultSecret(ctx, models.VaultSecret{Name: "ROLES_" + suffix}, "roles-value")
	if err != nil {
		t.Fatal(err)
	}
	f["providers"], f["vault"] = p.ID, v.ID
}

// fakeModels is an OpenAI-compatible /v1/models that wants one API key and
// records the Authorization header it got.
type fakeModels struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

func newFakeModels(t *testing.T, key string) *fakeModels {
	t.Helper()
	f := &fakeModels{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auths = append(f.auths, r.Header.Get("Authorization"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+key {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}`)
			return
		}
		if r.URL.Path != "/v1/models" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"object":"list","data":[{"id":"llama3.1"},{"id":"qwen2.5"}]}`)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeModels) lastAuth() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.auths) == 0 {
		return ""
	}
	return f.auths[len(f.auths)-1]
}

// rawKeyColumn reads providers.api_key_enc straight from the database.
func rawKeyColumn(t *testing.T, s *store.Store, id string) sql.NullString {
	t.Helper()
	var v []sql.NullString
	if err := s.DB().Table("providers").Where("id = ?", id).Pluck("api_key_enc", &v).Error; err != nil || len(v) != 1 {
		t.Fatalf("read api_key_enc: %d rows, %v", len(v), err)
	}
	return v[0]
}

func providerValues(name, baseURL, key string) url.Values {
	return url.Values{"name": {name}, "kind": {"openai"}, "baseUrl": {baseURL}, "apiKey": {key},
		"defaultModel": {"llama3.1"}, "timeoutSeconds": {"30"}}
}

func TestProviders(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		a.store.SetBox(testBox(t))
		ctx := context.Background()
		admin := a.as(models.RoleAdmin)
		const key = "sk-live-TOPSECRET-0123456789"
		fake := newFakeModels(t, key)
		// pages collects every provider page rendered, to check none shows the key.
		var pages []*resp
		keep := func(r *resp) *resp { pages = append(pages, r); return r }

		t.Run("EmptyState", func(t *testing.T) {
			r := keep(admin.get("/providers"))
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Providers · Parley</title>", `href="/providers" aria-current="page">Providers</a>`,
				"No providers configured yet", "built in", "http://localhost:11434/v1", "OpenRouter", "LM Studio", "vLLM",
				"Add your first provider")
		})
		t.Run("New", func(t *testing.T) {
			r := keep(admin.get("/providers/new"))
			wantStatus(t, r, 200)
			wantBody(t, r, `<label for="f-name">`, `<label for="f-baseUrl">`, `<label for="f-apiKey">API key</label>`,
				`type="password" value=""`, `value="120"`, "Create provider")
			wantBody(t, r, "Test connection", `hx-post="/providers/test"`) // before saving, with the values typed
			wantNoBody(t, r, "Remove key")
		})
		t.Run("ErrInvalidKeepsInputNotKey", func(t *testing.T) {
			v := providerValues("Bad Name!", "localhost:11434", key)
			v.Set("timeoutSeconds", "soon")
			r := keep(admin.post("/providers", v))
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-name">Name may contain only`, `id="e-baseUrl">Base URL must be an http`,
				`id="e-timeoutSeconds">Timeout must be from 1 to 600 seconds.`,
				`value="Bad Name!"`, `value="localhost:11434"`, `value="soon"`, `value="llama3.1"`)
			wantNoBody(t, r, key)
			if n := countRows(t, a.store, "providers"); n != 0 {
				t.Errorf("providers = %d after a refused create", n)
			}
		})
		t.Run("ErrKeyInvalidNotEchoed", func(t *testing.T) {
			r := keep(admin.post("/providers", providerValues("ok-name", fake.URL+"/v1", "has space "+key)))
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-apiKey">API key must not contain spaces`, `value="ok-name"`)
			wantNoBody(t, r, key)
		})

		var id string
		t.Run("Create", func(t *testing.T) {
			r := admin.post("/providers", providerValues("Ollama", fake.URL+"/v1/", key))
			wantStatus(t, r, 303)
			id = createdID(t, r)
			if !strings.HasSuffix(r.Location(), "/providers/"+id+"/edit") {
				t.Errorf("Location = %q, want the edit page (to test the connection)", r.Location())
			}
			edit := keep(admin.get(r.Location()))
			wantStatus(t, edit, 200)
			wantBody(t, edit, `Provider &#34;ollama&#34; created`, "ollama/llama3.1", `value="ollama"`, `value="`+fake.URL+`/v1"`,
				"A key is set. Leave blank to keep it", "Remove key", "Test connection", `hx-post="/providers/test"`, `name="id" value="`+id+`"`)

			enc := rawKeyColumn(t, a.store, id)
			if !enc.Valid || enc.String == key || strings.Contains(enc.String, key) {
				t.Errorf("api_key_enc = %q, want the key encrypted", enc.String)
			}
			if got, err := a.store.ProviderKey(ctx, id); err != nil || got != key {
				t.Errorf("ProviderKey = %q, %v", got, err)
			}
			list := keep(admin.get("/providers"))
			wantBody(t, list, `<a href="/providers/`+id+`/edit">ollama</a>`, fake.URL+"/v1", "<code>llama3.1</code>", `<span class="badge">set</span>`)
		})
		t.Run("ErrNameTaken", func(t *testing.T) {
			r := keep(admin.post("/providers", providerValues("ollama", fake.URL+"/v1", key)))
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-name">A provider named &#34;ollama&#34; already exists.`)
			wantNoBody(t, r, key)
		})
		t.Run("TestConnection", func(t *testing.T) {
			r := keep(admin.htmx("/providers/"+id+"/test", nil))
			wantStatus(t, r, 200)
			wantBody(t, r, "Connected: ollama serves 2 models.", "<li>llama3.1</li>", "<li>qwen2.5</li>", "ollama/llama3.1")
			wantNoBody(t, r, "<html", "Connection failed", "is not in this list")
			if got := fake.lastAuth(); got != "Bearer "+key {
				t.Errorf("the endpoint got Authorization %q, want the decrypted key", got)
			}
		})
		t.Run("TestConnectionWithoutJS", func(t *testing.T) {
			r := keep(admin.post("/providers/"+id+"/test", nil))
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Provider ollama · Parley</title>", "Connected: ollama serves 2 models.", `value="ollama"`)
		})
		t.Run("UpdateBlankKeeps", func(t *testing.T) {
			v := providerValues("ollama", fake.URL+"/v1", "")
			v.Set("defaultModel", "qwen2.5")
			r := admin.post("/providers/"+id, v)
			wantStatus(t, r, 303)
			if r.Location() != "/providers" {
				t.Errorf("Location = %q", r.Location())
			}
			p, _ := a.store.FindProvider(ctx, id)
			if p.DefaultModel != "qwen2.5" {
				t.Errorf("DefaultModel = %q", p.DefaultModel)
			}
			if got, _ := a.store.ProviderKey(ctx, id); got != key {
				t.Errorf("ProviderKey = %q, want the key kept", got)
			}
		})
		t.Run("ErrRemoveAndNewKey", func(t *testing.T) {
			v := providerValues("ollama", fake.URL+"/v1", "sk-other-NEWKEY")
			v.Set("removeKey", "true")
			r := keep(admin.post("/providers/"+id, v))
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-apiKey">Enter a new key or remove the key, not both.`)
			wantNoBody(t, r, "sk-other-NEWKEY")
			if got, _ := a.store.ProviderKey(ctx, id); got != key {
				t.Errorf("ProviderKey = %q, want it unchanged", got)
			}
		})
		t.Run("TestConnectionFails", func(t *testing.T) {
			if r := admin.post("/providers/"+id, providerValues("ollama", fake.URL+"/v1", "sk-wrong-key")); r.Status != 303 {
				t.Fatalf("update = %d", r.Status)
			}
			r := keep(admin.htmx("/providers/"+id+"/test", nil))
			wantStatus(t, r, 200)
			wantBody(t, r, "Connection failed: 127.0.0.1:", "refused the API key (HTTP 401): check it", "Technical detail",
				"ollama: the server answered 401 Unauthorized: Incorrect API key provided (check the API key)")
			wantNoBody(t, r, "sk-wrong-key")
		})
		t.Run("RemoveKey", func(t *testing.T) {
			v := providerValues("ollama", fake.URL+"/v1", "")
			v.Set("removeKey", "true")
			wantStatus(t, admin.post("/providers/"+id, v), 303)
			if enc := rawKeyColumn(t, a.store, id); enc.Valid {
				t.Errorf("api_key_enc = %q, want NULL after removing the key", enc.String)
			}
			list := keep(admin.get("/providers"))
			wantBody(t, list, `<span class="badge off">not set</span>`)
			edit := keep(admin.get("/providers/" + id + "/edit"))
			wantBody(t, edit, "No key is set.")
			wantNoBody(t, edit, "Remove key")
			r := keep(admin.htmx("/providers/"+id+"/test", nil))
			wantBody(t, r, "Connection failed", "401")
			if got := fake.lastAuth(); got != "" {
				t.Errorf("Authorization = %q, want none without a key", got)
			}
		})
		t.Run("TestConnectionUnreachable", func(t *testing.T) {
			down := httptest.NewServer(http.NotFoundHandler())
			down.Close()
			p, err := a.store.CreateProvider(ctx, models.Provider{Name: "down", BaseURL: down.URL + "/v1", TimeoutSeconds: 5}, "")
			if err != nil {
				t.Fatal(err)
			}
			r := keep(admin.htmx("/providers/"+p.ID+"/test", nil))
			wantStatus(t, r, 200)
			wantBody(t, r, "Connection failed: nothing is listening on "+strings.TrimPrefix(down.URL, "http://")+" — is the server running", "down: cannot reach "+down.URL)
		})
		t.Run("ErrDeleteInUse", func(t *testing.T) {
			bot, err := a.store.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Llama bot", Model: "ollama/llama3.1"}})
			if err != nil {
				t.Fatal(err)
			}
			confirm := keep(admin.get("/providers/" + id + "/delete"))
			wantStatus(t, confirm, 200)
			wantBody(t, confirm, "is in use", `<a href="/bots/`+bot.ID+`/edit">Llama bot</a>`)
			wantNoBody(t, confirm, `action="/providers/`+id+`/delete"`)
			r := keep(admin.post("/providers/"+id+"/delete", nil))
			wantStatus(t, r, 409)
			wantBody(t, r, `Provider &#34;ollama&#34; cannot be deleted: it is used by bot &#34;Llama bot&#34; in their model.`)
			if _, err := a.store.FindProvider(ctx, id); err != nil {
				t.Errorf("the provider was deleted: %v", err)
			}
			bot.Model = "local"
			if _, err := a.store.UpdateBot(ctx, store.BotInput{Bot: *bot}); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("Delete", func(t *testing.T) {
			confirm := keep(admin.get("/providers/" + id + "/delete"))
			wantStatus(t, confirm, 200)
			wantBody(t, confirm, "Delete provider &#34;ollama&#34;?", `action="/providers/`+id+`/delete"`)
			r := admin.post("/providers/"+id+"/delete", nil)
			wantStatus(t, r, 303)
			wantBody(t, keep(admin.get("/providers")), "Provider &#34;ollama&#34; deleted")
			wantStatus(t, admin.get("/providers/"+id+"/edit"), 404)
		})
		t.Run("ErrNoEncryption", func(t *testing.T) {
			a.store.SetBox(nil)
			defer a.store.SetBox(testBox(t))
			r := keep(admin.post("/providers", providerValues("nobox", fake.URL+"/v1", key)))
			wantStatus(t, r, 503)
			wantBody(t, r, "encryption is not set up", `value="nobox"`)
			wantNoBody(t, r, key)
			wantStatus(t, admin.post("/providers", providerValues("nobox", fake.URL+"/v1", "")), 303)
		})
		t.Run("ErrBuilderForbidden", func(t *testing.T) {
			b := a.as(models.RoleBuilder)
			p, _ := a.store.FindProviderByName(ctx, "nobox")
			wantStatus(t, b.get("/providers"), 403)
			wantStatus(t, b.post("/providers", providerValues("sneaky", fake.URL+"/v1", "")), 403)
			wantStatus(t, b.htmx("/providers/"+p.ID+"/test", nil), 403)
			wantStatus(t, b.post("/providers/"+p.ID+"/delete", nil), 403)
			wantNoBody(t, b.get("/"), `href="/providers"`)
			if _, err := a.store.FindProvider(ctx, p.ID); err != nil {
				t.Errorf("a builder deleted the provider: %v", err)
			}
		})
		t.Run("KeyNeverShown", func(t *testing.T) {
			for _, r := range pages {
				if strings.Contains(r.Body, key) || strings.Contains(r.Body, "sk-wrong-key") {
					t.Errorf("a page shows an API key:\n%s", shorten(r.Body, 1500))
				}
			}
		})
	})
}

func TestVaultPages(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		a.store.SetBox(testBox(t))
		ctx := context.Background()
		admin := a.as(models.RoleAdmin)
		const value = "wx-TOPSECRET-987654321"
		var pages []*resp
		keep := func(r *resp) *resp { pages = append(pages, r); return r }

		t.Run("EmptyState", func(t *testing.T) {
			r := keep(admin.get("/vault"))
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Vault · Parley</title>", "The vault is empty", "{{secret:WEATHER_API_KEY}}", "Add your first secret")
			wantBody(t, keep(admin.get("/providers")), `href="/vault"`)
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			r := keep(admin.post("/vault", url.Values{"name": {"bad name"}, "value": {""}, "description": {"Kept text"}}))
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-name">Name may contain only`, `id="e-value">Value is required.`, `value="bad name"`, "Kept text")
			r = keep(admin.post("/vault", url.Values{"name": {"OK_NAME"}, "value": {"two\nlines " + value}}))
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-value">Value must be one line`, `value="OK_NAME"`)
			wantNoBody(t, r, value)
		})
		var id string
		t.Run("Create", func(t *testing.T) {
			r := admin.post("/vault", url.Values{"name": {"WEATHER_API_KEY"}, "value": {value}, "description": {"Weather service"}})
			wantStatus(t, r, 303)
			list := keep(admin.get("/vault"))
			wantBody(t, list, "Secret WEATHER_API_KEY saved.", ">WEATHER_API_KEY</a>", "{{secret:WEATHER_API_KEY}}", "Weather service")
			items, _, err := a.store.FindVaultSecrets(ctx, models.Page{})
			if err != nil || len(items) != 1 {
				t.Fatalf("FindVaultSecrets = %d, %v", len(items), err)
			}
			id = items[0].ID
			if got, err := a.store.VaultValue(ctx, "WEATHER_API_KEY"); err != nil || got != value {
				t.Errorf("VaultValue = %q, %v", got, err)
			}
		})
		t.Run("EditBlankKeeps", func(t *testing.T) {
			edit := keep(admin.get("/vault/" + id + "/edit"))
			wantStatus(t, edit, 200)
			wantBody(t, edit, `value="WEATHER_API_KEY"`, "Leave blank to keep the current value", `type="password" value=""`)
			r := admin.post("/vault/"+id, url.Values{"name": {"WEATHER_API_KEY"}, "value": {""}, "description": {"Changed"}})
			wantStatus(t, r, 303)
			if got, _ := a.store.VaultValue(ctx, "WEATHER_API_KEY"); got != value {
				t.Errorf("VaultValue = %q, want it kept", got)
			}
			wantBody(t, keep(admin.get("/vault")), "Changed")
		})
		t.Run("EditNewValue", func(t *testing.T) {
			r := admin.post("/vault/"+id, url.Values{"name": {"WEATHER_API_KEY"}, "value": {"new-" + value}})
			wantStatus(t, r, 303)
			if got, _ := a.store.VaultValue(ctx, "WEATHER_API_KEY"); got != "new-"+value {
				t.Errorf("VaultValue = %q, want the new value", got)
			}
		})
		t.Run("Delete", func(t *testing.T) {
			confirm := keep(admin.get("/vault/" + id + "/delete"))
			wantStatus(t, confirm, 200)
			wantBody(t, confirm, "Delete the secret WEATHER_API_KEY?", `action="/vault/`+id+`/delete"`)
			wantStatus(t, admin.post("/vault/"+id+"/delete", nil), 303)
			if _, err := a.store.VaultValue(ctx, "WEATHER_API_KEY"); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("VaultValue after delete: %v, want not found", err)
			}
		})
		t.Run("ErrBuilderForbidden", func(t *testing.T) {
			b := a.as(models.RoleBuilder)
			wantStatus(t, b.get("/vault"), 403)
			wantStatus(t, b.post("/vault", url.Values{"name": {"X"}, "value": {"y"}}), 403)
			if n := countRows(t, a.store, "vault_secrets"); n != 0 {
				t.Errorf("vault_secrets = %d after a builder's post", n)
			}
		})
		t.Run("ValueNeverShown", func(t *testing.T) {
			for _, r := range pages {
				if strings.Contains(r.Body, value) {
					t.Errorf("a page shows the secret's value:\n%s", shorten(r.Body, 1500))
				}
			}
		})
	})
}

// countRows counts a table's rows.
func countRows(t *testing.T, s *store.Store, table string) int64 {
	t.Helper()
	var n int64
	if err := s.DB().Table(table).Count(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestProviderTestBeforeSave: "Test connection" with the values typed into
// the form, before saving: nothing is saved, the typed key is used (and
// never shown), on edit the stored key when none is typed; errors in plain
// words with the technical detail behind a disclosure.
func TestProviderTestBeforeSave(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		a.store.SetBox(testBox(t))
		admin := a.as(models.RoleAdmin)
		const key = "sk-before-save"
		fake := newFakeModels(t, key)
		count := func() int {
			list, _, err := a.store.FindProviders(context.Background(), models.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}
		t.Run("NewWithTypedKey", func(t *testing.T) {
			r := admin.htmx("/providers/test", providerValues("fresh", fake.URL+"/v1", key))
			wantStatus(t, r, 200)
			wantBody(t, r, "Connected (with the values typed, not saved yet)")
			wantNoBody(t, r, key)
			if n := count(); n != 0 {
				t.Errorf("a test saved %d providers", n)
			}
		})
		t.Run("WrongKeyInPlainWords", func(t *testing.T) {
			r := admin.htmx("/providers/test", providerValues("fresh", fake.URL+"/v1", "sk-nope"))
			wantBody(t, r, "refused the API key (HTTP 401)", "Technical detail")
			wantNoBody(t, r, "sk-nope")
		})
		t.Run("NothingListening", func(t *testing.T) {
			r := admin.htmx("/providers/test", providerValues("fresh", "http://127.0.0.1:9/v1", ""))
			wantBody(t, r, "nothing is listening on 127.0.0.1:9 — is the server running")
		})
		t.Run("BadURLSaysFixTheForm", func(t *testing.T) {
			r := admin.htmx("/providers/test", providerValues("fresh", "not a url", ""))
			wantBody(t, r, "fix the form first")
		})
		t.Run("EditUsesTheStoredKey", func(t *testing.T) {
			p, err := a.store.CreateProvider(context.Background(), models.Provider{Name: "saved", Kind: models.ProviderKindOpenAI, BaseURL: fake.URL + "/v1", TimeoutSeconds: 5}, key)
			if err != nil {
				t.Fatal(err)
			}
			v := providerValues("saved", fake.URL+"/v1", "")
			v.Set("id", p.ID)
			r := admin.htmx("/providers/test", v)
			wantBody(t, r, "Connected")
			if got := fake.lastAuth(); got != "Bearer "+key {
				t.Errorf("Authorization = %q, want the stored key", got)
			}
		})
		t.Run("WithoutJavaScriptTheFormComesBack", func(t *testing.T) {
			r := admin.post("/providers/test", providerValues("typed", fake.URL+"/v1", key))
			wantStatus(t, r, 200)
			wantBody(t, r, `value="typed"`, "Connected (with the values typed, not saved yet)", "Create provider")
			wantNoBody(t, r, key)
		})
	})
}
