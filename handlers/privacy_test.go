package handlers

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"parley/app/engine"
	"parley/models"
	"parley/models/store"
)

// storedWith counts the messages anywhere whose text contains s.
func storedWith(t *testing.T, a *testApp, s string) int64 {
	t.Helper()
	var n int64
	if err := a.store.DB().Table("messages").Where("text LIKE ?", "%"+s+"%").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAPIPrivacy(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		_, dataset, _ := apiBot(t, c)
		bot := ok(t, c.post("/bot/create", fmt.Sprintf(`{"name":"Private","backstory":"You answer questions.","model":"local","privacy":true,"datasetId":%q}`, dataset))).str("id")
		conv := ok(t, c.post("/conversation/create", fmt.Sprintf(`{"botId":%q}`, bot))).str("id")

		t.Run("CompleteStoresTheRedactedText", func(t *testing.T) {
			r := ok(t, c.post("/conversation/"+conv+"/complete", `{"text":"My email is jane.doe@example.com: what is the refund policy?"}`))
			if strings.Contains(r.Raw, "jane.doe@example.com") || !strings.Contains(r.str("text"), "30 days") {
				t.Errorf("complete = %s; want the refund answer without the email", r.Raw)
			}
			msgs := messages(t, c, conv)
			if got := types(msgs); got != "user,context,bot" {
				t.Fatalf("messages = %s", got)
			}
			if got, want := msgs[0]["text"], "My email is [email]: what is the refund policy?"; got != want {
				t.Errorf("stored user text = %q, want %q", got, want)
			}
			if n := storedWith(t, a, "jane.doe@example.com"); n != 0 {
				t.Errorf("%d stored messages contain the email", n)
			}
		})

		t.Run("SendAndReceive", func(t *testing.T) {
			ok(t, c.post("/conversation/"+conv+"/send", `{"text":"Call me on +44 20 7946 0958 or pay with 4111 1111 1111 1111"}`))
			r := ok(t, c.post("/conversation/"+conv+"/receive", `{}`))
			if strings.Contains(r.Raw, "7946") || strings.Contains(r.Raw, "4111") {
				t.Errorf("receive = %s", r.Raw)
			}
			msgs := messages(t, c, conv)
			var last map[string]any
			for _, m := range msgs {
				if m["type"] == "user" {
					last = m
				}
			}
			if got, want := last["text"], "Call me on [phone] or pay with [card]"; got != want {
				t.Errorf("stored user text = %q, want %q", got, want)
			}
		})

		t.Run("MessageCreate", func(t *testing.T) {
			id := ok(t, c.post("/conversation/"+conv+"/message/create", `{"type":"user","text":"IBAN DE89 3704 0044 0532 0130 00"}`)).str("id")
			m := ok(t, c.get("/conversation/"+conv+"/message/"+id+"/fetch"))
			if m.str("text") != "IBAN [iban]" {
				t.Errorf("created user message = %s", m.Raw)
			}
		})

		t.Run("TimelineSaysHowMany", func(t *testing.T) {
			r := a.as(models.RoleSupport).get("/conversations/" + conv)
			wantStatus(t, r, 200)
			wantBody(t, r, ">1 redacted</span>", ">2 redacted</span>", "1 personal data item(s) in the user's message", "2 personal data item(s)")
			wantNoBody(t, r, "jane.doe@example.com", "7946 0958")
		})

		t.Run("OffStoresAsWritten", func(t *testing.T) {
			plain := ok(t, c.post("/bot/create", `{"name":"Plain","backstory":"You answer.","model":"local"}`)).str("id")
			conv := ok(t, c.post("/conversation/create", fmt.Sprintf(`{"botId":%q}`, plain))).str("id")
			ok(t, c.post("/conversation/"+conv+"/complete", `{"text":"My email is bob@example.org"}`))
			if got := messages(t, c, conv)[0]["text"]; got != "My email is bob@example.org" {
				t.Errorf("stored user text = %q", got)
			}
			wantNoBody(t, a.as(models.RoleSupport).get("/conversations/"+conv), "redacted</span>")
		})
	})
}

func TestWorkbenchPrivacy(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		bot, _ := workbenchBot(t, a.store)
		bot.Privacy = true
		if _, err := a.store.UpdateBot(t.Context(), store.BotInput{Bot: *bot}); err != nil {
			t.Fatal(err)
		}
		qa := a.as(models.RoleQA)
		r := qa.post("/conversations", url.Values{"botId": {bot.ID}, "name": {"Privacy check"}})
		wantStatus(t, r, 303)
		convID := createdID(t, r)
		qa.post("/conversations/"+convID+"/turns", url.Values{"text": {"I'm jane@example.com, can I get a refund?"}})
		waitFor(t, "the answer", func() bool { return strings.Contains(typesOf(messagesOf(t, a.store, convID)), "bot") })
		msgs := messagesOf(t, a.store, convID)
		if msgs[0].Text != "I'm [email], can I get a refund?" {
			t.Errorf("stored user text = %q", msgs[0].Text)
		}
		if n := storedWith(t, a, "jane@example.com"); n != 0 {
			t.Errorf("%d stored messages contain the email", n)
		}
	})
}

func TestAPIModeration(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		bot := ok(t, c.post("/bot/create", `{"name":"Careful","backstory":"You answer.","model":"local","moderation":true}`)).str("id")
		conv := ok(t, c.post("/conversation/create", fmt.Sprintf(`{"botId":%q}`, bot))).str("id")

		r := ok(t, c.post("/conversation/"+conv+"/complete", `{"text":"just kys"}`))
		if r.str("text") != engine.Refusal {
			t.Errorf("complete = %s, want the refusal", r.Raw)
		}
		msgs := messages(t, c, conv)
		if got := types(msgs); got != "user,activity,bot" {
			t.Fatalf("messages = %s", got)
		}
		if a := fmt.Sprint(msgs[1]["text"]); !strings.Contains(a, "word list") || !strings.Contains(a, `"kys"`) {
			t.Errorf("activity = %q", a)
		}
		r = ok(t, c.post("/conversation/"+conv+"/complete", `{"text":"hello there"}`))
		if r.str("text") == engine.Refusal {
			t.Errorf("a harmless message was refused: %s", r.Raw)
		}
		page := a.as(models.RoleSupport).get("/conversations/" + conv)
		wantBody(t, page, "Moderation: the message was flagged by the word list")
	})
}
