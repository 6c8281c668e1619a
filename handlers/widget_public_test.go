package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
)

const widgetSite = "https://shop.example.com"

// widgetResp is a public widget endpoint's answer.
type widgetResp struct {
	Status int
	Header http.Header
	Raw    string
	JSON   map[string]any
}

// widgetCall calls a public widget endpoint as a browser on origin would
// (origin "": no Origin header); headers are extra name, value pairs.
func widgetCall(t *testing.T, srv *Server, method, path, origin, body string, headers ...string) *widgetResp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := srv.App().Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := &widgetResp{Status: res.StatusCode, Header: res.Header, Raw: string(b)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(b, &out.JSON)
	}
	return out
}

func (r *widgetResp) str(k string) string { s, _ := r.JSON[k].(string); return s }

// newWidget creates a widget for a new local bot with a quoted dataset,
// and returns it with its identity secret.
func newWidget(t *testing.T, a *testApp, w models.WidgetSettings, sessionDuration int64) (*models.Integration, string) {
	t.Helper()
	a.store.SetBox(testBox(t))
	bot, _, _ := apiBot(t, a.api())
	it, secret, err := a.store.CreateIntegration(context.Background(), store.IntegrationInput{Integration: models.Integration{
		Type: models.IntegrationWidget, Name: "Shop", BotID: &bot, Widget: w, SessionDuration: sessionDuration}})
	if err != nil {
		t.Fatal(err)
	}
	return it, secret
}

func sessionBody(fp string, extra ...string) string {
	s := fmt.Sprintf(`{"fingerprint":%q`, fp)
	for i := 0; i+1 < len(extra); i += 2 {
		s += fmt.Sprintf(`,%q:%s`, extra[i], extra[i+1])
	}
	return s + "}"
}

const testFingerprint = "fp_test_0123456789abcdef"

func TestWidgetSessionOrigins(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		it, _ := newWidget(t, a, models.WidgetSettings{Origin: widgetSite + "\nhttps://*.example.org"}, 0)
		bare, _, err := a.store.CreateIntegration(context.Background(), store.IntegrationInput{Integration: models.Integration{
			Type: models.IntegrationWidget, BotID: it.BotID}})
		if err != nil {
			t.Fatal(err)
		}
		path := "/widget/" + it.ID + "/session"
		for _, tc := range []struct {
			name, path, origin string
			want               int
			wantCORS           bool
			wantMessage        string
		}{
			{"Allowed", path, widgetSite, 200, true, ""},
			{"AllowedDefaultPort", path, widgetSite + ":443", 200, true, ""},
			{"AllowedWildcard", path, "https://help.example.org", 200, true, ""},
			{"ErrWildcardApex", path, "https://example.org", 403, false, "not enabled on https://example.org"},
			{"ErrOtherSite", path, "https://evil-example.com", 403, false, "not enabled on https://evil-example.com"},
			{"ErrOtherScheme", path, "http://shop.example.com", 403, false, "not enabled"},
			{"ErrNoOrigin", path, "", 403, false, "did not say which site"},
			{"ErrNoOriginsConfigured", "/widget/" + bare.ID + "/session", widgetSite, 403, false, "not enabled on any site yet"},
			{"ErrUnknownWidget", "/widget/" + models.NewID() + "/session", widgetSite, 404, false, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				contacts := countRows(t, a.store, "contacts")
				r := widgetCall(t, a.srv, http.MethodPost, tc.path, tc.origin, sessionBody(testFingerprint))
				if r.Status != tc.want {
					t.Fatalf("status %d, want %d: %s", r.Status, tc.want, r.Raw)
				}
				if got := r.Header.Get("Access-Control-Allow-Origin"); (got != "") != tc.wantCORS || (tc.wantCORS && got != tc.origin) {
					t.Errorf("Access-Control-Allow-Origin = %q", got)
				}
				if r.Header.Get("Access-Control-Allow-Credentials") != "" || r.Header.Get("Set-Cookie") != "" {
					t.Error("the widget endpoint deals in cookies")
				}
				if tc.wantMessage != "" && !strings.Contains(r.str("message"), tc.wantMessage) {
					t.Errorf("message %q, want it to say %q", r.str("message"), tc.wantMessage)
				}
				if tc.want != 200 && countRows(t, a.store, "contacts") != contacts {
					t.Error("a refused session stored a contact")
				}
				if tc.want == 200 && (!strings.HasPrefix(r.str("token"), store.ConversationTokenPrefix) || r.str("conversationId") == "") {
					t.Errorf("session %s", r.Raw)
				}
			})
		}
		t.Run("Preflight", func(t *testing.T) {
			r := widgetCall(t, a.srv, http.MethodOptions, path, widgetSite, "", "Access-Control-Request-Method", "POST")
			if r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != widgetSite || !strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
				t.Errorf("allowed preflight: %d %v", r.Status, r.Header)
			}
			r = widgetCall(t, a.srv, http.MethodOptions, path, "https://evil.example.com", "", "Access-Control-Request-Method", "POST")
			if r.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("refused preflight has CORS: %v", r.Header)
			}
		})
		t.Run("ConfigSaysWhy", func(t *testing.T) {
			r := widgetCall(t, a.srv, http.MethodGet, "/widget/"+it.ID+"/config", "https://evil.example.com", "")
			if r.Status != 200 || r.JSON["allowed"] != false || r.JSON["widget"] != nil || !strings.Contains(r.str("message"), "not enabled on https://evil.example.com") {
				t.Errorf("config for another site: %s", r.Raw)
			}
			r = widgetCall(t, a.srv, http.MethodGet, "/widget/"+it.ID+"/config", widgetSite, "")
			if r.JSON["allowed"] != true || r.JSON["widget"] == nil {
				t.Errorf("config for the site: %s", r.Raw)
			}
		})
		t.Run("APICORSForWidgetOriginsOnly", func(t *testing.T) {
			s := widgetCall(t, a.srv, http.MethodPost, path, widgetSite, sessionBody(testFingerprint))
			conv, tok := s.str("conversationId"), s.str("token")
			c := a.api().with(tok)
			r := c.do(http.MethodGet, "/conversation/"+conv+"/message/list", "", "Origin", widgetSite)
			if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != widgetSite {
				t.Errorf("allowed origin: %d ACAO %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
			}
			r = c.do(http.MethodPost, "/conversation/"+conv+"/complete", `{"text":"hello"}`, "Origin", "https://evil.example.com")
			if r.Status != 403 || r.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("other origin: %d ACAO %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
			}
			if n := len(messages(t, a.api(), conv)); n != 0 {
				t.Errorf("a refused origin's message was stored: %d messages", n)
			}
			// An API secret's calls keep the API's open CORS.
			r = a.api().do(http.MethodGet, "/conversation/"+conv+"/message/list", "", "Origin", "https://evil.example.com")
			if r.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("API secret: ACAO %q", r.Header.Get("Access-Control-Allow-Origin"))
			}
		})
	})
}

