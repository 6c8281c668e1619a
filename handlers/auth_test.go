package handlers

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

func TestSetup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		srv := newServer(t, s)
		a := &testApp{t: t, srv: srv, store: s}
		c := a.anon()

		t.Run("EverythingRedirectsToSetup", func(t *testing.T) {
			for _, p := range []string{"/", "/bots", "/login"} {
				r := c.get(p)
				wantStatus(t, r, 303)
				if r.Location() != "/setup" {
					t.Errorf("GET %s → %q, want /setup", p, r.Location())
				}
			}
		})
		t.Run("ErrInvalidKeepsInput", func(t *testing.T) {
			c.get("/setup")
			r := c.post("/setup", url.Values{"email": {"not-an-email"}, "name": {"Ada"}, "password": {"short"}, "password_confirm": {"other"}})
			wantStatus(t, r, 422)
			wantBody(t, r, `value="not-an-email"`, `value="Ada"`, "Email must be a valid email address.", "Password must be at least 10 characters.")
			if n, _ := s.SetupNeeded(context.Background()); !n {
				t.Error("an invalid setup form created an operator")
			}
		})
		t.Run("ErrNoCSRF", func(t *testing.T) {
			r := c.post("/setup", url.Values{"_csrf": {"forged"}, "email": {"a@example.com"}, "password": {testPassword}, "password_confirm": {testPassword}})
			wantStatus(t, r, 403)
			if n, _ := s.SetupNeeded(context.Background()); !n {
				t.Error("a forged setup form created an operator")
			}
		})
		t.Run("OK", func(t *testing.T) {
			r := c.post("/setup", url.Values{"email": {"Admin@Example.com"}, "name": {"Ada"}, "password": {testPassword}, "password_confirm": {testPassword}})
			wantStatus(t, r, 303)
			if r.Location() != "/" {
				t.Errorf("redirect = %q, want /", r.Location())
			}
			home := c.get("/")
			wantStatus(t, home, 200)
			wantBody(t, home, "Ada", "admin", "Get started")
			op, err := s.FindOperatorByEmail(context.Background(), "admin@example.com")
			if err != nil || op.Role != models.RoleAdmin {
				t.Fatalf("first operator = %+v, %v; want an admin", op, err)
			}
		})
		t.Run("OnlyOnce", func(t *testing.T) {
			other := a.anon()
			r := other.get("/setup")
			wantStatus(t, r, 303)
			other.get("/login")
			r = other.post("/setup", url.Values{"email": {"mallory@example.com"}, "password": {testPassword}, "password_confirm": {testPassword}})
			wantStatus(t, r, 409)
			if _, err := s.FindOperatorByEmail(context.Background(), "mallory@example.com"); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("second setup created an operator: %v", err)
			}
		})
	})
}

func TestSetupConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		srv := newServer(t, s)
		a := &testApp{t: t, srv: srv, store: s}
		var wg sync.WaitGroup
		clients := make([]*client, 4)
		for i := range clients {
			clients[i] = a.anon()
			clients[i].get("/setup")
		}
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.post("/setup", url.Values{"email": {"admin" + string(rune('a'+i)) + "@example.com"}, "password": {testPassword}, "password_confirm": {testPassword}})
			}()
		}
		wg.Wait()
		ops, _, err := s.FindOperators(context.Background(), models.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ops) != 1 {
			t.Errorf("concurrent setup created %d operators, want 1", len(ops))
		}
	})
}

func TestLogin(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		t.Run("StrangerIsSentToLogin", func(t *testing.T) {
			r := a.anon().get("/bots?x=1")
			wantStatus(t, r, 303)
			if r.Location() != "/login?next=%2Fbots%3Fx%3D1" {
				t.Errorf("redirect = %q", r.Location())
			}
		})
		t.Run("ErrWrongPassword", func(t *testing.T) {
			c := a.anon()
			c.get("/login")
			r := c.post("/login", url.Values{"email": {"builder@example.com"}, "password": {"wrong password"}})
			wantStatus(t, r, 401)
			wantBody(t, r, "Email or password is incorrect.", `value="builder@example.com"`)
			wantNoBody(t, r, "wrong password")
			if r := c.get("/bots"); r.Status != 303 {
				t.Errorf("after a failed sign-in GET /bots = %d, want 303", r.Status)
			}
		})
		t.Run("ErrNoCSRF", func(t *testing.T) {
			c := a.anon()
			c.get("/login")
			r := c.post("/login", url.Values{"_csrf": {""}, "email": {"builder@example.com"}, "password": {testPassword}})
			wantStatus(t, r, 403)
		})
		t.Run("OKFollowsNext", func(t *testing.T) {
			c := a.anon()
			c.get("/login")
			r := c.post("/login", url.Values{"email": {"BUILDER@example.com"}, "password": {testPassword}, "next": {"/bots"}})
			wantStatus(t, r, 303)
			if r.Location() != "/bots" {
				t.Errorf("redirect = %q, want /bots", r.Location())
			}
			wantStatus(t, c.get("/bots"), 200)
		})
		t.Run("NextStaysOnSite", func(t *testing.T) {
			c := a.anon()
			c.get("/login")
			r := c.post("/login", url.Values{"email": {"qa@example.com"}, "password": {testPassword}, "next": {"//evil.example/x"}})
			wantStatus(t, r, 303)
			if r.Location() != "/" {
				t.Errorf("redirect = %q, want /", r.Location())
			}
		})
		t.Run("RateLimited", func(t *testing.T) {
			c := a.anon()
			c.get("/login")
			for i := 0; i < store.LoginMaxPerEmail; i++ {
				c.post("/login", url.Values{"email": {"support@example.com"}, "password": {"nope nope nope"}})
			}
			r := c.post("/login", url.Values{"email": {"support@example.com"}, "password": {testPassword}})
			wantStatus(t, r, 429)
			wantBody(t, r, "Too many failed sign-in attempts")
			if r.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		})
		t.Run("Logout", func(t *testing.T) {
			c := a.as(models.RoleQA)
			wantStatus(t, c.get("/"), 200)
			r := c.post("/logout", nil)
			wantStatus(t, r, 303)
			if r := c.get("/"); r.Status != 303 {
				t.Errorf("after sign-out GET / = %d, want 303", r.Status)
			}
		})
		t.Run("DisabledOperatorIsSignedOut", func(t *testing.T) {
			c := a.as(models.RoleSupport)
			op := *a.ops[models.RoleSupport]
			op.Disabled = true
			if _, err := a.store.UpdateOperator(context.Background(), op, ""); err != nil {
				t.Fatal(err)
			}
			if r := c.get("/conversations"); r.Status != 303 {
				t.Errorf("disabled operator GET /conversations = %d, want 303 to sign in", r.Status)
			}
		})
	})
}

func TestHealthz(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		r := a.anon().get("/healthz")
		wantStatus(t, r, 200)
		_ = a.store.Close()
		r = a.anon().get("/healthz")
		wantStatus(t, r, 503)
	})
}
