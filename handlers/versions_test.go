package handlers

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"parley/models"
	"parley/models/store"
)

// versionsOf returns every version number of a bot and the latest version.
func versionsOf(t *testing.T, s *store.Store, botID string) (int, *models.BotVersion) {
	t.Helper()
	v, err := s.LatestBotVersion(context.Background(), botID)
	if err != nil || v == nil {
		t.Fatalf("LatestBotVersion: %v, %v", v, err)
	}
	full, err := s.FindBotVersion(context.Background(), botID, v.Number)
	if err != nil {
		t.Fatal(err)
	}
	return v.Number, full
}

// botFormOf is the edit form of a bot as the page fills it, with changes.
func botFormOf(b *models.Bot, change func(url.Values)) url.Values {
	f := url.Values{"name": {b.Name}, "description": {b.Description}, "backstory": {b.Backstory}, "model": {b.Model}}
	if b.Privacy {
		f.Set("privacy", "true")
	}
	for _, d := range b.Datasets {
		f.Add("datasetIds", d.ID)
	}
	for _, k := range b.Skillsets {
		f.Add("skillsetIds", k.ID)
	}
	change(f)
	return f
}

func TestBotHistory(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		builder := a.as(models.RoleBuilder)
		faq := mustDataset(t, a.store, "FAQ")

		var botID string
		t.Run("CreateMakesVersion1ByTheOperator", func(t *testing.T) {
			r := builder.post("/bots", url.Values{"name": {"Helpdesk"}, "backstory": {"You are helpful.\nAnswer briefly."}, "model": {"local"}})
			wantStatus(t, r, 303)
			botID = createdID(t, r)
			n, v := versionsOf(t, a.store, botID)
			if n != 1 || v.CreatedByKind != models.ActorOperator || v.CreatedByID != a.ops[models.RoleBuilder].ID || v.CreatedByName != "Builder" {
				t.Errorf("version %d made by %s %q (%s), want version 1 by the builder", n, v.CreatedByKind, v.CreatedByName, v.CreatedByID)
			}
			show := builder.get("/bots/" + botID)
			wantBody(t, show, `href="/bots/`+botID+`/versions"`, ">History</a>", `href="/bots/`+botID+`/versions/1">version 1</a>`)
		})
		bot := func() *models.Bot {
			b, err := a.store.FindBot(ctx, botID)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}

		t.Run("EditWithNote", func(t *testing.T) {
			r := builder.post("/bots/"+botID, botFormOf(bot(), func(f url.Values) {
				f.Set("backstory", "You are terse.\nAnswer briefly.")
				f.Set("note", "Shorter answers")
			}))
			wantStatus(t, r, 303)
			n, v := versionsOf(t, a.store, botID)
			if n != 2 || v.Note != "Shorter answers" || v.CreatedByName != "Builder" {
				t.Errorf("version %d noted %q by %q, want 2 noted 'Shorter answers' by Builder", n, v.Note, v.CreatedByName)
			}
		})
		t.Run("NoOpSaveMakesNoVersion", func(t *testing.T) {
			r := builder.post("/bots/"+botID, botFormOf(bot(), func(f url.Values) { f.Set("description", "Only for the team") }))
			wantStatus(t, r, 303)
			if n, _ := versionsOf(t, a.store, botID); n != 2 {
				t.Errorf("a save that changes nothing that answers made version %d", n)
			}
		})
		t.Run("ErrNoteTooLong", func(t *testing.T) {
			long := strings.Repeat("n", 501)
			r := builder.post("/bots/"+botID, botFormOf(bot(), func(f url.Values) {
				f.Set("backstory", "Changed?")
				f.Set("note", long)
			}))
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-note"`, "Note must be at most 500 characters.", long, "Changed?")
			if n, _ := versionsOf(t, a.store, botID); n != 2 || bot().Backstory != "You are terse.\nAnswer briefly." {
				t.Errorf("a refused edit wrote something: version %d, backstory %q", n, bot().Backstory)
			}
		})
		t.Run("AttachMakesVersion", func(t *testing.T) {
			r := builder.htmx("/bots/"+botID+"/datasets", url.Values{"id": {faq.ID}})
			wantStatus(t, r, 200)
			if n, v := versionsOf(t, a.store, botID); n != 3 || len(v.Snapshot.Datasets) != 1 {
				t.Errorf("after attaching: version %d with %d datasets, want 3 with 1", n, len(v.Snapshot.Datasets))
			}
		})

		t.Run("ListPage", func(t *testing.T) {
			for _, role := range []string{models.RoleBuilder, models.RoleQA, models.RoleSupport} {
				r := a.as(role).get("/bots/" + botID + "/versions")
				wantStatus(t, r, 200)
				wantBody(t, r, "History of Helpdesk", "Dataset records are not versioned",
					`href="/bots/`+botID+`/versions/3">Version 3</a>`, `dataset &#34;FAQ&#34; attached`,
					"Shorter answers", "backstory edited", "First version", "Builder",
					`<select id="cmp-from" name="from">`, `<option value="2" selected>`, `<select id="cmp-to" name="to">`, `<option value="3" selected>`)
			}
		})
		t.Run("DiffPage", func(t *testing.T) {
			r := a.as(models.RoleSupport).get("/bots/" + botID + "/versions/diff?from=1&to=3")
			wantStatus(t, r, 200)
			wantBody(t, r, "version 1</a> → <a", "You are <del>helpful</del>.", "You are <ins>terse</ins>.",
				`<span class="sr">Removed: </span>`, `class="diff-line equal"`, "Answer briefly.",
				`<span class="badge">attached</span> FAQ`, "Model and flags")
			def := builder.get("/bots/" + botID + "/versions/diff")
			wantStatus(t, def, 200)
			wantBody(t, def, "version 2</a> → <a", `<span class="badge">attached</span> FAQ`)
			wantNoBody(t, def, "<del>")
			same := builder.get("/bots/" + botID + "/versions/diff?from=3&to=3")
			wantBody(t, same, "Nothing that decides an answer differs")
		})
		t.Run("ErrDiffBadInput", func(t *testing.T) {
			r := builder.get("/bots/" + botID + "/versions/diff?from=one&to=2")
			wantStatus(t, r, 422)
			wantBody(t, r, "Choose a version number.")
			wantStatus(t, builder.get("/bots/"+botID+"/versions/diff?from=1&to=99"), 404)
			wantStatus(t, builder.get("/bots/"+botID+"/versions/zero"), 404)
			wantStatus(t, builder.get("/bots/"+botID+"/versions?cursor=x"), 422)
			wantStatus(t, builder.get("/bots/"+models.NewID()+"/versions"), 404)
		})
		t.Run("VersionPage", func(t *testing.T) {
			r := builder.get("/bots/" + botID + "/versions/2")
			wantStatus(t, r, 200)
			wantBody(t, r, "Helpdesk: version 2", "What changed since version 1", "What version 2 holds",
				"You are <ins>terse</ins>.", "Shorter answers", `href="/bots/`+botID+`/versions/2/restore"`)
			latest := builder.get("/bots/" + botID + "/versions/3")
			wantBody(t, latest, "latest: answers now")
			wantNoBody(t, latest, "/versions/3/restore")
			qa := a.as(models.RoleQA).get("/bots/" + botID + "/versions/2")
			wantStatus(t, qa, 200)
			wantNoBody(t, qa, "/restore")
		})

		t.Run("RestoreConfirm", func(t *testing.T) {
			r := builder.get("/bots/" + botID + "/versions/1/restore")
			wantStatus(t, r, 200)
			wantBody(t, r, "Restore version 1 of &#34;Helpdesk&#34;?", "are not restored", "Dataset records are never versioned",
				`action="/bots/`+botID+`/versions/1/restore"`, `name="_csrf"`)
			wantStatus(t, a.as(models.RoleQA).get("/bots/"+botID+"/versions/1/restore"), 403)
		})
		t.Run("ErrRestoreWithoutCSRF", func(t *testing.T) {
			r := builder.post("/bots/"+botID+"/versions/1/restore", url.Values{"_csrf": {"wrong"}})
			wantStatus(t, r, 403)
			if n, _ := versionsOf(t, a.store, botID); n != 3 {
				t.Errorf("a forged restore made version %d", n)
			}
		})
		t.Run("Restore", func(t *testing.T) {
			r := builder.post("/bots/"+botID+"/versions/1/restore", nil)
			wantStatus(t, r, 303)
			if r.Location() != "/bots/"+botID+"/versions" {
				t.Errorf("redirect to %q", r.Location())
			}
			n, v := versionsOf(t, a.store, botID)
			v1, _ := a.store.FindBotVersion(ctx, botID, 1)
			if n != 4 || v.Note != "Restored version 1" || !v.Snapshot.Equal(v1.Snapshot) || v.CreatedByName != "Builder" {
				t.Errorf("after restore: version %d %q, snapshot %+v; want 4, 'Restored version 1', version 1's snapshot", n, v.Note, v.Snapshot)
			}
			page := builder.get(r.Location())
			wantBody(t, page, "Version 1 restored as version 4.", "Restored version 1")
			again := builder.post("/bots/"+botID+"/versions/1/restore", nil)
			wantStatus(t, again, 303)
			wantBody(t, builder.get(again.Location()), "The bot already matches version 1: nothing changed.")
		})
		t.Run("RestoreSkipsWhatIsGone", func(t *testing.T) {
			tmp := mustDataset(t, a.store, "Temporary")
			if err := a.store.AttachDataset(ctx, botID, tmp.ID); err != nil {
				t.Fatal(err)
			}
			withTmp, _ := versionsOf(t, a.store, botID)
			if err := a.store.DeleteDataset(ctx, tmp.ID); err != nil {
				t.Fatal(err)
			}
			r := builder.get(fmt.Sprintf("/bots/%s/versions/%d/restore", botID, withTmp))
			wantStatus(t, r, 200)
			wantBody(t, r, "Dataset &#34;Temporary&#34; no longer exists: it is skipped.")
			p := builder.post(fmt.Sprintf("/bots/%s/versions/%d/restore", botID, withTmp), nil)
			wantStatus(t, p, 303)
			wantBody(t, builder.get(p.Location()), "no longer exist and were skipped")
		})
		t.Run("Paginated", func(t *testing.T) {
			b := bot()
			for i := range models.DefaultPageSize {
				b.Backstory = fmt.Sprintf("Backstory %d", i)
				b.Datasets, b.Skillsets = nil, nil
				if _, err := a.store.UpdateBot(ctx, store.BotInput{Bot: *b}); err != nil {
					t.Fatal(err)
				}
			}
			n, _ := versionsOf(t, a.store, botID)
			r := builder.get("/bots/" + botID + "/versions")
			next := fmt.Sprintf(`/bots/%s/versions?cursor=%d`, botID, n-models.DefaultPageSize+1)
			wantBody(t, r, `href="`+next+`" rel="next"`)
			wantNoBody(t, r, `>Version 1</a>`)
			older := builder.get(next)
			wantStatus(t, older, 200)
			wantBody(t, older, `>Version 1</a>`, "First version")
		})
	})
}

