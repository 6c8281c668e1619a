package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/app/provider"
	"parley/models"
	"parley/models/store"
)

// workbenchBot makes a bot with a dataset holding one refund record.
func workbenchBot(t *testing.T, s *store.Store) (*models.Bot, *models.DatasetRecord) {
	t.Helper()
	ctx := context.Background()
	ds := mustDataset(t, s, "Help center")
	rec, err := s.CreateRecord(ctx, models.DatasetRecord{DatasetID: ds.ID, Text: "Annual plans can be refunded within 30 days of purchase.", Source: "https://help.example/refunds"})
	if err != nil {
		t.Fatal(err)
	}
	bot, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Helper", Backstory: "You help.", Model: "local"}, DatasetIDs: []string{ds.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return bot, rec
}

func messagesOf(t *testing.T, s *store.Store, convID string) []models.Message {
	t.Helper()
	msgs, _, err := s.FindMessages(context.Background(), convID, models.Page{Limit: models.MaxPageSize, Order: models.OrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func typesOf(msgs []models.Message) string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Type)
	}
	return strings.Join(out, ",")
}

// waitFor polls until cond holds (background turns finish on their own).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWorkbench(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		bot, rec := workbenchBot(t, a.store)
		qa := a.as(models.RoleQA)

		var convID string
		t.Run("StartConversation", func(t *testing.T) {
			r := qa.get("/conversations/new?botId=" + bot.ID)
			wantStatus(t, r, 200)
			wantBody(t, r, `<option value="`+bot.ID+`" selected>Helper</option>`)
			r = qa.post("/conversations", url.Values{"botId": {bot.ID}, "name": {"Refund check"}})
			wantStatus(t, r, 303)
			convID = createdID(t, r)
			c, err := a.store.FindConversation(ctx, convID)
			if err != nil || c.BotID == nil || *c.BotID != bot.ID || c.Meta["test"] != true {
				t.Fatalf("conversation = %+v, %v", c, err)
			}
			page := qa.get("/conversations/" + convID)
			wantStatus(t, page, 200)
			wantBody(t, page, "Refund check", `id="chat-form"`, "No messages yet", "js/workbench.js")
		})
		t.Run("RetryWithoutUserMessage", func(t *testing.T) {
			// Nothing to retry yet: a 422 that says so, and nothing written.
			r := qa.post("/conversations/"+convID+"/retry", nil)
			wantStatus(t, r, 422)
			wantBody(t, r, "There is no user message to answer yet")
			if n := len(messagesOf(t, a.store, convID)); n != 0 {
				t.Errorf("retry on an empty conversation wrote %d messages", n)
			}
		})
		for _, tc := range []struct {
			name string
			form url.Values
			want string
		}{
			{"ErrNoBotNoBackstory", url.Values{"name": {"x"}}, "Choose a bot, or write an inline backstory"},
			{"ErrUnknownBot", url.Values{"botId": {models.NewID()}}, "That bot no longer exists"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before, _ := a.store.Counts(ctx)
				r := qa.post("/conversations", tc.form)
				wantStatus(t, r, 422)
				wantBody(t, r, tc.want)
				if after, _ := a.store.Counts(ctx); after["conversations"] != before["conversations"] {
					t.Error("an invalid form created a conversation")
				}
			})
		}

		t.Run("TurnWithoutJS", func(t *testing.T) {
			r := qa.post("/conversations/"+convID+"/turns", url.Values{"text": {"Can I get a refund on my annual plan?"}})
			wantStatus(t, r, 303)
			msgs := messagesOf(t, a.store, convID)
			if got := typesOf(msgs); got != "user,context,bot" {
				t.Fatalf("timeline = %s", got)
			}
			if !strings.Contains(msgs[2].Text, "refunded within 30 days") || !strings.Contains(msgs[2].Text, "https://help.example/refunds") {
				t.Errorf("answer = %q; want it to quote the record and name its source", msgs[2].Text)
			}
			page := qa.get("/conversations/" + convID)
			wantBody(t, page, "Retrieved records (1)", "/datasets/", rec.ID[len(rec.ID)-8:], "Why this answer", "local/local")
			if !regexp.MustCompile(`<td class="num">0\.\d\d</td>`).MatchString(page.Body) {
				t.Error("the context entry shows no score")
			}
		})

		t.Run("ErrEmptyMessage", func(t *testing.T) {
			n := len(messagesOf(t, a.store, convID))
			r := qa.htmx("/conversations/"+convID+"/turns", url.Values{"text": {"   "}})
			wantStatus(t, r, 422)
			wantBody(t, r, "Write a message first.")
			if len(messagesOf(t, a.store, convID)) != n {
				t.Error("an empty message was stored")
			}
		})

		t.Run("LiveEventsStreamTokensAndMessages", func(t *testing.T) {
			old := sseMaxDuration
			sseMaxDuration = 3 * time.Second
			defer func() { sseMaxDuration = old }()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = a.srv.Serve(ln) }()
			req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/conversations/"+convID+"/events", nil)
			for k, v := range qa.cookies {
				req.AddCookie(&http.Cookie{Name: k, Value: v})
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Fatalf("content type %q", ct)
			}
			waitFor(t, "the watcher", func() bool { return a.srv.broker.Watchers(convID) > 0 })

			r := qa.htmx("/conversations/"+convID+"/turns", url.Values{"text": {"How long do refunds take for annual plans?"}})
			wantStatus(t, r, 202)

			sc := bufio.NewScanner(res.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			var (
				event   string
				tokens  strings.Builder
				types   []string
				botHTML string
			)
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "event: "):
					event = strings.TrimPrefix(line, "event: ")
				case strings.HasPrefix(line, "data: ") && event == "token":
					var d struct{ Token string }
					_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d)
					tokens.WriteString(d.Token)
				case strings.HasPrefix(line, "data: ") && event == "message":
					var d struct{ ID, Type, Timeline, Chat string }
					_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d)
					types = append(types, d.Type)
					if d.Type == "bot" {
						botHTML = d.Chat
					}
				}
				if botHTML != "" {
					break
				}
			}
			if got := strings.Join(types, ","); got != "user,context,bot" {
				t.Fatalf("live message events = %s", got)
			}
			msgs := messagesOf(t, a.store, convID)
			last := msgs[len(msgs)-1]
			if tokens.String() != last.Text {
				t.Errorf("streamed tokens %q != stored answer %q", tokens.String(), last.Text)
			}
			if !strings.Contains(botHTML, `class="bubble bot"`) {
				t.Errorf("chat fragment = %q", botHTML)
			}
			res.Body.Close()
			ln.Close() // the stream itself ends by its own timer
		})

		t.Run("VoteWithReason", func(t *testing.T) {
			msgs := messagesOf(t, a.store, convID)
			var botMsg models.Message
			for _, m := range msgs {
				if m.Type == models.MessageBot {
					botMsg = m
				}
			}
			support := a.as(models.RoleSupport)
			r := support.htmx("/conversations/"+convID+"/messages/"+botMsg.ID+"/vote", url.Values{"vote": {"down"}, "reason": {"too vague"}})
			wantStatus(t, r, 200)
			wantBody(t, r, "▼ 1", "too vague", "by support@example.com")
			rs, _ := a.store.FindRatings(ctx, convID, []string{botMsg.ID})
			if got := rs[botMsg.ID]; len(got) != 1 || got[0].Value != -1 || got[0].Reason != "too vague" ||
				got[0].RaterName != "support@example.com" || got[0].RaterKind != models.RaterOperator {
				t.Errorf("ratings = %+v", got)
			}
			wantStatus(t, support.htmx("/conversations/"+convID+"/messages/"+msgs[0].ID+"/vote", url.Values{"vote": {"up"}}), 422)
			wantStatus(t, support.htmx("/conversations/"+convID+"/messages/"+botMsg.ID+"/vote", url.Values{"vote": {"maybe"}}), 422)
			// Support rates but may not run the conversation.
			n := len(messagesOf(t, a.store, convID))
			wantStatus(t, support.post("/conversations/"+convID+"/turns", url.Values{"text": {"hi"}}), 403)
			if len(messagesOf(t, a.store, convID)) != n {
				t.Error("support wrote a message")
			}
			page := support.get("/conversations/" + convID)
			wantNoBody(t, page, `id="chat-form"`)
			wantBody(t, page, "Upvote this answer")
		})

		t.Run("RetryAfterBackstoryEdit", func(t *testing.T) {
			before := strings.Count(typesOf(messagesOf(t, a.store, convID)), "bot")
			b, _ := a.store.FindBot(ctx, bot.ID)
			b.Backstory = "You help, briefly."
			if _, err := a.store.UpdateBot(ctx, store.BotInput{Bot: *b}); err != nil {
				t.Fatal(err)
			}
			r := qa.post("/conversations/"+convID+"/retry", nil)
			wantStatus(t, r, 303)
			msgs := messagesOf(t, a.store, convID)
			if got := strings.Count(typesOf(msgs), "bot"); got != before+1 {
				t.Errorf("bot answers after retry = %d, want %d (both kept)", got, before+1)
			}
			if msgs[len(msgs)-1].Type != models.MessageBot {
				t.Errorf("last message = %s", msgs[len(msgs)-1].Type)
			}
		})

		t.Run("Restart", func(t *testing.T) {
			r := qa.post("/conversations/"+convID+"/restart", nil)
			wantStatus(t, r, 303)
			fresh := createdID(t, r)
			if fresh == convID {
				t.Fatal("restart reused the conversation")
			}
			c, _ := a.store.FindConversation(ctx, fresh)
			if c.BotID == nil || *c.BotID != bot.ID || c.Meta["restartedFrom"] != convID {
				t.Errorf("restarted conversation = %+v", c)
			}
			if len(messagesOf(t, a.store, convID)) == 0 {
				t.Error("restart emptied the old conversation")
			}
		})
	})
}

