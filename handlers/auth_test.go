package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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
			if op.LastLoginAt == nil {
				t.Error("setup signs the admin in, but their last sign-in is not recorded")
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

// TestSafeNext: after sign-in, next may only lead to a page of this site.
func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ next, want string }{
		{"", "/"},
		{"/", "/"},
		{"/bots", "/bots"},
		{"/conversations?botId=abc&from=2026-11-01", "/conversations?botId=abc&from=2026-11-01"},
		{"/bots/x#h-chat", "/bots/x#h-chat"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/%0d%0a/evil.example", "/"},
		{"/%00", "/"},
		{"/\r\n/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/ /evil.example", "/"},
		{"%2F%2Fevil.example", "/"},
		{"/%2F%2Fevil.example", "/"},
		{"/%2f/evil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/javascript:alert(1)", "/javascript:alert(1)"},
		{"https://evil.example/", "/"},
		{"http:/evil.example", "/"},
		{"/\u200b/evil.example", "/"},
		{"evil.example", "/"},
	} {
		if got := safeNext(tc.next); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}

// TestLoginNextStaysOnSite drives the sign-in form and the signed-in
// shortcut with a next that browsers would read as another site.
func TestLoginNextStaysOnSite(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		evil := "/\t/evil.example"
		// Signed in already: /login redirects at once.
		r := a.as(models.RoleAdmin).get("/login?next=" + url.QueryEscape(evil))
		wantStatus(t, r, 303)
		if r.Location() != "/" {
			t.Errorf("signed-in redirect to %q, want /", r.Location())
		}
		// Signing in with next in the form.
		c := a.anon()
		c.get("/login")
		r = c.post("/login", url.Values{"email": {"admin@example.com"}, "password": {testPassword}, "next": {evil}})
		wantStatus(t, r, 303)
		if r.Location() != "/" {
			t.Errorf("post-login redirect to %q, want /", r.Location())
		}
		c = a.anon()
		c.get("/login")
		r = c.post("/login", url.Values{"email": {"admin@example.com"}, "password": {testPassword}, "next": {"/datasets?cursor=x"}})
		if r.Location() != "/datasets?cursor=x" {
			t.Errorf("post-login redirect to %q, want /datasets?cursor=x", r.Location())
		}
	})
}

// TestLoginLimiterUnderParallelGuesses: 60 wrong passwords for one email at
// once get 5 password checks (401) and 429 for the rest.
func TestLoginLimiterUnderParallelGuesses(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			counts = map[int]int{}
		)
		for range 60 {
			c := a.anon()
			c.get("/login")
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := c.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"wrong password"}})
				mu.Lock()
				counts[r.Status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if counts[401] != store.LoginMaxPerEmail || counts[429] != 60-store.LoginMaxPerEmail {
			t.Errorf("statuses = %v, want %d × 401 (checked) and the rest 429", counts, store.LoginMaxPerEmail)
		}
	})
}

// TestCSRFSources: the token counts only from a form body or the header, and
// a request from another site is refused even with a valid token.
func TestCSRFSources(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		b := a.as(models.RoleBuilder)
		count := func() int {
			list, _, err := a.store.FindDatasets(context.Background(), models.Page{Limit: models.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}
		post := func(path string, form url.Values, headers map[string]string) *resp {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "text/html")
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			return b.do(req)
		}
		before := count()
		for _, tc := range []struct {
			name    string
			path    string
			form    url.Values
			headers map[string]string
		}{
			{"ErrTokenInQuery", "/datasets?_csrf=" + url.QueryEscape(b.csrf), url.Values{"name": {"From the query"}}, nil},
			{"ErrOtherOrigin", "/datasets", url.Values{"name": {"Cross"}, "_csrf": {b.csrf}}, map[string]string{"Origin": "https://evil.example"}},
			{"ErrNullOrigin", "/datasets", url.Values{"name": {"Null"}, "_csrf": {b.csrf}}, map[string]string{"Origin": "null"}},
			{"ErrOtherReferer", "/datasets", url.Values{"name": {"Ref"}, "_csrf": {b.csrf}}, map[string]string{"Referer": "https://evil.example/page"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := post(tc.path, tc.form, tc.headers)
				wantStatus(t, r, 403)
				if n := count(); n != before {
					t.Errorf("%d datasets, want %d: the request wrote", n, before)
				}
			})
		}
		t.Run("SameOrigin", func(t *testing.T) {
			r := post("/datasets", url.Values{"name": {"Same"}, "_csrf": {b.csrf}}, map[string]string{"Origin": "http://example.com", "Referer": "http://example.com/datasets/new"})
			if r.Status == 403 {
				t.Errorf("a same-origin form was refused: %s", shorten(r.Body, 300))
			}
		})
		t.Run("NoOriginTokenInBody", func(t *testing.T) {
			if r := post("/datasets", url.Values{"name": {"Plain"}, "_csrf": {b.csrf}}, nil); r.Status == 403 {
				t.Errorf("a form without Origin but with its token was refused: %s", shorten(r.Body, 300))
			}
		})
	})
}

// TestStrictTransportSecurity: HSTS goes with Secure cookies, and only then.
func TestStrictTransportSecurity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		for _, tc := range []struct {
			mode string
			want bool
		}{{"always", true}, {"never", false}, {"auto", false}} { // auto: app.Test is plain HTTP
			srv := newServer(t, st, func(su *serverSetup) { su.Config.SecureCookies = tc.mode })
			res, err := srv.App().Test(httptest.NewRequest(http.MethodGet, "/login", nil), -1)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := res.Header.Get("Strict-Transport-Security") != ""; got != tc.want {
				t.Errorf("PARLEY_SECURE_COOKIES=%s: HSTS sent = %v, want %v", tc.mode, got, tc.want)
			}
		}
	})
}
