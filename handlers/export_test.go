package handlers

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"parley/models"
)

func TestExport(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		support, admin := a.as(models.RoleSupport), a.as(models.RoleAdmin)
		bot := convTestBot(t, a, "Shop")
		other := convTestBot(t, a, "Other")
		keep := convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "Keep"},
			models.Message{Type: models.MessageUser, Text: "mail jane@example.com please"}, models.Message{Type: models.MessageBot, Text: "=HYPERLINK(\"x\")"})
		convTestConversation(t, a, models.Conversation{BotID: &other.ID, Name: "Leave out"}, models.Message{Type: models.MessageUser, Text: "other"})
		msgs, _, _ := a.store.FindMessages(ctx, keep.ID, models.Page{Order: models.OrderAsc})
		who := models.Reviewer{ID: a.ops[models.RoleSupport].ID, Name: "Support"}
		tag, err := a.store.CreateTag(ctx, models.Tag{BotID: bot.ID, Name: "checked", Color: "green"})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.store.TagMessage(ctx, keep.ID, msgs[1].ID, tag.ID, who); err != nil {
			t.Fatal(err)
		}
		if _, err := a.store.AddNote(ctx, keep.ID, msgs[1].ID, "call jane@example.com", who); err != nil {
			t.Fatal(err)
		}

		t.Run("JSONLOfTheFilter", func(t *testing.T) {
			r := support.get("/conversations/export?format=jsonl&bot=" + bot.ID)
			wantStatus(t, r, 200)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/jsonl") {
				t.Errorf("Content-Type = %q", ct)
			}
			lines := strings.Split(strings.TrimSpace(r.Body), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d lines, want the 1 conversation the filter keeps:\n%s", len(lines), r.Body)
			}
			var got struct {
				ID           string `json:"id"`
				ReviewStatus string `json:"reviewStatus"`
				Messages     []struct{ Type, Text string }
				Tags         []struct{ Name, By string }
				Notes        []struct{ Text string }
				Ratings      []any
				Turns        []any
			}
			if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
				t.Fatalf("line is not JSON: %v\n%s", err, lines[0])
			}
			if got.ID != keep.ID || got.ReviewStatus != "new" || len(got.Messages) != 2 || len(got.Tags) != 1 || got.Tags[0].Name != "checked" || len(got.Notes) != 1 {
				t.Errorf("exported %+v", got)
			}
			if got.Messages[0].Text != "mail j•••@example.com please" || got.Notes[0].Text != "call j•••@example.com" {
				t.Errorf("support's export not masked: %q, %q", got.Messages[0].Text, got.Notes[0].Text)
			}
		})
		t.Run("AdminSeesPersonalData", func(t *testing.T) {
			wantBody(t, admin.get("/conversations/export?format=jsonl&bot="+bot.ID), "jane@example.com")
		})
		t.Run("CSVOneMessagePerRow", func(t *testing.T) {
			r := support.get("/conversations/" + keep.ID + "/export?format=csv")
			wantStatus(t, r, 200)
			rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 3 || rows[0][0] != "conversation_id" {
				t.Fatalf("rows = %q", rows)
			}
			if rows[1][8] != "mail j•••@example.com please" || rows[2][8] != `'=HYPERLINK("x")` || rows[2][15] != "checked" {
				t.Errorf("rows = %q", rows[1:])
			}
		})
		t.Run("ErrBadFormat", func(t *testing.T) {
			wantStatus(t, support.get("/conversations/export?format=xml"), 422)
		})
		t.Run("Audited", func(t *testing.T) {
			evs, _, err := a.store.FindAuditEvents(ctx, models.AuditFilter{Action: "export"})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 3 || evs[0].ActorName != "support@example.com" || evs[0].IP == "" || !strings.Contains(evs[0].Detail, "csv") {
				t.Errorf("export audit = %+v", evs)
			}
		})
		t.Run("SearchWordsApply", func(t *testing.T) {
			// The list with search words shows hits; its export is their
			// conversations, each once. A masked viewer gets none whose only
			// hit is inside personal data.
			ids := func(body string) []string {
				var out []string
				for _, l := range strings.Split(strings.TrimSpace(body), "\n") {
					var got struct{ ID string }
					if l != "" && json.Unmarshal([]byte(l), &got) == nil {
						out = append(out, got.ID)
					}
				}
				return out
			}
			r := admin.get("/conversations/export?format=jsonl&q=please")
			wantStatus(t, r, 200)
			if got := ids(r.Body); len(got) != 1 || got[0] != keep.ID {
				t.Errorf("export of q=please = %v, want [%s]", got, keep.ID)
			}
			if got := ids(admin.get("/conversations/export?format=jsonl&q=nothingmatchesthis").Body); len(got) != 0 {
				t.Errorf("export of a search without hits = %v", got)
			}
			phone := convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "Phone"},
				models.Message{Type: models.MessageUser, Text: "call +44 20 7946 0958"})
			if got := ids(admin.get("/conversations/export?format=jsonl&q=7946").Body); len(got) != 1 || got[0] != phone.ID {
				t.Errorf("admin's export of q=7946 = %v, want [%s]", got, phone.ID)
			}
			if got := ids(support.get("/conversations/export?format=jsonl&q=7946").Body); len(got) != 0 {
				t.Errorf("support's export of q=7946 = %v: the hit is only inside a masked phone number", got)
			}
		})
	})
}

