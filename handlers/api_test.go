package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"parley/handlers/api"
	"parley/models"
	"parley/models/store"
)

// apiClient calls /api/v1 with a Bearer value, as an app or the SDK would.
type apiClient struct {
	t     *testing.T
	srv   *Server
	token string
}

// apiResp is an API answer with its JSON decoded.
type apiResp struct {
	Status int
	Header http.Header
	Raw    string
	JSON   map[string]any
}

func (r *apiResp) str(key string) string {
	s, _ := r.JSON[key].(string)
	return s
}

func (r *apiResp) items() []map[string]any {
	raw, _ := r.JSON["items"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, it := range raw {
		m, _ := it.(map[string]any)
		out = append(out, m)
	}
	return out
}

// api creates an API secret and returns a client using it.
func (a *testApp) api() *apiClient {
	a.t.Helper()
	_, raw, err := a.store.CreateSecret(context.Background(), "test", nil)
	if err != nil {
		a.t.Fatalf("CreateSecret: %v", err)
	}
	return &apiClient{t: a.t, srv: a.srv, token: raw}
}

// with returns a client of the same server using another Bearer value.
func (c *apiClient) with(token string) *apiClient {
	return &apiClient{t: c.t, srv: c.srv, token: token}
}

func (c *apiClient) do(method, path string, body string, headers ...string) *apiResp {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, api.Prefix+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.srv.App().Test(req, -1)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := &apiResp{Status: res.StatusCode, Header: res.Header, Raw: string(b)}
	if mt, _, _ := strings.Cut(res.Header.Get("Content-Type"), ";"); mt == "application/json" {
		if err := json.Unmarshal(b, &out.JSON); err != nil {
			c.t.Fatalf("%s %s: response is not a JSON object: %v\n%s", method, path, err, b)
		}
	}
	return out
}

func (c *apiClient) get(path string) *apiResp {
	c.t.Helper()
	return c.do(http.MethodGet, path, "")
}

func (c *apiClient) post(path, body string) *apiResp {
	c.t.Helper()
	return c.do(http.MethodPost, path, body)
}

// lines posts and reads a JSON-lines answer.
func (c *apiClient) lines(method, path, body string) []map[string]any {
	c.t.Helper()
	r := c.do(method, path, body, "Accept", "application/jsonl")
	if r.Status != http.StatusOK {
		c.t.Fatalf("%s %s: status %d: %s", method, path, r.Status, r.Raw)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/jsonl") {
		c.t.Fatalf("Content-Type = %q, want application/jsonl", ct)
	}
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(r.Raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			c.t.Fatalf("line is not JSON: %v: %s", err, sc.Text())
		}
		out = append(out, ev)
	}
	return out
}

// ok fails unless the status is 200, and returns the response.
func ok(t *testing.T, r *apiResp) *apiResp {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body: %s", r.Status, shorten(r.Raw, 2000))
	}
	return r
}

// wantError fails unless r is the API error {message, code} with that status.
func wantError(t *testing.T, r *apiResp, status int, code string) {
	t.Helper()
	if r.Status != status || r.str("code") != code || r.str("message") == "" {
		t.Fatalf("got %d %q, want %d %s with a message; body: %s", r.Status, r.str("code"), status, code, shorten(r.Raw, 2000))
	}
}

// count returns how many rows a table has.
func count(t *testing.T, s *store.Store, table string) int64 {
	t.Helper()
	var n int64
	if err := s.DB().Table(table).Count(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// fillPath puts ids into a route's parameters.
func fillPath(path string, ids map[string]string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			v := ids[name]
			if v == "" {
				v = models.NewID()
			}
			parts[i] = v
		}
	}
	return strings.Join(parts, "/")
}