// The API's writes are made by the calling API secret, and bot fetch and list
// say which version answers now.
func TestBotHistoryFromAPI(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		id := ok(t, c.post("/bot/create", `{"name": "From the API", "backstory": "One."}`)).str("id")
		ok(t, c.post("/bot/"+id+"/update", `{"backstory": "Two."}`))
		ok(t, c.post("/bot/"+id+"/update", `{"name": "Renamed only"}`))
		n, v := versionsOf(t, a.store, id)
		if n != 2 || v.CreatedByKind != models.ActorAPI || v.CreatedByName != "API: test" {
			t.Errorf("version %d made by %s %q, want 2 by the API secret 'test'", n, v.CreatedByKind, v.CreatedByName)
		}
		if got := ok(t, c.get("/bot/"+id+"/fetch")).JSON["version"]; got != 2.0 {
			t.Errorf("fetch version = %v, want 2", got)
		}
		items := ok(t, c.get("/bot/list")).items()
		if len(items) != 1 || items[0]["version"] != 2.0 {
			t.Errorf("list = %v, want the bot with version 2", items)
		}
		// Writes nobody made (seed, command line) are the system's.
		b, err := a.store.CreateBot(context.Background(), store.BotInput{Bot: models.Bot{Name: "Seeded"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, v := versionsOf(t, a.store, b.ID); v.CreatedByKind != models.ActorSystem {
			t.Errorf("store write without an actor made by %q, want the system", v.CreatedByKind)
		}
	})
}

// A workbench turn after a change names the new version, linked from "Why
// this answer" and the answer's meta line.
func TestWorkbenchTurnNamesVersion(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		bot, _ := workbenchBot(t, a.store)
		builder := a.as(models.RoleBuilder)
		r := builder.post("/bots/"+bot.ID, botFormOf(bot, func(f url.Values) { f.Set("backstory", "You help, kindly.") }))
		wantStatus(t, r, 303)
		if n, _ := versionsOf(t, a.store, bot.ID); n != 2 {
			t.Fatalf("after the edit: version %d, want 2", n)
		}
		r = builder.post("/conversations", url.Values{"botId": {bot.ID}, "name": {"Versions"}})
		wantStatus(t, r, 303)
		convID := createdID(t, r)
		wantStatus(t, builder.post("/conversations/"+convID+"/turns", url.Values{"text": {"Can I get a refund?"}}), 303)
		msgs := messagesOf(t, a.store, convID)
		last := msgs[len(msgs)-1]
		if last.Type != models.MessageBot || last.TurnID == nil {
			t.Fatalf("timeline = %s", typesOf(msgs))
		}
		tr, err := a.store.FindTurn(ctx, *last.TurnID)
		if err != nil {
			t.Fatal(err)
		}
		if tr.BotVersion != 2 {
			t.Errorf("turn answered by version %d, want 2", tr.BotVersion)
		}
		link := `answered by <a href="/bots/` + bot.ID + `/versions/2">version 2</a>`
		page := builder.get("/conversations/" + convID)
		wantBody(t, page, "<dt>Bot version</dt><dd>"+link)
		if got := strings.Count(page.Body, link); got != 2 {
			t.Errorf("the version link appears %d times, want 2 (meta line and Why this answer)", got)
		}
		support := a.as(models.RoleSupport).get("/conversations/" + convID)
		wantBody(t, support, link)
	})
}
