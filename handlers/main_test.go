package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"parley/app/channel"
	"parley/app/config"
	"parley/app/engine"
	"parley/app/engine/ability"
	"parley/app/live"
	"parley/app/providers"
	"parley/app/qa"
	"parley/app/retrieval"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

func TestMain(m *testing.M) {
	store.BcryptCost = bcrypt.MinCost
	sseMaxDuration = 200 * time.Millisecond // event streams end quickly, so tests can read them
	os.Exit(m.Run())
}

// testApp is the real server on a real, migrated database, with one operator per role.
type testApp struct {
	t     *testing.T
	srv   *Server
	store *store.Store
	ops   map[string]*models.Operator
}

// testPassword is every test operator's password.
const testPassword = "correct horse battery"

// eachApp runs fn on a fresh app per database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set).
func eachApp(t *testing.T, fn func(t *testing.T, a *testApp)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fn(t, newTestApp(t, s))
	})
}

// serverSetup is what newServer wires; tweaks may change any of it first.
type serverSetup struct {
	Options
	// Engine are the engine's options (its provider resolver, say).
	Engine engine.Options
}

// newServer builds the real server as app/main wires it — configuration
// defaults, the provider resolver, the ability loader, the engine, the turn
// service and a broker — after applying tweaks. Running turns are waited for
// when the test ends, before its database closes.
func newServer(t testing.TB, st *store.Store, tweaks ...func(*serverSetup)) *Server {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	resolver := providers.New(st)
	loader := ability.NewLoader(ability.NewGuardedClient(ability.GuardOptions{}), st.VaultValue, st)
	retriever, err := retrieval.New(retrieval.Options{Store: st, Clients: resolver, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	su := &serverSetup{
		Options: Options{Config: cfg, Version: "test", Store: st, Logger: discardLogger(), Broker: live.NewBroker(),
			Providers: resolver, Abilities: loader, Retriever: retriever},
		Engine: engine.Options{Store: st, Logger: discardLogger(), Providers: resolver.Resolve, Abilities: engine.Abilities(loader.Runner),
			ModerationWords: cfg.ModerationWords, Retriever: retriever},
	}
	for _, tw := range tweaks {
		tw(su)
	}
	if su.Turns == nil {
		su.Turns, err = engine.NewService(engine.ServiceOptions{Engine: engine.New(su.Engine), Store: st, Broker: su.Broker,
			Logger: su.Logger, TurnTimeout: su.Config.Timeouts.Turn})
		if err != nil {
			t.Fatal(err)
		}
	}
	if su.QA == nil {
		su.QA, err = qa.New(qa.Options{Store: st, Turns: su.Turns, Broker: su.Broker, Providers: su.Engine.Providers, Retriever: su.Engine.Retriever, Logger: su.Logger})
		if err != nil {
			t.Fatal(err)
		}
	}
	if su.Channels == nil {
		// No queue is set on the store: the channel routes answer 503
		// (the channels' own tests run the queue, in app/).
		su.Channels, err = channel.New(channel.Options{Store: st, Turns: su.Turns, Broker: su.Broker, Logger: su.Logger,
			Callbacks: ability.NewGuardedClient(ability.GuardOptions{}), Telegram: http.DefaultClient,
			TelegramAPIURL: su.Config.TelegramAPIURL, Limits: su.Config.Channels})
		if err != nil {
			t.Fatal(err)
		}
	}
	srv, err := New(su.Options)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

func newTestApp(t *testing.T, s *store.Store) *testApp {
	t.Helper()
	srv := newServer(t, s)
	a := &testApp{t: t, srv: srv, store: s, ops: map[string]*models.Operator{}}
	ctx := context.Background()
	admin, err := s.CreateFirstAdmin(ctx, "admin@example.com", "Admin", testPassword)
	if err != nil {
		t.Fatalf("CreateFirstAdmin: %v", err)
	}
	a.ops[models.RoleAdmin] = admin
	for _, role := range []string{models.RoleBuilder, models.RoleQA, models.RoleSupport} {
		op, err := s.CreateOperator(ctx, models.Operator{Email: role + "@example.com", Name: strings.ToUpper(role[:1]) + role[1:], Role: role}, testPassword)
		if err != nil {
			t.Fatalf("CreateOperator %s: %v", role, err)
		}
		a.ops[role] = op
	}
	return a
}

// client is a browser: it keeps cookies and knows its CSRF token.
type client struct {
	a       *testApp
	cookies map[string]string
	csrf    string
}

// anon returns a signed-out browser.
func (a *testApp) anon() *client { return &client{a: a, cookies: map[string]string{}} }

// as returns a browser signed in as the operator with that role (a session
// made directly in the store; the sign-in form has its own tests).
func (a *testApp) as(role string) *client {
	a.t.Helper()
	op, ok := a.ops[role]
	if !ok {
		a.t.Fatalf("no operator with role %q", role)
	}
	tok, sess, err := a.store.CreateSession(context.Background(), op.ID, "127.0.0.1", "test")
	if err != nil {
		a.t.Fatalf("CreateSession: %v", err)
	}
	return &client{a: a, cookies: map[string]string{sessionCookie: tok}, csrf: sess.CSRFToken}
}

// resp is a response with its body read.
type resp struct {
	Status int
	Body   string
	Header http.Header
}

// Location is the redirect target (or htmx's HX-Redirect).
func (r *resp) Location() string {
	if l := r.Header.Get("Location"); l != "" {
		return l
	}
	return r.Header.Get("HX-Redirect")
}

func (c *client) do(req *http.Request) *resp {
	c.a.t.Helper()
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	res, err := c.a.srv.App().Test(req, -1)
	if err != nil {
		c.a.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
			continue
		}
		c.cookies[ck.Name] = ck.Value
		if ck.Name == csrfCookie && c.cookies[sessionCookie] == "" {
			c.csrf = ck.Value
		}
	}
	return &resp{Status: res.StatusCode, Body: string(b), Header: res.Header}
}

// get fetches a page.
func (c *client) get(path string) *resp {
	c.a.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Accept", "text/html")
	return c.do(req)
}

// post submits a form, with the CSRF token added unless the form has one.
func (c *client) post(path string, form url.Values) *resp {
	c.a.t.Helper()
	return c.postWith(path, form, nil)
}

// htmxGet fetches a fragment the way htmx does.
func (c *client) htmxGet(path string) *resp {
	c.a.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("HX-Request", "true")
	return c.do(req)
}

// htmx submits a form the way htmx does (HX-Request and the CSRF header).
func (c *client) htmx(path string, form url.Values) *resp {
	c.a.t.Helper()
	return c.postWith(path, form, map[string]string{"HX-Request": "true", "X-CSRF-Token": c.csrf})
}

func (c *client) postWith(path string, form url.Values, headers map[string]string) *resp {
	c.a.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok && headers["X-CSRF-Token"] == "" {
		form.Set("_csrf", c.csrf)
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return c.do(req)
}

// wantStatus fails the test unless r has the status.
func wantStatus(t *testing.T, r *resp, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status = %d, want %d; body:\n%s", r.Status, want, shorten(r.Body, 2000))
	}
}

// wantBody fails the test unless the body contains every string.
func wantBody(t *testing.T, r *resp, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(r.Body, w) {
			t.Errorf("body does not contain %q; body:\n%s", w, shorten(r.Body, 3000))
		}
	}
}

// wantNoBody fails the test if the body contains any of the strings.
func wantNoBody(t *testing.T, r *resp, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(r.Body, w) {
			t.Errorf("body contains %q but should not", w)
		}
	}
}

var idInPath = regexp.MustCompile(`/[a-z]+/([0-9a-f-]{36})`)

// createdID returns the id in a redirect such as /bots/<id>.
func createdID(t *testing.T, r *resp) string {
	t.Helper()
	m := idInPath.FindStringSubmatch(r.Location())
	if m == nil {
		t.Fatalf("no id in redirect %q (status %d); body:\n%s", r.Location(), r.Status, shorten(r.Body, 2000))
	}
	return m[1]
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