// failing is a provider that always fails like an overloaded remote model.
type failing struct{}

func (failing) Name() string { return "failing" }
func (failing) Complete(context.Context, provider.Request, func(string)) (*provider.Response, error) {
	return nil, &provider.Error{Message: "the model is overloaded (HTTP 503)", Retryable: true}
}

func TestWorkbenchProviderFailure(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		srv := newServer(t, a.store, func(su *serverSetup) {
			su.Engine.Providers = func(context.Context, string) (provider.Provider, string, error) { return failing{}, "x", nil }
		})
		a2 := &testApp{t: t, srv: srv, store: a.store, ops: a.ops}
		bot, _ := workbenchBot(t, a.store)
		conv, err := a.store.CreateConversation(context.Background(), models.Conversation{BotID: &bot.ID}, nil)
		if err != nil {
			t.Fatal(err)
		}
		qa := a2.as(models.RoleQA)
		r := qa.post("/conversations/"+conv.ID+"/turns", url.Values{"text": {"anyone there?"}})
		if r.Status != 303 {
			t.Fatalf("status = %d; a model failure must not lose the page", r.Status)
		}
		msgs := messagesOf(t, a.store, conv.ID)
		if got := typesOf(msgs); got != "user,context,activity" && got != "user,activity" {
			t.Fatalf("timeline = %s; want the user message kept and an error entry", got)
		}
		page := qa.get("/conversations/" + conv.ID)
		wantBody(t, page, "anyone there?", "The bot could not answer.", "overloaded (HTTP 503)", "Failed at the model stage")
		// Still usable: another message is accepted and stored.
		qa.post("/conversations/"+conv.ID+"/turns", url.Values{"text": {"again"}})
		if n := strings.Count(typesOf(messagesOf(t, a.store, conv.ID)), "user"); n != 2 {
			t.Errorf("user messages = %d, want 2", n)
		}
	})
}

