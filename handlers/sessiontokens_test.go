package handlers

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"parley/models"
)

func TestSessionTokens(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		builder := a.as(models.RoleBuilder)
		sec, raw, err := a.store.CreateSecret(ctx, "Widget backend", nil)
		if err != nil {
			t.Fatal(err)
		}
		app := a.api().with(raw)
		newConv := func(name string) string {
			t.Helper()
			return ok(t, app.post("/conversation/create", fmt.Sprintf(`{"name":%q}`, name))).str("id")
		}
		newToken := func(convID string) string {
			t.Helper()
			return ok(t, app.post("/conversation/"+convID+"/session/create", `{}`)).str("token")
		}
		tokenID := func(token string) string {
			t.Helper()
			var ids []string
			if err := a.store.DB().Table("conversation_sessions").Where("token_hash = ?", models.HashToken(token)).Pluck("id", &ids).Error; err != nil || len(ids) != 1 {
				t.Fatalf("token's session: %v, %v", ids, err)
			}
			return ids[0]
		}
		works := func(t *testing.T, convID, token string, want bool) {
			t.Helper()
			r := app.with(token).get("/conversation/" + convID + "/message/list")
			if got := r.Status == 200; got != want {
				t.Errorf("token works = %v (status %d), want %v", got, r.Status, want)
			}
		}

		t.Run("EmptyState", func(t *testing.T) {
			r := builder.get("/session-tokens")
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Session tokens · Parley</title>", `href="/session-tokens" aria-current="page">Session tokens</a>`,
				"No live session tokens", "session/create")
		})
		t.Run("NavLinkForThoseWhoMaySee", func(t *testing.T) {
			for role, want := range map[string]bool{models.RoleAdmin: true, models.RoleBuilder: true, models.RoleQA: false, models.RoleSupport: false} {
				r := a.as(role).get("/")
				wantStatus(t, r, 200)
				if got := strings.Contains(r.Body, `href="/session-tokens"`); got != want {
					t.Errorf("%s sees the Session tokens link = %v, want %v", role, got, want)
				}
			}
		})

		pricing := newConv("Pricing chat")
		unnamed := newConv("")
		used := newToken(pricing)
		unused := newToken(pricing)
		other := newToken(unnamed)
		works(t, pricing, used, true)

		t.Run("List", func(t *testing.T) {
			r := builder.get("/session-tokens")
			wantStatus(t, r, 200)
			wantBody(t, r, `<a href="/conversations/`+pricing+`">Pricing chat</a>`,
				`<a href="/conversations/`+unnamed+`">Conversation `+shortID(unnamed)+`</a>`,
				"<td>Widget backend</td>", `<td class="small muted">never</td>`,
				`href="/session-tokens/`+tokenID(used)+`/revoke"`, `href="/session-tokens/`+tokenID(unused)+`/revoke"`,
				`href="/conversations/`+pricing+`/session-tokens/revoke"`, "Revoke all for this conversation")
			if n := strings.Count(r.Body, "<time datetime="); n != 3*2+1 {
				t.Errorf("times shown = %d, want created and expires for 3 tokens and one last use", n)
			}
			wantNoBody(t, r, used, unused, other, raw, "No live session tokens")
		})
		t.Run("Paginated", func(t *testing.T) {
			first := builder.get("/session-tokens?limit=2")
			wantStatus(t, first, 200)
			wantBody(t, first, `rel="next"`, `href="/session-tokens/`+tokenID(other)+`/revoke"`, `href="/session-tokens/`+tokenID(unused)+`/revoke"`)
			wantNoBody(t, first, `href="/session-tokens/`+tokenID(used)+`/revoke"`)
			second := builder.get("/session-tokens?limit=2&cursor=" + tokenID(unused))
			wantStatus(t, second, 200)
			wantBody(t, second, `href="/session-tokens/`+tokenID(used)+`/revoke"`, "« First page")
			wantNoBody(t, second, `rel="next"`)
			wantStatus(t, builder.get("/session-tokens?cursor=nope"), 422)
		})
		t.Run("ErrCSRF", func(t *testing.T) {
			r := builder.post("/session-tokens/"+tokenID(unused)+"/revoke", url.Values{"_csrf": {"forged"}})
			wantStatus(t, r, 403)
			r = builder.post("/conversations/"+pricing+"/session-tokens/revoke", url.Values{"_csrf": {"forged"}})
			wantStatus(t, r, 403)
			works(t, pricing, unused, true)
			works(t, pricing, used, true)
		})
		t.Run("ErrQAForbidden", func(t *testing.T) {
			qa := a.as(models.RoleQA)
			wantStatus(t, qa.get("/session-tokens"), 403)
			wantStatus(t, qa.post("/session-tokens/"+tokenID(unused)+"/revoke", nil), 403)
			wantStatus(t, qa.post("/conversations/"+pricing+"/session-tokens/revoke", nil), 403)
			works(t, pricing, unused, true)
		})
		t.Run("RevokeOne", func(t *testing.T) {
			id := tokenID(unused)
			confirm := builder.get("/session-tokens/" + id + "/revoke")
			wantStatus(t, confirm, 200)
			wantBody(t, confirm, "Revoke this session token of &#34;Pricing chat&#34;?", `action="/session-tokens/`+id+`/revoke"`,
				"Revoke token", "Widget backend", `name="_csrf"`)
			r := builder.post("/session-tokens/"+id+"/revoke", nil)
			wantStatus(t, r, 303)
			if r.Location() != "/session-tokens" {
				t.Errorf("Location = %q", r.Location())
			}
			works(t, pricing, unused, false)
			works(t, pricing, used, true)
			list := builder.get("/session-tokens")
			wantBody(t, list, "Session token of &#34;Pricing chat&#34; revoked.", `href="/session-tokens/`+tokenID(used)+`/revoke"`)
			wantNoBody(t, list, `href="/session-tokens/`+id+`/revoke"`)

			again := builder.get("/session-tokens/" + id + "/revoke")
			wantStatus(t, again, 303)
			wantBody(t, builder.get("/session-tokens"), "has already ended")
		})
		t.Run("RevokeAllForConversation", func(t *testing.T) {
			another := newToken(pricing)
			confirm := builder.get("/conversations/" + pricing + "/session-tokens/revoke")
			wantStatus(t, confirm, 200)
			wantBody(t, confirm, "Revoke every session token of &#34;Pricing chat&#34;?", `action="/conversations/`+pricing+`/session-tokens/revoke"`)
			r := builder.post("/conversations/"+pricing+"/session-tokens/revoke", nil)
			wantStatus(t, r, 303)
			works(t, pricing, used, false)
			works(t, pricing, another, false)
			works(t, unnamed, other, true)
			list := builder.get("/session-tokens")
			wantBody(t, list, "Revoked 2 session tokens of &#34;Pricing chat&#34;.", `href="/session-tokens/`+tokenID(other)+`/revoke"`)
			wantNoBody(t, list, "Pricing chat</a>")
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantStatus(t, builder.get("/session-tokens/"+models.NewID()+"/revoke"), 404)
			wantStatus(t, builder.post("/session-tokens/"+models.NewID()+"/revoke", nil), 404)
			wantStatus(t, builder.get("/conversations/"+models.NewID()+"/session-tokens/revoke"), 404)
			wantStatus(t, builder.post("/conversations/"+models.NewID()+"/session-tokens/revoke", nil), 404)
		})
		t.Run("RevokingTheSecretEndsItsTokens", func(t *testing.T) {
			admin := a.as(models.RoleAdmin)
			wantBody(t, admin.get("/secrets/"+sec.ID+"/revoke"), "every session token it created")
			wantStatus(t, admin.post("/secrets/"+sec.ID+"/revoke", nil), 303)
			works(t, unnamed, other, false)
			list := builder.get("/session-tokens")
			wantBody(t, list, "No live session tokens")
		})
	})
}
