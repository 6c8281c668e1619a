package handlers

import (
	"context"
	"net/url"
	"regexp"
	"testing"

	"parley/models"
)

// secretInPage finds the raw secret shown on the created page.
var secretInPage = regexp.MustCompile(`<p class="secret-value"[^>]*>(prl_[A-Za-z0-9_-]+)</p>`)

// createdPage is where creating a secret redirects to.
var createdPage = regexp.MustCompile(`^/secrets/[0-9a-f-]{36}/created\?flash=[0-9a-f-]{36}$`)

func TestSecrets(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		admin := a.as(models.RoleAdmin)
		t.Run("EmptyState", func(t *testing.T) {
			r := admin.get("/secrets")
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>API secrets · Parley</title>", "No API secrets yet", "Authorization: Bearer &lt;secret&gt;", "Create your first API secret")
		})
		t.Run("New", func(t *testing.T) {
			r := admin.get("/secrets/new")
			wantStatus(t, r, 200)
			wantBody(t, r, `<label for="f-name">`, "Create API secret")
		})
		t.Run("ErrNameRequired", func(t *testing.T) {
			r := admin.post("/secrets", url.Values{"name": {"  "}})
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-name">Name is required.`)
			wantNoBody(t, r, "prl_")
		})

		var raw, id string
		t.Run("CreateShowsOnce", func(t *testing.T) {
			r := admin.post("/secrets", url.Values{"name": {"Support site"}})
			wantStatus(t, r, 303)
			loc := r.Location()
			if !createdPage.MatchString(loc) {
				t.Fatalf("Location = %q, want /secrets/<id>/created?flash=<id>", loc)
			}
			wantNoBody(t, r, "prl_")

			r = admin.get(loc)
			wantStatus(t, r, 200)
			if got := r.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if got := r.Header.Get("Pragma"); got != "no-cache" {
				t.Errorf("Pragma = %q, want no-cache", got)
			}
			m := secretInPage.FindStringSubmatch(r.Body)
			if m == nil {
				t.Fatalf("no prl_ secret in .secret-value; body:\n%s", shorten(r.Body, 3000))
			}
			raw = m[1]
			wantBody(t, r, "Copy it now: it will not be shown again.", "curl -H &#39;Authorization: Bearer "+raw+"&#39;")

			list := admin.get("/secrets")
			wantStatus(t, list, 200)
			wantBody(t, list, "Support site", raw[:10]+"…", "<td>Admin</td>", "never", `<span class="badge">active</span>`)
			wantNoBody(t, list, raw)
		})
		t.Run("ReloadShowsItWasShown", func(t *testing.T) {
			secs, _, _ := a.store.FindSecrets(ctx, models.Page{})
			if len(secs) != 1 {
				t.Fatalf("secrets = %d, want 1", len(secs))
			}
			for range 2 {
				r := admin.get("/secrets/" + secs[0].ID + "/created?flash=" + models.NewID())
				wantStatus(t, r, 200)
				wantBody(t, r, "This secret was shown already", "Support site", raw[:10]+"…", `href="/secrets/new"`, "cannot be shown again")
				wantNoBody(t, r, raw, "Copy it now")
			}
			if n := countRows(t, a.store, "api_secrets"); n != 1 {
				t.Errorf("api_secrets = %d after reloading, want exactly 1", n)
			}
		})
		t.Run("StoredHashed", func(t *testing.T) {
			secs, _, err := a.store.FindSecrets(ctx, models.Page{})
			if err != nil || len(secs) != 1 {
				t.Fatalf("FindSecrets = %d, %v; want 1", len(secs), err)
			}
			id = secs[0].ID
			if secs[0].Hash == raw || secs[0].Hash != models.HashToken(raw) {
				t.Errorf("stored hash = %q, want the SHA-256 of the secret", secs[0].Hash)
			}
			sec, err := a.store.AuthenticateSecret(ctx, raw)
			if err != nil || sec.ID != id {
				t.Fatalf("AuthenticateSecret = %v, %v; want the new secret", sec, err)
			}
			wantBody(t, admin.get("/secrets"), "<time datetime=") // last used is now shown as a time
		})
		t.Run("ErrBuilderForbidden", func(t *testing.T) {
			b := a.as(models.RoleBuilder)
			wantStatus(t, b.get("/secrets"), 403)
			wantStatus(t, b.get("/secrets/new"), 403)
			wantStatus(t, b.post("/secrets", url.Values{"name": {"sneaky"}}), 403)
			wantStatus(t, b.post("/secrets/"+id+"/revoke", nil), 403)
			if _, err := a.store.AuthenticateSecret(ctx, raw); err != nil {
				t.Errorf("a builder revoked the secret: %v", err)
			}
			secs, _, _ := a.store.FindSecrets(ctx, models.Page{})
			if len(secs) != 1 {
				t.Errorf("secrets = %d, want 1: a builder created one", len(secs))
			}
		})
		t.Run("Revoke", func(t *testing.T) {
			r := admin.get("/secrets/" + id + "/revoke")
			wantStatus(t, r, 200)
			wantBody(t, r, `Revoke API secret &#34;Support site&#34;?`, "Revoke secret", "Cancel")
			wantNoBody(t, r, raw)
			r = admin.post("/secrets/"+id+"/revoke", nil)
			wantStatus(t, r, 303)
			if _, err := a.store.AuthenticateSecret(ctx, raw); models.ErrorCode(err) != models.CodeUnauthorized {
				t.Errorf("AuthenticateSecret after revoke: %v, want unauthorized", err)
			}
			list := admin.get("/secrets")
			wantBody(t, list, "API secret &#34;Support site&#34; revoked.", ">revoked</span>")
			wantNoBody(t, list, "/secrets/"+id+"/revoke")
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantStatus(t, admin.get("/secrets/"+models.NewID()+"/revoke"), 404)
			wantStatus(t, admin.post("/secrets/"+models.NewID()+"/revoke", nil), 404)
		})
	})
}

