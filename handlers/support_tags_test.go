package handlers

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"parley/models"
)

func TestSupportTagManage(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		support := a.as(models.RoleSupport)
		bot := convTestBot(t, a, "Shop")
		conv := convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "Tagged"},
			models.Message{Type: models.MessageUser, Text: "question"}, models.Message{Type: models.MessageBot, Text: "answer"})
		msgs, _, err := a.store.FindMessages(ctx, conv.ID, models.Page{Order: models.OrderAsc})
		if err != nil {
			t.Fatal(err)
		}
		tag, err := a.store.CreateTag(ctx, models.Tag{BotID: bot.ID, Name: "wrong answer", Color: "red"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.store.CreateTag(ctx, models.Tag{BotID: bot.ID, Name: "Refund", Color: "blue"}); err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if err := a.store.TagMessage(ctx, conv.ID, m.ID, tag.ID, models.Reviewer{Name: "Support"}); err != nil {
				t.Fatal(err)
			}
		}
		base := "/conversations/" + conv.ID
		audits := func(action string) []models.AuditEvent {
			t.Helper()
			evs, _, err := a.store.FindAuditEvents(ctx, models.AuditFilter{ObjectType: "tags", Action: action})
			if err != nil {
				t.Fatal(err)
			}
			return evs
		}

		t.Run("CardOffersRenameAndDelete", func(t *testing.T) {
			r := support.get(base)
			wantBody(t, r, `action="`+base+`/tags/`+tag.ID+`"`, `aria-label="Delete tag wrong answer"`, `href="`+base+`/tags/`+tag.ID+`/delete"`,
				"Name of tag wrong answer", "Colour of tag wrong answer")
		})
		t.Run("ErrDuplicateKeepsInput", func(t *testing.T) {
			r := support.htmx(base+"/tags/"+tag.ID, url.Values{"name": {"refund"}, "color": {"green"}})
			wantStatus(t, r, 422)
			wantBody(t, r, `id="review-card"`, "This bot already has a tag with that name.", `value="refund"`, `<option value="green" selected>`,
				`aria-describedby="e-tag-`+tag.ID+`-name"`)
			if got, _ := a.store.FindTag(ctx, tag.ID); got.Name != "wrong answer" || got.Color != "red" {
				t.Errorf("tag after a refused rename = %+v", got)
			}
			if n := len(audits("change")); n != 0 {
				t.Errorf("%d audit entries for a refused rename", n)
			}
		})
		t.Run("ErrBadColour", func(t *testing.T) {
			r := support.htmx(base+"/tags/"+tag.ID, url.Values{"name": {"fine"}, "color": {"pink"}})
			wantStatus(t, r, 422)
			wantBody(t, r, `value="fine"`)
		})
		t.Run("RenameAndRecolour", func(t *testing.T) {
			r := support.htmx(base+"/tags/"+tag.ID, url.Values{"name": {"Wrong <answer>"}, "color": {"purple"}})
			wantStatus(t, r, 200)
			wantBody(t, r, `class="tag tag-purple">Wrong &lt;answer&gt;`, "Tag Wrong &lt;answer&gt; saved.")
			// The messages carrying it show the new name.
			wantBody(t, support.get(base), `class="tag tag-purple"`)
			evs := audits("change")
			if len(evs) != 1 || evs[0].ObjectID != tag.ID || !strings.Contains(evs[0].Detail, `"wrong answer" (red)`) ||
				!strings.Contains(evs[0].Detail, `"Wrong <answer>" (purple)`) || evs[0].ActorID == nil || *evs[0].ActorID != a.ops[models.RoleSupport].ID {
				t.Errorf("rename audit = %+v", evs)
			}
		})
		t.Run("WithoutJavaScript", func(t *testing.T) {
			r := support.post(base+"/tags/"+tag.ID, url.Values{"name": {"wrong answer"}, "color": {"red"}})
			wantStatus(t, r, 303)
		})
		t.Run("DeleteConfirmSaysHowMany", func(t *testing.T) {
			r := support.get(base + "/tags/" + tag.ID + "/delete")
			wantStatus(t, r, 200)
			wantBody(t, r, `Delete tag &#34;wrong answer&#34;?`, "2 messages carry it", `action="`+base+`/tags/`+tag.ID+`/delete"`, "Delete tag")
		})
		t.Run("ErrAnotherBotsTag", func(t *testing.T) {
			other := convTestBot(t, a, "Other")
			otherConv := convTestConversation(t, a, models.Conversation{BotID: &other.ID}, models.Message{Type: models.MessageUser, Text: "x"})
			wantStatus(t, support.post("/conversations/"+otherConv.ID+"/tags/"+tag.ID+"/delete", nil), 404)
			wantStatus(t, support.get("/conversations/"+otherConv.ID+"/tags/"+tag.ID+"/delete"), 404)
			wantStatus(t, support.htmx("/conversations/"+otherConv.ID+"/tags/"+tag.ID, url.Values{"name": {"x"}, "color": {"red"}}), 404)
		})
		t.Run("ErrWithoutCSRF", func(t *testing.T) {
			r := support.postWith(base+"/tags/"+tag.ID+"/delete", url.Values{"_csrf": {"forged"}}, nil)
			if r.Status < 400 {
				t.Fatalf("delete with a forged CSRF token = %d", r.Status)
			}
			if _, err := a.store.FindTag(ctx, tag.ID); err != nil {
				t.Errorf("tag deleted by a forged request: %v", err)
			}
		})
		t.Run("Delete", func(t *testing.T) {
			r := support.post(base+"/tags/"+tag.ID+"/delete", nil)
			wantStatus(t, r, 303)
			if _, err := a.store.FindTag(ctx, tag.ID); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("tag after delete: %v", err)
			}
			tm, _ := a.store.FindMessageTags(ctx, conv.ID, []string{msgs[0].ID, msgs[1].ID})
			if len(tm) != 0 {
				t.Errorf("messages still carry tags: %+v", tm)
			}
			evs := audits("delete")
			if len(evs) != 1 || evs[0].ObjectID != tag.ID || !strings.Contains(evs[0].Detail, "taken off 2 messages") {
				t.Errorf("delete audit = %+v", evs)
			}
			wantStatus(t, support.post(base+"/tags/"+tag.ID+"/delete", nil), 404)
		})
	})
}
