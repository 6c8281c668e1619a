package handlers

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"parley/models"
)

func TestBadInput(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		builder := a.as(models.RoleBuilder)
		t.Run("ErrBodyTooLarge", func(t *testing.T) {
			srv := newServer(t, a.store, func(su *serverSetup) { su.Config.BodyLimit = 4096 })
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = srv.Serve(ln) }()
			defer srv.App().Shutdown()
			before := countBots(t, a.store)
			req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/bots",
				strings.NewReader("_csrf="+builder.csrf+"&name=Big&backstory="+strings.Repeat("x", 8192)))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range builder.cookies {
				req.AddCookie(&http.Cookie{Name: k, Value: v})
			}
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				res.Body.Close()
				if res.StatusCode != http.StatusRequestEntityTooLarge {
					t.Errorf("status = %d, want 413", res.StatusCode)
				}
			}
			if countBots(t, a.store) != before {
				t.Error("an over-large body created a bot")
			}
		})
		t.Run("ErrMalformedForm", func(t *testing.T) {
			before := countBots(t, a.store)
			req := httptest.NewRequest(http.MethodPost, "/bots", strings.NewReader("_csrf="+builder.csrf+"&name=X&privacy=maybe"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "text/html")
			r := builder.do(req)
			wantStatus(t, r, 422)
			wantBody(t, r, "could not be read")
			if countBots(t, a.store) != before {
				t.Error("a malformed form created a bot")
			}
		})
		t.Run("ErrJSONClientGetsJSON", func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/bots/00000000-0000-7000-8000-000000000000", nil)
			req.Header.Set("Accept", "application/json")
			r := builder.do(req)
			wantStatus(t, r, 404)
			wantBody(t, r, `"code":"NOT_FOUND"`, `"message":"Bot not found."`)
		})
		t.Run("UnknownPage", func(t *testing.T) {
			r := builder.get("/no/such/page")
			wantStatus(t, r, 404)
			wantBody(t, r, "There is no page at /no/such/page")
		})
		t.Run("InternalErrorsShowNoDetail", func(t *testing.T) {
			_ = a.store.Close()
			r := builder.get("/datasets")
			if r.Status != 500 && r.Status != 503 && r.Status != 303 {
				t.Errorf("status with the database closed = %d", r.Status)
			}
			wantNoBody(t, r, "sql:", "database is closed", "gorm")
		})
	})
}