// TestSecretShownOnce checks post/redirect/get on a new secret: reloading its
// page neither shows it again nor creates another, and no other browser can
// read it.
func TestSecretShownOnce(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		admin := a.as(models.RoleAdmin)
		t.Run("ReloadTheSameURL", func(t *testing.T) {
			r := admin.post("/secrets", url.Values{"name": {"Reloaded"}})
			wantStatus(t, r, 303)
			first := admin.get(r.Location())
			if secretInPage.FindStringSubmatch(first.Body) == nil {
				t.Fatalf("the first GET does not show the secret; body:\n%s", shorten(first.Body, 2000))
			}
			shown := secretInPage.FindStringSubmatch(first.Body)[1]
			again := admin.get(r.Location())
			wantStatus(t, again, 200)
			wantBody(t, again, "This secret was shown already", "Reloaded", shown[:10]+"…")
			wantNoBody(t, again, shown)
			if n := countRows(t, a.store, "api_secrets"); n != 1 {
				t.Errorf("api_secrets = %d after creating one and reloading its page, want exactly 1", n)
			}
		})
		t.Run("ErrOtherSessionCannotRead", func(t *testing.T) {
			r := admin.post("/secrets", url.Values{"name": {"Private"}})
			wantStatus(t, r, 303)
			other := a.as(models.RoleAdmin) // the same admin, another browser
			stolen := other.get(r.Location())
			wantStatus(t, stolen, 200)
			wantBody(t, stolen, "This secret was shown already")
			if m := secretInPage.FindStringSubmatch(stolen.Body); m != nil {
				t.Fatalf("another session read the secret %s", m[1])
			}
			mine := admin.get(r.Location())
			m := secretInPage.FindStringSubmatch(mine.Body)
			if m == nil {
				t.Fatalf("the creating session cannot read it after another tried; body:\n%s", shorten(mine.Body, 2000))
			}
			wantNoBody(t, stolen, m[1])
		})
	})
}
