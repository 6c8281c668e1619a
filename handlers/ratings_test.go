package handlers

import (
	"context"
	"net/url"
	"testing"

	"parley/models"
)

// TestRatingsPerRater: an operator in the dashboard, an app with an API
// secret and the end user with a session token rate the same answer; all
// three ratings are kept and shown, and a rater voting again replaces only
// their own.
func TestRatingsPerRater(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		app := a.api()
		conv := ok(t, app.post("/conversation/create", `{"model":"local"}`)).str("id")
		bot := ok(t, app.post("/conversation/"+conv+"/complete", `{"text":"Hello!"}`)).str("id")
		token := ok(t, app.post("/conversation/"+conv+"/session/create", `{}`)).str("token")

		support := a.as(models.RoleSupport)
		wantStatus(t, support.htmx("/conversations/"+conv+"/messages/"+bot+"/vote", url.Values{"vote": {"down"}, "reason": {"too short"}}), 200)
		ok(t, app.post("/conversation/"+conv+"/message/"+bot+"/upvote", `{"reason":"fine for the app"}`))
		ok(t, app.with(token).post("/conversation/"+conv+"/message/"+bot+"/upvote", `{"value":5}`))

		rs, err := a.store.FindRatings(ctx, conv, []string{bot})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, r := range rs[bot] {
			got[r.RaterKind] = r.Value
		}
		if len(rs[bot]) != 3 || got[models.RaterOperator] != -1 || got[models.RaterAPI] != 1 || got[models.RaterEndUser] != 5 {
			t.Fatalf("ratings = %+v, want one per rater", rs[bot])
		}
		r := support.get("/conversations/" + conv)
		wantBody(t, r, "▲ 2", "▼ 1", "by support@example.com", "“too short”", "by API: test", "by end user")

		// The operator changes their mind: their rating is replaced, the others stay.
		wantStatus(t, support.htmx("/conversations/"+conv+"/messages/"+bot+"/vote", url.Values{"vote": {"up"}}), 200)
		rs, _ = a.store.FindRatings(ctx, conv, []string{bot})
		ups := 0
		for _, r := range rs[bot] {
			if r.Up() {
				ups++
			}
		}
		if len(rs[bot]) != 3 || ups != 3 {
			t.Errorf("after the operator's second vote: %+v", rs[bot])
		}
		// Clearing removes only theirs.
		wantStatus(t, support.htmx("/conversations/"+conv+"/messages/"+bot+"/vote", url.Values{"vote": {"clear"}}), 200)
		if rs, _ = a.store.FindRatings(ctx, conv, []string{bot}); len(rs[bot]) != 2 {
			t.Errorf("after clearing: %+v", rs[bot])
		}
		// Only answers can be rated, by every path.
		user := ""
		for _, m := range messagesOf(t, a.store, conv) {
			if m.Type == models.MessageUser {
				user = m.ID
			}
		}
		wantStatus(t, support.htmx("/conversations/"+conv+"/messages/"+user+"/vote", url.Values{"vote": {"up"}}), 422)
		if r := app.post("/conversation/"+conv+"/message/"+user+"/upvote", `{}`); r.Status != 400 {
			t.Errorf("API upvote of a user message: %d, want 400", r.Status)
		}
	})
}

// TestIdempotencyKey: the API's Idempotency-Key makes a retried complete
// store its message once and answer it once.
func TestIdempotencyKey(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		app := a.api()
		conv := ok(t, app.post("/conversation/create", `{"model":"local"}`)).str("id")
		var first string
		for i := range 5 {
			r := ok(t, app.do("POST", "/conversation/"+conv+"/complete", `{"text":"Order once, please"}`, "Idempotency-Key", "order-42"))
			if i == 0 {
				first = r.str("id")
			} else if r.str("id") != first {
				t.Errorf("retry %d answered %s, want the first answer %s", i, r.str("id"), first)
			}
		}
		users, bots := 0, 0
		for _, m := range messagesOf(t, a.store, conv) {
			switch m.Type {
			case models.MessageUser:
				users++
			case models.MessageBot:
				bots++
			}
		}
		if users != 1 || bots != 1 {
			t.Errorf("%d user messages and %d answers, want 1 and 1", users, bots)
		}
		// Another key is another message.
		ok(t, app.do("POST", "/conversation/"+conv+"/complete", `{"text":"Order once, please"}`, "Idempotency-Key", "order-43"))
		if n := len(messagesOf(t, a.store, conv)); n != 4 {
			t.Errorf("%d messages after a second key, want 4", n)
		}
		if r := app.do("POST", "/conversation/"+conv+"/send", `{"text":"x"}`, "Idempotency-Key", "bad key with spaces"); r.Status != 400 {
			t.Errorf("a malformed key: %d, want 400", r.Status)
		}
	})
}
