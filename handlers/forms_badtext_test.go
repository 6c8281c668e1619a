package handlers

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"parley/models"
	"parley/models/store"
)

// Dashboard forms refuse text PostgreSQL cannot store (a NUL character,
// invalid UTF-8) with 422, the message next to the field and the rest of the
// input kept, and write nothing, on both databases alike.

const (
	nulText   = "a\x00b"
	nulMsg    = `must not contain NUL characters (\u0000).`
	utf8Msg   = "must be valid UTF-8 text."
	escNULMsg = `{"note": "a\u0000b"}` // JSON's escape: the form has no NUL, the meta has
)

// form builds url.Values from pairs.
func form(kv ...string) url.Values {
	f := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

func TestFormsRefuseBadText(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		builder := a.as(models.RoleBuilder)
		bot, err := a.store.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Helpdesk", Model: "local"}})
		if err != nil {
			t.Fatal(err)
		}
		d := models.NewDataset()
		d.Name = "FAQ"
		ds, err := a.store.CreateDataset(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		k := mustCreateSkillset(t, a, models.Skillset{Name: "Tools"})
		ab := mustCreateActionAbility(t, a, k.ID, "Clock", models.Meta{"action": "builtin:datetime"})

		cases := []struct {
			name, path string
			form       url.Values
			field, msg string
			kept       string // a rendering of input the page must keep
		}{
			{"BotNameNUL", "/bots", form("name", nulText, "backstory", "Keep this backstory", "model", "local"), "name", "Name " + nulMsg, "Keep this backstory"},
			{"BotBackstoryUTF8", "/bots", form("name", "Keep bot", "backstory", "caf\xe9", "model", "local"), "backstory", "Backstory " + utf8Msg, `value="Keep bot"`},
			{"BotModelNUL", "/bots", form("name", "Keep bot", "model", "loc\x00al"), "model", "Model " + nulMsg, `value="Keep bot"`},
			{"BotMetaNUL", "/bots", form("name", "Keep bot", "model", "local", "meta", "{\"k\": \"a\x00\"}"), "meta", "Meta " + nulMsg, `value="Keep bot"`},
			{"BotMetaEscapedNUL", "/bots", form("name", "Keep bot", "model", "local", "meta", escNULMsg), "meta", "Meta " + nulMsg, `value="Keep bot"`},
			{"BotUpdateDescriptionNUL", "/bots/" + bot.ID, form("name", "Renamed", "description", nulText, "model", "local"), "description", "Description " + nulMsg, `value="Renamed"`},
			{"DatasetNameNUL", "/datasets", validDatasetForm("name", nulText, "description", "Keep description"), "name", nulMsg, "Keep description"},
			{"DatasetMismatchInstructionUTF8", "/datasets", validDatasetForm("name", "Keep dataset", "mismatchInstruction", "\xff"), "mismatchInstruction", utf8Msg, `value="Keep dataset"`},
			{"DatasetMetaEscapedNUL", "/datasets", validDatasetForm("name", "Keep dataset", "meta", escNULMsg), "meta", nulMsg, `value="Keep dataset"`},
			{"DatasetUpdateDescriptionNUL", "/datasets/" + ds.ID, validDatasetForm("name", "Renamed", "description", nulText), "description", nulMsg, `value="Renamed"`},
			{"RecordTextNUL", "/datasets/" + ds.ID + "/records", form("text", nulText, "source", "keep-source.txt"), "text", "Text " + nulMsg, "keep-source.txt"},
			{"RecordSourceUTF8", "/datasets/" + ds.ID + "/records", form("text", "Keep this record", "source", "caf\xe9"), "source", "Source " + utf8Msg, "Keep this record"},
			{"RecordMetaEscapedNUL", "/datasets/" + ds.ID + "/records", form("text", "Keep this record", "meta", escNULMsg), "meta", "Meta " + nulMsg, "Keep this record"},
			{"SkillsetDescriptionNUL", "/skillsets", form("name", "Keep skillset", "description", nulText), "description", "Description " + nulMsg, `value="Keep skillset"`},
			{"AbilityInstructionNUL", "/skillsets/" + k.ID + "/abilities", form("name", "Keep ability", "instruction", nulText), "instruction", "Instruction " + nulMsg, `value="Keep ability"`},
			{"AbilityMetaEscapedNUL", "/skillsets/" + k.ID + "/abilities", form("name", "Keep ability", "meta", `{"action": "builtin:datetime", "timezone": "a\u0000"}`), "meta", "Meta " + nulMsg, `value="Keep ability"`},
			{"AbilityUpdateNameNUL", "/skillsets/" + k.ID + "/abilities/" + ab.ID, form("name", nulText, "instruction", "Keep instruction"), "name", "Name " + nulMsg, "Keep instruction"},
			{"ConversationBackstoryNUL", "/conversations", form("name", "Keep conversation", "backstory", nulText, "model", "local"), "backstory", "Backstory " + nulMsg, `value="Keep conversation"`},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := snapshotRows(t, a)
				r := builder.post(tc.path, tc.form)
				wantStatus(t, r, 422)
				wantBody(t, r, `id="e-`+tc.field+`"`, tc.msg, tc.kept)
				if after := snapshotRows(t, a); after != before {
					t.Errorf("a refused form wrote:\nbefore %s\nafter  %s", before, after)
				}
			})
		}

		t.Run("LoginEmailNUL", func(t *testing.T) {
			c := a.anon()
			c.get("/login")
			attempts := count(t, a.store, "login_attempts")
			r := c.post("/login", form("email", "builder\x00@example.com", "password", testPassword))
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-email"`, "Email "+nulMsg)
			if got := count(t, a.store, "login_attempts"); got != attempts {
				t.Errorf("login attempts %d, want %d", got, attempts)
			}
			if c.get("/bots").Status != 303 {
				t.Error("signed in with a NUL in the email")
			}
		})
		t.Run("LoginPasswordUTF8", func(t *testing.T) {
			c := a.anon()
			c.get("/login")
			r := c.post("/login", form("email", "builder@example.com", "password", "caf\xe9 caf\xe9 caf\xe9"))
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-password"`, "Password "+utf8Msg, `value="builder@example.com"`)
		})

		t.Run("SearchNUL", func(t *testing.T) {
			if _, err := a.store.CreateRecord(ctx, models.DatasetRecord{DatasetID: ds.ID, Text: "Refunds within 14 days."}); err != nil {
				t.Fatal(err)
			}
			q := "/datasets/" + ds.ID + "/search?q=" + url.QueryEscape("refunds\x00")
			for _, r := range []*resp{builder.get(q), builder.htmxGet(q)} {
				wantStatus(t, r, 422)
				wantBody(t, r, `id="e-q"`, "The question "+nulMsg)
				wantNoBody(t, r, "Refunds within 14 days.")
			}
			r := builder.get("/datasets/" + ds.ID + "/search?q=" + url.QueryEscape("caf\xe9 refunds"))
			wantStatus(t, r, 422)
			wantBody(t, r, "The question "+utf8Msg)
			// The same question without the NUL is searched.
			ok := builder.htmxGet("/datasets/" + ds.ID + "/search?q=refunds")
			wantStatus(t, ok, 200)
			if !strings.Contains(ok.Body, "Refunds within 14 days.") {
				t.Errorf("search without the NUL found nothing:\n%s", shorten(ok.Body, 2000))
			}
		})
	})
}