// TestTestThisBot: "Test this bot" opens a new test conversation at once, for
// every role that may run conversations (QA too), named after the bot; a
// restart is named apart from the conversation it restarts.
func TestTestThisBot(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		bot, _ := workbenchBot(t, a.store)
		qa := a.as(models.RoleQA)
		page := qa.get("/bots/" + bot.ID)
		wantBody(t, page, `action="/bots/`+bot.ID+`/test"`, "Test this bot")
		r := qa.post("/bots/"+bot.ID+"/test", nil)
		wantStatus(t, r, 303)
		id := createdID(t, r)
		conv, err := a.store.FindConversation(context.Background(), id)
		if err != nil || conv.BotID == nil || *conv.BotID != bot.ID || !strings.HasPrefix(conv.Name, "Test of Helper · ") || conv.Meta["test"] != true {
			t.Fatalf("conversation = %+v (%v)", conv, err)
		}
		r = qa.post("/conversations/"+id+"/restart", nil)
		wantStatus(t, r, 303)
		fresh, _ := a.store.FindConversation(context.Background(), createdID(t, r))
		if fresh.Name == conv.Name || !strings.Contains(fresh.Name, "(restarted ") || strings.Count(fresh.Name, "restarted") != 1 {
			t.Errorf("restarted conversation named %q (was %q)", fresh.Name, conv.Name)
		}
		wantStatus(t, a.as(models.RoleSupport).post("/bots/"+bot.ID+"/test", nil), 403)
	})
}

