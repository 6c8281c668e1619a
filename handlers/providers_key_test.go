package handlers

import (
	"context"
	"regexp"
	"testing"

	"parley/models"
)

// keyRefInForm finds the reference to a kept API key in the provider form.
var keyRefInForm = regexp.MustCompile(`<input type="hidden" name="apiKeyRef" value="([0-9a-f-]{36})">`)

const keptNote = "The API key you typed is kept (not shown); type it again to replace it."

// keptRef returns the form's reference to the kept key, failing if there is none.
func keptRef(t *testing.T, r *resp) string {
	t.Helper()
	m := keyRefInForm.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no apiKeyRef in the form; body:\n%s", shorten(r.Body, 3000))
	}
	wantBody(t, r, keptNote)
	return m[1]
}

// TestProviderFormKeepsKey checks that a validation error does not lose the
// API key typed: it is kept server-side (never in the page) and used when the
// form is sent again with the key field blank.
func TestProviderFormKeepsKey(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		a.store.SetBox(testBox(t))
		ctx := context.Background()
		admin := a.as(models.RoleAdmin)
		const key = "sk-live-KEPT-0123456789"
		const newKey = "sk-live-REPLACED-987654321"

		t.Run("Create", func(t *testing.T) {
			// A key that is itself refused is not kept: it must be fixed.
			r := admin.post("/providers", providerValues("Bad Name!", "http://127.0.0.1:1/v1", "has space "+key))
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-apiKey">API key must not contain spaces`)
			wantNoBody(t, r, key, keptNote, `name="apiKeyRef"`)

			bad := providerValues("Bad Name!", "http://127.0.0.1:1/v1", key)
			r = admin.post("/providers", bad)
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-name">Name may contain only`, `value="Bad Name!"`)
			wantNoBody(t, r, key)
			ref := keptRef(t, r)
			if n := countRows(t, a.store, "providers"); n != 0 {
				t.Fatalf("providers = %d after a refused create", n)
			}

			// Still wrong, key left blank: the kept key is kept again.
			stillBad := providerValues("Still Bad!", "http://127.0.0.1:1/v1", "")
			stillBad.Set("apiKeyRef", ref)
			r = admin.post("/providers", stillBad)
			wantStatus(t, r, 422)
			wantNoBody(t, r, key)
			ref2 := keptRef(t, r)

			fixed := providerValues("kept", "http://127.0.0.1:1/v1", "")
			fixed.Set("apiKeyRef", ref2)
			r = admin.post("/providers", fixed)
			wantStatus(t, r, 303)
			id := createdID(t, r)
			if got, err := a.store.ProviderKey(ctx, id); err != nil || got != key {
				t.Errorf("ProviderKey = %q, %v; want the key typed before the errors", got, err)
			}
		})
		t.Run("ErrKeptKeyUsedUp", func(t *testing.T) {
			r := admin.post("/providers", providerValues("Bad Name!", "http://127.0.0.1:1/v1", key))
			ref := keptRef(t, r)
			v := providerValues("once", "http://127.0.0.1:1/v1", "")
			v.Set("apiKeyRef", ref)
			wantStatus(t, admin.post("/providers", v), 303)
			v = providerValues("twice", "http://127.0.0.1:1/v1", "")
			v.Set("apiKeyRef", ref)
			r = admin.post("/providers", v)
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-apiKey">The API key you typed before is no longer kept`, `value="twice"`)
			if _, err := a.store.FindProviderByName(ctx, "twice"); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("a provider was saved without its key: %v", err)
			}
		})
		t.Run("ErrOtherSessionCannotUseIt", func(t *testing.T) {
			r := admin.post("/providers", providerValues("Bad Name!", "http://127.0.0.1:1/v1", key))
			ref := keptRef(t, r)
			v := providerValues("stolen", "http://127.0.0.1:1/v1", "")
			v.Set("apiKeyRef", ref)
			r = a.as(models.RoleAdmin).post("/providers", v)
			wantStatus(t, r, 422)
			wantBody(t, r, "is no longer kept")
			if _, err := a.store.FindProviderByName(ctx, "stolen"); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("another session saved a provider with the kept key: %v", err)
			}
		})
		t.Run("TypedAgainReplacesKept", func(t *testing.T) {
			r := admin.post("/providers", providerValues("Bad Name!", "http://127.0.0.1:1/v1", key))
			v := providerValues("retyped", "http://127.0.0.1:1/v1", newKey)
			v.Set("apiKeyRef", keptRef(t, r))
			r = admin.post("/providers", v)
			wantStatus(t, r, 303)
			if got, _ := a.store.ProviderKey(ctx, createdID(t, r)); got != newKey {
				t.Errorf("ProviderKey = %q, want the key typed last", got)
			}
		})
		t.Run("Edit", func(t *testing.T) {
			p, err := a.store.FindProviderByName(ctx, "kept")
			if err != nil {
				t.Fatal(err)
			}
			bad := providerValues("kept", "localhost:11434", newKey)
			r := admin.post("/providers/"+p.ID, bad)
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-baseUrl">Base URL must be an http`, `value="localhost:11434"`)
			wantNoBody(t, r, newKey, key)
			ref := keptRef(t, r)
			if got, _ := a.store.ProviderKey(ctx, p.ID); got != key {
				t.Fatalf("ProviderKey = %q after a refused edit, want it unchanged", got)
			}
			fixed := providerValues("kept", "http://127.0.0.1:1/v1", "")
			fixed.Set("apiKeyRef", ref)
			wantStatus(t, admin.post("/providers/"+p.ID, fixed), 303)
			if got, err := a.store.ProviderKey(ctx, p.ID); err != nil || got != newKey {
				t.Errorf("ProviderKey = %q, %v; want the new key typed before the error", got, err)
			}
		})
		t.Run("ErrEditRefOfAnotherForm", func(t *testing.T) {
			p, err := a.store.FindProviderByName(ctx, "kept")
			if err != nil {
				t.Fatal(err)
			}
			r := admin.post("/providers", providerValues("Bad Name!", "http://127.0.0.1:1/v1", key))
			v := providerValues("kept", "http://127.0.0.1:1/v1", "")
			v.Set("apiKeyRef", keptRef(t, r)) // kept for the new-provider form
			r = admin.post("/providers/"+p.ID, v)
			wantStatus(t, r, 422)
			wantBody(t, r, "is no longer kept")
			if got, _ := a.store.ProviderKey(ctx, p.ID); got != newKey {
				t.Errorf("ProviderKey = %q, want it unchanged", got)
			}
		})
	})
}