func TestAuditLog(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		builder, admin := a.as(models.RoleBuilder), a.as(models.RoleAdmin)
		bot := convTestBot(t, a, "Audited <bot>")
		wantStatus(t, builder.get("/bots/"+bot.ID+"/delete"), 200)
		r := builder.post("/bots/"+bot.ID+"/delete", nil)
		if r.Status != 303 {
			t.Fatalf("delete = %d", r.Status)
		}
		// Bad input changes nothing and is not recorded.
		wantStatus(t, builder.post("/bots", map[string][]string{"name": {strings.Repeat("x", 500)}}), 422)
		evs, _, err := a.store.FindAuditEvents(ctx, models.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Action != "delete" || evs[0].ObjectType != "bots" || evs[0].ObjectID != bot.ID ||
			evs[0].ActorName != "builder@example.com" || evs[0].Route != "POST /bots/:id/delete" || evs[0].IP == "" {
			t.Fatalf("audit = %+v", evs)
		}
		r = admin.get("/audit?type=bots&action=delete")
		wantStatus(t, r, 200)
		wantBody(t, r, "builder@example.com", "POST /bots/:id/delete", "…"+shortID(bot.ID))
		wantBody(t, admin.get("/audit?type=datasets"), "Nothing recorded for these filters")
		wantStatus(t, admin.get("/audit?actor=nope"), 422)
		wantStatus(t, a.as(models.RoleSupport).get("/audit"), 403)
	})
}

func TestAPIConversationExport(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		id := ok(t, c.post("/conversation/create", `{"name":"Exported"}`)).str("id")
		r := ok(t, c.get("/conversation/export?take=10"))
		if !strings.Contains(r.Raw, `"id":"`+id+`"`) || !strings.Contains(r.Raw, `"items"`) || !strings.Contains(r.Raw, `"cursor"`) {
			t.Errorf("export = %s", r.Raw)
		}
		evs, _, err := a.store.FindAuditEvents(context.Background(), models.AuditFilter{Action: "export"})
		if err != nil || len(evs) != 1 || !strings.HasPrefix(evs[0].ActorName, "api:") {
			t.Errorf("API export audit = %+v, %v", evs, err)
		}
	})
}

// TestAPIChangesAudited: changes made through the API are in the audit log
// with the calling secret as the actor — creates with the id made, deletes,
// and changes of what a path names first; refused calls and searches are not.
func TestAPIChangesAudited(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		c := a.api()
		botID := ok(t, c.post("/bot/create", `{"name":"API bot"}`)).str("id")
		ok(t, c.post("/bot/"+botID+"/update", `{"backstory":"You help."}`))
		dsID := ok(t, c.post("/dataset/create", `{"name":"API data"}`)).str("id")
		ok(t, c.post("/dataset/"+dsID+"/record/create", `{"text":"Refunds take 5 days."}`))
		ok(t, c.post("/dataset/"+dsID+"/search", `{"search":"refunds"}`))
		if r := c.post("/bot/create", `{"name":"`+strings.Repeat("x", 500)+`"}`); r.Status < 400 {
			t.Fatalf("an over-long name was accepted: %d", r.Status)
		}
		ok(t, c.post("/bot/"+botID+"/delete", `{}`))
		evs, _, err := a.store.FindAuditEvents(ctx, models.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := len(evs) - 1; i >= 0; i-- { // oldest first
			e := evs[i]
			if !strings.HasPrefix(e.ActorName, "api:") || e.IP == "" {
				t.Errorf("audit entry %+v: want the secret as actor and an address", e)
			}
			got = append(got, e.Action+" "+e.ObjectType+" "+e.ObjectID+" "+e.Route)
		}
		want := []string{
			"create bots " + botID + " POST /api/v1/bot/create",
			"change bots " + botID + " POST /api/v1/bot/:botId/update",
			"create datasets " + dsID + " POST /api/v1/dataset/create",
			"change datasets " + dsID + " POST /api/v1/dataset/:datasetId/record/create",
			"delete bots " + botID + " POST /api/v1/bot/:botId/delete",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