func TestWidgetSessionFlow(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		it, _ := newWidget(t, a, models.WidgetSettings{Origin: widgetSite, TokenLifetime: 300}, int64(time.Hour/time.Millisecond))
		now := time.Now().UTC().Truncate(time.Millisecond)
		a.store.Now = func() time.Time { return now }
		path := "/widget/" + it.ID + "/session"
		first := widgetCall(t, a.srv, http.MethodPost, path, widgetSite, sessionBody(testFingerprint))
		if first.Status != 200 || first.JSON["created"] != true {
			t.Fatalf("first session: %s", first.Raw)
		}
		conv, tok := first.str("conversationId"), first.str("token")
		if exp, _ := time.Parse(time.RFC3339Nano, first.str("expiresAt")); !exp.Equal(now.Add(5 * time.Minute)) {
			t.Errorf("expiresAt %s, want now + the widget's 300 s", first.str("expiresAt"))
		}
		// The widget talks to the API with its token.
		r := a.api().with(tok).do(http.MethodPost, "/conversation/"+conv+"/complete", `{"text":"How much is the Pro plan?"}`, "Origin", widgetSite)
		if r.Status != 200 || !strings.Contains(r.str("text"), "12 dollars") {
			t.Fatalf("complete: %d %s", r.Status, r.Raw)
		}

		t.Run("ResumeReturnsHistory", func(t *testing.T) {
			now = now.Add(10 * time.Minute)
			again := widgetCall(t, a.srv, http.MethodPost, path, widgetSite, sessionBody(testFingerprint, "previousToken", fmt.Sprintf("%q", tok)))
			msgs, _ := again.JSON["messages"].([]any)
			if again.str("conversationId") != conv || again.JSON["created"] != false || len(msgs) != 2 {
				t.Fatalf("resumed: %s", again.Raw)
			}
			if m := msgs[0].(map[string]any); m["type"] != "user" || m["text"] != "How much is the Pro plan?" {
				t.Errorf("first message %v", m)
			}
		})
		t.Run("SessionDurationRollover", func(t *testing.T) {
			now = now.Add(2 * time.Hour)
			later := widgetCall(t, a.srv, http.MethodPost, path, widgetSite, sessionBody(testFingerprint))
			if later.str("conversationId") == conv || later.JSON["created"] != true {
				t.Errorf("after the session duration: %s", later.Raw)
			}
		})
		t.Run("Restart", func(t *testing.T) {
			cur := widgetCall(t, a.srv, http.MethodPost, path, widgetSite, sessionBody(testFingerprint)).str("conversationId")
			fresh := widgetCall(t, a.srv, http.MethodPost, path, widgetSite, sessionBody(testFingerprint, "restart", "true"))
			if fresh.str("conversationId") == cur || fresh.JSON["created"] != true {
				t.Errorf("restart: %s", fresh.Raw)
			}
		})
		t.Run("RevokedTokenEndsTheChat", func(t *testing.T) {
			s := widgetCall(t, a.srv, http.MethodPost, path, widgetSite, sessionBody(testFingerprint))
			c := a.api().with(s.str("token"))
			sess, err := a.store.AuthenticateConversationSession(context.Background(), s.str("token"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.store.RevokeConversationSessions(context.Background(), sess.ConversationID); err != nil {
				t.Fatal(err)
			}
			r := c.do(http.MethodGet, "/conversation/"+s.str("conversationId")+"/message/list", "", "Origin", widgetSite)
			if r.Status != 401 {
				t.Errorf("revoked token: %d", r.Status)
			}
			ended := widgetCall(t, a.srv, http.MethodPost, path, widgetSite, sessionBody(testFingerprint, "previousToken", fmt.Sprintf("%q", s.str("token"))))
			if ended.Status != 200 || ended.JSON["ended"] != true || ended.str("token") != "" || ended.str("message") != WidgetEndedMessage {
				t.Errorf("session after revocation: %s", ended.Raw)
			}
			fresh := widgetCall(t, a.srv, http.MethodPost, path, widgetSite, sessionBody(testFingerprint, "previousToken", fmt.Sprintf("%q", s.str("token")), "restart", "true"))
			if fresh.str("token") == "" || fresh.str("conversationId") == s.str("conversationId") {
				t.Errorf("start a new one: %s", fresh.Raw)
			}
		})
		t.Run("ErrBadInput", func(t *testing.T) {
			for _, body := range []string{`{"fingerprint":"short"}`, `{"fingerprint":1}`, `{"nope":true}`, `[`} {
				r := widgetCall(t, a.srv, http.MethodPost, path, widgetSite, body)
				if r.Status != 400 && r.Status != 422 || r.str("message") == "" || r.Header.Get("Access-Control-Allow-Origin") != widgetSite {
					t.Errorf("%s: %d %s (ACAO %q)", body, r.Status, r.Raw, r.Header.Get("Access-Control-Allow-Origin"))
				}
			}
		})
	})
}