// TestWorkbenchEditBesideChat: a builder edits the backstory in the
// workbench's side panel and retries in one request; the bot gets a new
// version, the last message a second answer, and the timeline links the two
// answers with their word diff.
func TestWorkbenchEditBesideChat(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		bot, _ := workbenchBot(t, a.store)
		b := a.as(models.RoleBuilder)
		convID := createdID(t, b.post("/bots/"+bot.ID+"/test", nil))
		page := b.get("/conversations/" + convID)
		wantBody(t, page, "Edit Helper beside the chat", `id="save-retry"`, "disabled", "You help.</textarea>")
		wantStatus(t, b.post("/conversations/"+convID+"/turns", url.Values{"text": {"Can I get a refund on an annual plan?"}}), 303)
		r := b.htmx("/conversations/"+convID+"/bot?retry=1", url.Values{"backstory": {"You help, briefly."}, "model": {"local"}, "note": {"Shorter"}})
		wantStatus(t, r, 202)
		if _, err := a.srv.turns.Await(ctx, r.Header.Get("X-Turn-Id")); err != nil {
			t.Fatal(err)
		}
		got, err := a.store.FindBot(ctx, bot.ID)
		if err != nil || got.Backstory != "You help, briefly." {
			t.Fatalf("bot after the side panel: %+v (%v)", got, err)
		}
		v, err := a.store.LatestBotVersion(ctx, bot.ID)
		if err != nil || v == nil || v.Number != 2 || v.Note != "Shorter" {
			t.Errorf("latest version = %+v (%v), want 2 with the note", v, err)
		}
		bots := 0
		for _, m := range messagesOf(t, a.store, convID) {
			if m.Type == models.MessageBot {
				bots++
			}
		}
		if bots != 2 {
			t.Errorf("%d answers, want both the first and the retried one", bots)
		}
		page = b.get("/conversations/" + convID)
		wantBody(t, page, "retried", "Compare with the earlier answer", "answered by")
		// Save alone (no retry) answers in place with the version.
		r = b.htmx("/conversations/"+convID+"/bot", url.Values{"backstory": {"You help, briefly and kindly."}, "model": {"local"}})
		wantStatus(t, r, 200)
		wantBody(t, r, "Saved as version 3.")
		wantStatus(t, a.as(models.RoleQA).htmx("/conversations/"+convID+"/bot", url.Values{"backstory": {"x"}}), 403)
		if r := b.htmx("/conversations/"+convID+"/bot", url.Values{"backstory": {"x"}, "model": {"olama/x"}}); r.Status != 422 {
			t.Errorf("an unknown model: %d, want 422", r.Status)
		}
	})
}