func TestAPIAuth(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		t.Run("OK", func(t *testing.T) {
			ok(t, c.get("/bot/list"))
		})
		t.Run("ErrNoHeader", func(t *testing.T) {
			r := c.with("").get("/bot/list")
			wantError(t, r, 401, "UNAUTHORIZED")
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header on 401")
			}
		})
		t.Run("ErrWrongScheme", func(t *testing.T) {
			r := c.do(http.MethodGet, "/bot/list", "", "Authorization", "Basic "+c.token)
			wantError(t, r, 401, "UNAUTHORIZED")
		})
		t.Run("ErrUnknownSecret", func(t *testing.T) {
			wantError(t, c.with(store.SecretPrefix+"nope").get("/bot/list"), 401, "UNAUTHORIZED")
			wantError(t, c.with("garbage").get("/bot/list"), 401, "UNAUTHORIZED")
		})
		t.Run("ErrRevoked", func(t *testing.T) {
			sec, raw, err := a.store.CreateSecret(t.Context(), "revoked", nil)
			if err != nil {
				t.Fatal(err)
			}
			ok(t, c.with(raw).get("/bot/list"))
			if err := a.store.RevokeSecret(t.Context(), sec.ID); err != nil {
				t.Fatal(err)
			}
			wantError(t, c.with(raw).get("/bot/list"), 401, "UNAUTHORIZED")
		})
		t.Run("LastUseRecorded", func(t *testing.T) {
			sec, raw, err := a.store.CreateSecret(t.Context(), "used", nil)
			if err != nil {
				t.Fatal(err)
			}
			ok(t, c.with(raw).get("/bot/list"))
			got, err := a.store.FindSecret(t.Context(), sec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.LastUsedAt == nil {
				t.Error("LastUsedAt not recorded")
			}
		})
		t.Run("ErrUnknownRouteIsJSON", func(t *testing.T) {
			wantError(t, c.get("/nope/list"), 404, "NOT_FOUND")
		})
		t.Run("CORSPreflight", func(t *testing.T) {
			r := c.with("").do(http.MethodOptions, "/conversation/x/complete", "",
				"Origin", "https://shop.example", "Access-Control-Request-Method", "POST",
				"Access-Control-Request-Headers", "authorization,content-type")
			if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatalf("preflight: %d, Allow-Origin %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
			}
			if !strings.Contains(strings.ToLower(r.Header.Get("Access-Control-Allow-Headers")), "authorization") {
				t.Errorf("Allow-Headers = %q, want authorization", r.Header.Get("Access-Control-Allow-Headers"))
			}
		})
	})
}

// TestAPIEveryRoute walks the route table: every route refuses a missing
// token and a session token it does not allow, and lets a session token
// through exactly where the route says so.
func TestAPIEveryRoute(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		conv := ok(t, c.post("/conversation/create", `{"backstory":"Helpful."}`)).str("id")
		other := ok(t, c.post("/conversation/create", `{"backstory":"Helpful."}`)).str("id")
		tok := ok(t, c.post("/conversation/"+conv+"/session/create", `{}`)).str("token")
		sess := c.with(tok)
		routes := a.srv.API().Routes()
		if len(routes) < 45 {
			t.Fatalf("only %d API routes", len(routes))
		}
		sessionRoutes := 0
		for _, r := range routes {
			t.Run(r.OperationID, func(t *testing.T) {
				own := fillPath(r.Path, map[string]string{"conversationId": conv})
				wantError(t, c.with("").do(r.Method, own, "{}"), 401, "UNAUTHORIZED")
				wantError(t, c.with(store.ConversationTokenPrefix+"forged").do(r.Method, own, "{}"), 401, "UNAUTHORIZED")
				theirs := fillPath(r.Path, map[string]string{"conversationId": other})
				wantError(t, sess.do(r.Method, theirs, "{}"), 403, "FORBIDDEN")
				got := sess.do(r.Method, own, "{}")
				if r.Session {
					sessionRoutes++
					if got.Status == 401 || got.Status == 403 {
						t.Fatalf("session token refused on its own conversation: %d %s", got.Status, got.Raw)
					}
				} else {
					wantError(t, got, 403, "FORBIDDEN")
				}
			})
		}
		if sessionRoutes != 9 {
			t.Errorf("%d routes take a session token, want 9 (send, receive, complete, message list and create, and the four votes)", sessionRoutes)
		}
	})
}