func TestWidgetSignedIdentity(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		it, secret := newWidget(t, a, models.WidgetSettings{Origin: widgetSite, RequireIdentity: true}, 0)
		path := "/widget/" + it.ID + "/session"
		good := models.SignIdentity(secret, "user-42")
		for _, tc := range []struct {
			name, body string
			want       int
		}{
			{"ErrMissing", sessionBody(testFingerprint), 403},
			{"ErrNoSignature", sessionBody(testFingerprint, "userId", `"user-42"`), 403},
			{"ErrWrongSignature", sessionBody(testFingerprint, "userId", `"user-42"`, "signature", fmt.Sprintf("%q", models.SignIdentity(secret, "user-43"))), 403},
			{"ErrOtherSecret", sessionBody(testFingerprint, "userId", `"user-42"`, "signature", fmt.Sprintf("%q", models.SignIdentity("wids_other", "user-42"))), 403},
			{"OK", sessionBody(testFingerprint, "userId", `"user-42"`, "signature", fmt.Sprintf("%q", good)), 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				contacts := countRows(t, a.store, "contacts")
				r := widgetCall(t, a.srv, http.MethodPost, path, widgetSite, tc.body)
				if r.Status != tc.want {
					t.Fatalf("status %d, want %d: %s", r.Status, tc.want, r.Raw)
				}
				if tc.want != 200 && countRows(t, a.store, "contacts") != contacts {
					t.Error("a refused identity stored a contact")
				}
			})
		}
		t.Run("SameUserOtherBrowser", func(t *testing.T) {
			a1 := widgetCall(t, a.srv, http.MethodPost, path, widgetSite, sessionBody("fp_browser_aaaaaaaaaa", "userId", `"user-42"`, "signature", fmt.Sprintf("%q", good)))
			b1 := widgetCall(t, a.srv, http.MethodPost, path, widgetSite, sessionBody("fp_browser_bbbbbbbbbb", "userId", `"user-42"`, "signature", fmt.Sprintf("%q", good)))
			if a1.str("conversationId") == "" || a1.str("conversationId") != b1.str("conversationId") {
				t.Errorf("one signed user, two conversations: %s / %s", a1.Raw, b1.Raw)
			}
		})
	})
}

