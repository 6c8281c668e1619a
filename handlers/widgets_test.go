package handlers

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"parley/models"
)

func TestWidgetDashboard(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		a.store.SetBox(testBox(t))
		bot := mustBot(t, a.store, "Shop bot")
		c := a.as(models.RoleBuilder)
		form := url.Values{"name": {"Shop"}, "botId": {bot.ID}, "title": {"Shop <help>"}, "origin": {"shop.example.com"},
			"theme": {"dark"}, "layout": {"bubble"}, "sessionMinutes": {"30"}, "tokenLifetime": {"900"}, "stream": {"true"}}

		t.Run("ErrKeepsInputWritesNothing", func(t *testing.T) {
			r := c.post("/widgets", form)
			wantStatus(t, r, 422)
			wantBody(t, r, "has no scheme", "shop.example.com", "Shop &lt;help&gt;")
			if n := countRows(t, a.store, "integrations"); n != 0 {
				t.Errorf("%d integrations stored from bad input", n)
			}
		})
		var id string
		t.Run("CreateShowsSecretOnce", func(t *testing.T) {
			form.Set("origin", "https://shop.example.com\nhttps://*.example.org")
			r := c.post("/widgets", form)
			wantStatus(t, r, 303)
			loc := r.Location()
			id = strings.Split(strings.TrimPrefix(loc, "/widgets/"), "/")[0]
			page := c.get(loc)
			wantStatus(t, page, 200)
			wantBody(t, page, models.IdentitySecretPrefix, "will not be shown again")
			again := c.get(loc)
			if strings.Contains(again.Body, models.IdentitySecretPrefix) {
				t.Error("the identity secret was shown twice")
			}
			// Audited as the widget's creation, with its id.
			evs, _, err := a.store.FindAuditEvents(context.Background(), models.AuditFilter{ObjectType: "widgets"})
			if err != nil || len(evs) != 1 || evs[0].Action != "create" || evs[0].ObjectID != id {
				t.Errorf("audit = %+v, %v; want one create of %s", evs, err, id)
			}
		})
		t.Run("ShowSnippetOriginsPreview", func(t *testing.T) {
			r := c.get("/widgets/" + id)
			wantStatus(t, r, 200)
			wantBody(t, r, "/widget/"+id+".js&#34; async&gt;&lt;/script&gt;", `data-target=&#34;#parley-chat&#34;`, "https://*.example.org",
				`data-session-url="/widgets/`+id+`/preview/session"`, "Copy the snippet")
		})
		t.Run("CheckAnOrigin", func(t *testing.T) {
			wantBody(t, c.get("/widgets/"+id+"?origin=https://a.example.org"), "https://a.example.org is allowed")
			wantBody(t, c.get("/widgets/"+id+"?origin=https://example.org"), "https://example.org is not allowed")
			wantBody(t, c.get("/widgets/"+id+"?origin=example.org"), "has no scheme")
		})
		t.Run("ListedWithTheIntegrations", func(t *testing.T) {
			// The Integrations list names it a widget and links its own
			// pages; the Telegram/webhook pages send it there or refuse.
			r := c.get("/integrations")
			wantStatus(t, r, 200)
			wantBody(t, r, `<a href="/widgets/`+id+`">Shop</a>`, "Web chat widget", "origins allowed", `href="/widgets/new"`)
			show := c.get("/integrations/" + id)
			wantStatus(t, show, 303)
			if show.Location() != "/widgets/"+id {
				t.Errorf("/integrations/{widget} redirects to %q", show.Location())
			}
			wantStatus(t, c.get("/integrations/"+id+"/edit"), 404)
			wantStatus(t, c.post("/integrations/"+id+"/delete", nil), 404)
			if n := countRows(t, a.store, "integrations"); n != 1 {
				t.Errorf("%d integrations after a refused delete, want 1", n)
			}
		})
		t.Run("EditAndDelete", func(t *testing.T) {
			form.Set("title", "New title")
			wantStatus(t, c.post("/widgets/"+id, form), 303)
			wantBody(t, c.get("/widgets/"+id), "New title")
			wantBody(t, c.get("/widgets/"+id+"/delete"), "Delete the widget")
			wantStatus(t, c.post("/widgets/"+id+"/delete", nil), 303)
			if n := countRows(t, a.store, "integrations"); n != 0 {
				t.Errorf("%d integrations after delete", n)
			}
		})
		t.Run("EmptyList", func(t *testing.T) {
			wantBody(t, c.get("/widgets"), "No web chat widgets yet")
		})
	})
}

func TestWidgetSessionsPage(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		it, _ := newWidget(t, a, models.WidgetSettings{Origin: widgetSite}, 0)
		r := widgetCall(t, a.srv, "POST", "/widget/"+it.ID+"/session", widgetSite, sessionBody(testFingerprint))
		if r.Status != 200 {
			t.Fatal(r.Raw)
		}
		page := a.as(models.RoleBuilder).get("/session-tokens")
		wantStatus(t, page, 200)
		wantBody(t, page, `<a href="/widgets/`+it.ID+`">web chat widget</a>`, "widget:"+testFingerprint)
	})
}
