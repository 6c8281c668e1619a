package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// TestDatabaseOutage takes PostgreSQL away for real (a TCP proxy between
// Parley and the server is stopped): every request answers 503 UNAVAILABLE
// with Retry-After, none names the database, its user, host or port, nothing
// is written, and Parley recovers when the database comes back.
func TestDatabaseOutage(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		if d != store.Postgres {
			continue
		}
		t.Run(d, func(t *testing.T) {
			dsn := storetest.URL(t, store.Postgres)
			proxy := storetest.NewProxy(t, dsn)
			st, err := store.Open(context.Background(), proxy.URL(dsn), store.Options{MaxOpenConns: 4})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if _, err := st.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			a := newTestApp(t, st)
			admin := a.as(models.RoleAdmin)
			cl := a.api()
			conv := cl.post("/conversation/create", `{"model":"local"}`)
			if conv.Status != http.StatusOK {
				t.Fatalf("create conversation: %d %s", conv.Status, conv.Raw)
			}
			convID := conv.str("id")
			before := len(messagesOf(t, st, convID))

			u, _ := url.Parse(dsn)
			leaks := []string{proxy.Addr(), u.Host, u.Port(), "postgres", "search_path", u.Query().Get("search_path"), "user=", "dial", "127.0.0.1"}
			noLeak := func(t *testing.T, body string) {
				t.Helper()
				for _, l := range leaks {
					if l != "" && strings.Contains(body, l) {
						t.Errorf("the answer names %q:\n%s", l, body)
					}
				}
			}
			proxy.Stop()

			for _, tc := range []struct{ name, path, body string }{
				{"List", "/bot/list", ""},
				{"Send", "/conversation/" + convID + "/send", `{"text":"Hello?"}`},
				{"Complete", "/conversation/" + convID + "/complete", `{"text":"Hello?"}`},
			} {
				t.Run("API"+tc.name, func(t *testing.T) {
					var r *apiResp
					if tc.body == "" {
						r = cl.get(tc.path)
					} else {
						r = cl.post(tc.path, tc.body)
					}
					if r.Status != http.StatusServiceUnavailable || r.str("code") != "UNAVAILABLE" {
						t.Fatalf("status %d code %q, want 503 UNAVAILABLE: %s", r.Status, r.str("code"), r.Raw)
					}
					if r.Header.Get("Retry-After") == "" {
						t.Error("no Retry-After")
					}
					noLeak(t, r.Raw)
				})
			}
			t.Run("Dashboard", func(t *testing.T) {
				for _, path := range []string{"/bots", "/conversations/" + convID} {
					r := admin.get(path)
					if r.Status != http.StatusServiceUnavailable {
						t.Fatalf("GET %s: status %d, want 503: %s", path, r.Status, shorten(r.Body, 500))
					}
					if r.Header.Get("Retry-After") == "" {
						t.Errorf("GET %s: no Retry-After", path)
					}
					noLeak(t, r.Body)
				}
				r := admin.htmx("/conversations/"+convID+"/turns", url.Values{"text": {"Anyone there?"}})
				if r.Status != http.StatusServiceUnavailable {
					t.Fatalf("turn: status %d, want 503: %s", r.Status, r.Body)
				}
				noLeak(t, r.Body)
			})

			proxy.Start()
			t.Run("Recovers", func(t *testing.T) {
				waitFor(t, "the API to answer again", func() bool { return cl.get("/bot/list").Status == http.StatusOK })
				if r := admin.get("/bots"); r.Status != http.StatusOK {
					t.Errorf("dashboard after recovery: %d", r.Status)
				}
				if n := len(messagesOf(t, st, convID)); n != before {
					t.Errorf("%d messages after the outage, want %d (nothing accepted)", n, before)
				}
				if r := cl.post("/conversation/"+convID+"/complete", `{"text":"Hello again"}`); r.Status != http.StatusOK {
					t.Errorf("complete after recovery: %d %s", r.Status, r.Raw)
				}
			})
		})
	}
}