func TestWidgetSessionRateLimit(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		a.srv = newServer(t, a.store, func(su *serverSetup) {
			su.Config.WidgetAddressRate, su.Config.WidgetRate, su.Config.TrustProxy = 2, 3, true
		})
		it, _ := newWidget(t, a, models.WidgetSettings{Origin: widgetSite}, 0)
		path := "/widget/" + it.ID + "/session"
		call := func(ip string) *widgetResp {
			return widgetCall(t, a.srv, http.MethodPost, path, widgetSite, sessionBody(testFingerprint), "X-Forwarded-For", ip)
		}
		for i := 0; i < 2; i++ {
			if r := call("203.0.113.1"); r.Status != 200 {
				t.Fatalf("session %d: %d %s", i+1, r.Status, r.Raw)
			}
		}
		r := call("203.0.113.1")
		if r.Status != 429 || r.Header.Get("Retry-After") == "" || !strings.Contains(r.str("message"), "from this address") {
			t.Errorf("third from one address: %d %s", r.Status, r.Raw)
		}
		if r := call("203.0.113.2"); r.Status != 200 {
			t.Errorf("another address: %d %s", r.Status, r.Raw)
		}
		if r := call("203.0.113.3"); r.Status != 429 || !strings.Contains(r.str("message"), "for this chat") {
			t.Errorf("over the widget's limit: %d %s", r.Status, r.Raw)
		}
	})
}

func TestWidgetScript(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		id := models.NewID()
		r := widgetCall(t, a.srv, http.MethodGet, "/widget/"+id+".js", "", "", "Accept-Encoding", "gzip")
		if r.Status != 200 || r.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/javascript") {
			t.Fatalf("script: %d %v", r.Status, r.Header)
		}
		// The budget: at most 20 KB gzipped, as served.
		if n := len(r.Raw); n > 20*1024 || n < 1000 {
			t.Errorf("widget script is %d bytes gzipped, budget 20 KB", n)
		} else {
			t.Logf("widget script: %d bytes gzipped (%d raw)", n, len(a.srv.widgetJS.body))
		}
		etag := r.Header.Get("ETag")
		if etag == "" || !strings.Contains(r.Header.Get("Cache-Control"), "max-age=86400") {
			t.Errorf("caching headers: %v", r.Header)
		}
		if r := widgetCall(t, a.srv, http.MethodGet, "/widget/"+id+".js", "", "", "If-None-Match", etag); r.Status != 304 {
			t.Errorf("revalidation: %d", r.Status)
		}
		if r := widgetCall(t, a.srv, http.MethodGet, "/widget/nope.js", "", ""); r.Status != 404 {
			t.Errorf("bad id: %d", r.Status)
		}
	})
}

// addWidgetFixtures adds a widget for the role tests' /widgets/:id routes.
func addWidgetFixtures(t *testing.T, a *testApp, f fixtures) {
	t.Helper()
	bot := f["bots"]
	it, _, err := a.store.CreateIntegration(context.Background(), store.IntegrationInput{Integration: models.Integration{
		Type: models.IntegrationWidget, Name: "Roles widget", BotID: &bot, Widget: models.WidgetSettings{Origin: widgetSite}}})
	if err != nil {
		t.Fatal(err)
	}
	f["widgets"] = it.ID
}

func TestWidgetContactCollection(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		on, _ := newWidget(t, a, models.WidgetSettings{Origin: widgetSite, ContactCollection: true}, 0)
		off, _, err := a.store.CreateIntegration(context.Background(), store.IntegrationInput{Integration: models.Integration{
			Type: models.IntegrationWidget, BotID: on.BotID, Widget: models.WidgetSettings{Origin: widgetSite}}})
		if err != nil {
			t.Fatal(err)
		}
		contact := `{"name":"Ann Lee","email":"ann@example.com"}`
		r := widgetCall(t, a.srv, http.MethodPost, "/widget/"+on.ID+"/session", widgetSite, sessionBody("fp_contact_on_000001", "contact", contact))
		if r.Status != 200 {
			t.Fatal(r.Raw)
		}
		c, err := a.store.FindContact(context.Background(), r.str("contactId"))
		if err != nil || c.Name != "Ann Lee" || c.Email != "ann@example.com" {
			t.Errorf("collected contact: %+v %v", c, err)
		}
		r = widgetCall(t, a.srv, http.MethodPost, "/widget/"+off.ID+"/session", widgetSite, sessionBody("fp_contact_off_00001", "contact", contact))
		if c, err := a.store.FindContact(context.Background(), r.str("contactId")); err != nil || c.Name != "" || c.Email != "" {
			t.Errorf("a widget without contact collection kept %+v %v", c, err)
		}
		r = widgetCall(t, a.srv, http.MethodPost, "/widget/"+on.ID+"/session", widgetSite, sessionBody("fp_contact_bad_00001", "contact", `{"email":"not an email"}`))
		if r.Status != 400 && r.Status != 422 || !strings.Contains(strings.ToLower(r.str("message")), "email") {
			t.Errorf("bad email: %d %s", r.Status, r.Raw)
		}
	})
}
