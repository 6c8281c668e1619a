package handlers

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"parley/models"
	"parley/models/store"
)

func mustDataset(t *testing.T, s *store.Store, name string) *models.Dataset {
	t.Helper()
	d := models.NewDataset()
	d.Name = name
	out, err := s.CreateDataset(context.Background(), d)
	if err != nil {
		t.Fatalf("CreateDataset: %v", err)
	}
	return out
}

func mustSkillset(t *testing.T, s *store.Store, name string) *models.Skillset {
	t.Helper()
	out, err := s.CreateSkillset(context.Background(), models.Skillset{Name: name})
	if err != nil {
		t.Fatalf("CreateSkillset: %v", err)
	}
	return out
}

func mustBot(t *testing.T, s *store.Store, name string) *models.Bot {
	t.Helper()
	out, err := s.CreateBot(context.Background(), store.BotInput{Bot: models.Bot{Name: name, Model: "local"}})
	if err != nil {
		t.Fatalf("CreateBot: %v", err)
	}
	return out
}

func countBots(t *testing.T, s *store.Store) int64 {
	t.Helper()
	n, err := s.CountBots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBots(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		builder := a.as(models.RoleBuilder)
		faq := mustDataset(t, a.store, "FAQ")
		tools := mustSkillset(t, a.store, "Tools")

		t.Run("EmptyState", func(t *testing.T) {
			r := builder.get("/bots")
			wantStatus(t, r, 200)
			wantBody(t, r, "No bots yet", "Create your first bot")
		})

		var botID string
		t.Run("CreateOK", func(t *testing.T) {
			r := builder.post("/bots", url.Values{
				"name": {"Helpdesk"}, "description": {"Answers <customers>"}, "backstory": {"You are helpful."},
				"model": {"local"}, "privacy": {"true"}, "datasetIds": {faq.ID}, "skillsetIds": {tools.ID},
				"meta": {`{"team": "support"}`},
			})
			wantStatus(t, r, 303)
			botID = createdID(t, r)
			show := builder.get("/bots/" + botID)
			wantStatus(t, show, 200)
			wantBody(t, show, "Helpdesk", "You are helpful.", "FAQ", "Tools", `Bot &#34;Helpdesk&#34; created.`)
			b, err := a.store.FindBot(ctx, botID)
			if err != nil {
				t.Fatal(err)
			}
			if !b.Privacy || b.Moderation || len(b.Datasets) != 1 || len(b.Skillsets) != 1 || b.Meta["team"] != "support" {
				t.Errorf("stored bot = %+v", b)
			}
			list := builder.get("/bots")
			wantBody(t, list, "Helpdesk", "Answers &lt;customers&gt;")
		})

		for _, tc := range []struct {
			name      string
			form      url.Values
			wantField string
			wantMsg   string
		}{
			{"ErrNameRequired", url.Values{"name": {"  "}, "description": {"kept text"}}, "name", "Name is required."},
			{"ErrNameTooLong", url.Values{"name": {strings.Repeat("x", 201)}, "description": {"kept text"}}, "name", "Name must be at most 200 characters."},
			{"ErrMetaNotObject", url.Values{"name": {"X"}, "description": {"kept text"}, "meta": {"[1,2]"}}, "meta", "Meta must be a JSON object"},
			{"ErrUnknownDataset", url.Values{"name": {"X"}, "description": {"kept text"}, "datasetIds": {"0190b6b1-0000-7000-8000-000000000000"}}, "datasetIds", "Unknown dataset id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := countBots(t, a.store)
				r := builder.post("/bots", tc.form)
				wantStatus(t, r, 422)
				wantBody(t, r, tc.wantMsg, "kept text", `id="e-`+tc.wantField+`"`)
				if tc.wantField == "datasetIds" {
					wantBody(t, r, `class="has-error"`)
				}
				if after := countBots(t, a.store); after != before {
					t.Errorf("bots: %d before, %d after an invalid form", before, after)
				}
			})
		}

		t.Run("EditKeepsAttachments", func(t *testing.T) {
			r := builder.get("/bots/" + botID + "/edit")
			wantStatus(t, r, 200)
			wantBody(t, r, `value="`+faq.ID+`" checked`, "You are helpful.")
			r = builder.post("/bots/"+botID, url.Values{"name": {"Helpdesk 2"}, "backstory": {"New story"}, "datasetIds": {faq.ID}})
			wantStatus(t, r, 303)
			b, _ := a.store.FindBot(ctx, botID)
			if b.Name != "Helpdesk 2" || b.Backstory != "New story" || len(b.Datasets) != 1 || len(b.Skillsets) != 0 {
				t.Errorf("after edit: %+v (datasets %d, skillsets %d)", b, len(b.Datasets), len(b.Skillsets))
			}
		})

		t.Run("AttachDetachWithHtmx", func(t *testing.T) {
			r := builder.htmx("/bots/"+botID+"/skillsets", url.Values{"id": {tools.ID}})
			wantStatus(t, r, 200)
			wantBody(t, r, "Detach skillset Tools")
			wantNoBody(t, r, "<html")
			r = builder.htmx("/bots/"+botID+"/datasets/"+faq.ID+"/detach", nil)
			wantStatus(t, r, 200)
			wantBody(t, r, "No datasets attached")
			b, _ := a.store.FindBot(ctx, botID)
			if len(b.Datasets) != 0 || len(b.Skillsets) != 1 {
				t.Errorf("after attach/detach: datasets %d, skillsets %d", len(b.Datasets), len(b.Skillsets))
			}
		})

		t.Run("AttachWithoutJS", func(t *testing.T) {
			r := builder.post("/bots/"+botID+"/datasets", url.Values{"id": {faq.ID}})
			wantStatus(t, r, 303)
			if r.Location() != "/bots/"+botID {
				t.Errorf("redirect = %q", r.Location())
			}
		})

		t.Run("ErrAttachUnknown", func(t *testing.T) {
			r := builder.htmx("/bots/"+botID+"/datasets", url.Values{"id": {"nope"}})
			wantStatus(t, r, 422)
			wantBody(t, r, "Unknown dataset id")
		})

		t.Run("NotFound", func(t *testing.T) {
			for _, p := range []string{"/bots/0190b6b1-0000-7000-8000-000000000000", "/bots/not-an-id", "/bots/not-an-id/edit"} {
				wantStatus(t, builder.get(p), 404)
			}
		})

		t.Run("QACanReadNotWrite", func(t *testing.T) {
			qa := a.as(models.RoleQA)
			r := qa.get("/bots/" + botID)
			wantStatus(t, r, 200)
			wantNoBody(t, r, "/bots/"+botID+"/edit", "Attach dataset")
			before := countBots(t, a.store)
			wantStatus(t, qa.post("/bots", url.Values{"name": {"Sneaky"}}), 403)
			if countBots(t, a.store) != before {
				t.Error("qa created a bot")
			}
		})

		t.Run("ErrCSRF", func(t *testing.T) {
			before := countBots(t, a.store)
			r := builder.post("/bots", url.Values{"_csrf": {"wrong"}, "name": {"Forged"}})
			wantStatus(t, r, 403)
			if countBots(t, a.store) != before {
				t.Error("a forged form created a bot")
			}
		})

		t.Run("DeleteKeepsConversations", func(t *testing.T) {
			conv, err := a.store.CreateConversation(ctx, models.Conversation{BotID: &botID, Name: "Evidence"},
				[]models.Message{{Type: models.MessageUser, Text: "hello"}})
			if err != nil {
				t.Fatal(err)
			}
			r := builder.get("/bots/" + botID + "/delete")
			wantStatus(t, r, 200)
			wantBody(t, r, "conversations stay readable", "Delete bot")
			if _, err := a.store.FindBot(ctx, botID); err != nil {
				t.Fatal("GET on the confirmation page deleted the bot")
			}
			r = builder.post("/bots/"+botID+"/delete", nil)
			wantStatus(t, r, 303)
			if _, err := a.store.FindBot(ctx, botID); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("bot still there: %v", err)
			}
			c, err := a.store.FindConversation(ctx, conv.ID)
			if err != nil || c.BotID != nil {
				t.Fatalf("conversation after bot delete = %+v, %v", c, err)
			}
			if n, _ := a.store.CountMessages(ctx, conv.ID); n != 1 {
				t.Errorf("messages after bot delete = %d, want 1", n)
			}
		})

		t.Run("Pagination", func(t *testing.T) {
			for i := 0; i < models.DefaultPageSize+3; i++ {
				mustBot(t, a.store, "Paged bot")
			}
			r := builder.get("/bots")
			if got := strings.Count(r.Body, "Paged bot"); got != models.DefaultPageSize {
				t.Errorf("first page shows %d bots, want %d", got, models.DefaultPageSize)
			}
			i := strings.Index(r.Body, "cursor=")
			if i < 0 {
				t.Fatal("no next-page link")
			}
			cursor := r.Body[i+7 : i+7+36]
			r2 := builder.get("/bots?cursor=" + cursor)
			wantStatus(t, r2, 200)
			if got := strings.Count(r2.Body, "Paged bot"); got != 3 {
				t.Errorf("second page shows %d bots, want 3", got)
			}
			wantStatus(t, builder.get("/bots?cursor=garbage"), 422)
		})
	})
}
