package handlers

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"parley/models"
)

func TestSupportMasksNamesAndMeta(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		support, builder := a.as(models.RoleSupport), a.as(models.RoleBuilder)
		bot := convTestBot(t, a, "Shop")
		const email, phone = "jane.doe@example.com", "+44 20 7946 0958"
		conv := convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "Refund for " + email,
			ContactID: ptrTo("c-mask"), Meta: models.Meta{"customer": email, "phone": phone, "order": "A-17"}},
			models.Message{Type: models.MessageUser, Text: "where is my refund", Meta: models.Meta{"callback": phone, "n": 4915112345678.0}},
			models.Message{Type: models.MessageBot, Text: "on its way"})
		wantMasked := func(t *testing.T, r *resp, alsoWant ...string) {
			t.Helper()
			wantStatus(t, r, 200)
			wantNoBody(t, r, email, "7946 0958", "4915112345678")
			wantBody(t, r, alsoWant...)
		}
		places := []struct {
			name, path string
			want       []string
		}{
			{"List", "/conversations", []string{"Refund for j•••@example.com"}},
			{"SearchResults", "/conversations?q=refund", []string{"Refund for j•••@example.com", "<mark>refund</mark>"}},
			{"TranscriptHeaderTitleAndMeta", "/conversations/" + conv.ID, []string{"<h1>Refund for j•••@example.com</h1>",
				"<title>Refund for j•••@example.com", "A-17", "Raw meta"}},
			{"ExportJSONL", "/conversations/export?format=jsonl&bot=" + bot.ID, []string{`"name":"Refund for j•••@example.com"`, `"customer":"j•••@example.com"`}},
			{"ExportOneJSONL", "/conversations/" + conv.ID + "/export?format=jsonl", []string{`"name":"Refund for j•••@example.com"`}},
			{"ExportCSV", "/conversations/" + conv.ID + "/export?format=csv", []string{"Refund for j•••@example.com"}},
			{"ExportSearch", "/conversations/export?format=jsonl&q=refund", []string{`"name":"Refund for j•••@example.com"`}},
			{"ProposeTestCase", "/qa/cases/new?conversation=" + conv.ID, []string{"Refund for j•••@example.com"}},
		}
		for _, p := range places {
			t.Run(p.name, func(t *testing.T) {
				wantMasked(t, support.get(p.path), p.want...)
				if !strings.HasPrefix(p.path, "/qa/") {
					wantBody(t, builder.get(p.path), email)
				}
			})
		}
		t.Run("LiveEntry", func(t *testing.T) {
			msgs, _, err := a.store.FindMessages(ctx, conv.ID, models.Page{Order: models.OrderAsc})
			if err != nil {
				t.Fatal(err)
			}
			// A review change answers with the message's entry (htmx).
			r := support.htmx("/conversations/"+conv.ID+"/messages/"+msgs[0].ID+"/notes", url.Values{"text": {"checked"}})
			wantMasked(t, r, "Raw meta")
		})
		t.Run("Contact", func(t *testing.T) {
			ct, err := a.store.CreateContact(ctx, models.Contact{Fingerprint: "fp-mask", Name: "Jane", Email: email, Phone: phone, Description: "calls from " + phone})
			if err != nil {
				t.Fatal(err)
			}
			convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "Callback to " + phone, ContactID: &ct.ID},
				models.Message{Type: models.MessageUser, Text: "hi"})
			wantMasked(t, support.get("/contacts/"+ct.ID), "Jane", "j•••@example.com", "Callback to phone")
			wantMasked(t, support.get("/contacts"), "j•••@example.com")
			wantBody(t, builder.get("/contacts/"+ct.ID), email, "20 7946 0958")
		})
		t.Run("GrantedSeesIt", func(t *testing.T) {
			if err := a.store.SetSeePersonalData(ctx, a.ops[models.RoleSupport].ID, true); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = a.store.SetSeePersonalData(ctx, a.ops[models.RoleSupport].ID, false) }()
			wantBody(t, a.as(models.RoleSupport).get("/conversations/"+conv.ID), "<h1>Refund for "+email+"</h1>")
		})
	})
}
