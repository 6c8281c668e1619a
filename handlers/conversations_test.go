package handlers

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
)

// convTestBot creates a bot through the store.
func convTestBot(t *testing.T, a *testApp, name string) *models.Bot {
	t.Helper()
	b, err := a.store.CreateBot(context.Background(), store.BotInput{Bot: models.Bot{Name: name, Model: "local"}})
	if err != nil {
		t.Fatalf("CreateBot: %v", err)
	}
	return b
}

// convTestConversation creates a conversation with messages through the store.
func convTestConversation(t *testing.T, a *testApp, c models.Conversation, msgs ...models.Message) *models.Conversation {
	t.Helper()
	conv, err := a.store.CreateConversation(context.Background(), c, msgs)
	if err != nil {
		t.Fatalf("CreateConversation: %v", err)
	}
	return conv
}

// convTimelineItem matches one entry of a transcript's timeline.
var convTimelineItem = regexp.MustCompile(`<li class="type-([a-z]+)" id="m-`)

// convTimelineTypes returns the message types of the timeline's entries, in page order.
func convTimelineTypes(body string) []string {
	var out []string
	for _, m := range convTimelineItem.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestConversations(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		support := a.as(models.RoleSupport)
		builder := a.as(models.RoleBuilder)

		t.Run("EmptyState", func(t *testing.T) {
			r := support.get("/conversations")
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Conversations · Parley</title>", "No conversations yet")
		})

		bot := convTestBot(t, a, "Helpdesk <b>")
		other := convTestBot(t, a, "Sales")
		conv := convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "Refund question"},
			models.Message{Type: models.MessageUser, Text: "Can I get a <refund>?"},
			models.Message{Type: models.MessageContext, Text: "Refunds within 30 days.", Meta: models.Meta{"score": 0.9}},
			models.Message{Type: models.MessageBot, Text: "Yes, within 30 days."},
		)
		unnamed := convTestConversation(t, a, models.Conversation{BotID: &other.ID})
		inline := convTestConversation(t, a, models.Conversation{Name: "Inline try", Backstory: "You are terse."})

		t.Run("Index", func(t *testing.T) {
			r := support.get("/conversations")
			wantStatus(t, r, 200)
			wantBody(t, r, "Refund question", "Helpdesk &lt;b&gt;", "Conversation "+unnamed.ID[len(unnamed.ID)-8:], "Sales",
				"Inline try", "inline configuration", `<label for="f-botId">Bot</label>`, "All bots", "Filter")
			wantNoBody(t, r, "Helpdesk <b>")
			// Newest first.
			if i, j := strings.Index(r.Body, "Inline try"), strings.Index(r.Body, "Refund question"); i < 0 || j < 0 || i > j {
				t.Errorf("conversations are not newest first")
			}
		})
		t.Run("FilterByBot", func(t *testing.T) {
			r := support.get("/conversations?botId=" + bot.ID)
			wantStatus(t, r, 200)
			wantBody(t, r, "Refund question", `<option value="`+bot.ID+`" selected>`)
			wantNoBody(t, r, "Inline try", "Conversation "+unnamed.ID[len(unnamed.ID)-8:])
			wantStatus(t, support.get("/conversations?botId=nope"), 422)
		})
		t.Run("Transcript", func(t *testing.T) {
			r := support.get("/conversations/" + conv.ID)
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Refund question · Parley</title>", "Helpdesk &lt;b&gt;", "3 messages",
				`<span class="badge type-user">user</span>`, `<span class="badge type-context">context</span>`, `<span class="badge type-bot">bot</span>`,
				"Can I get a &lt;refund&gt;?", "<summary>Raw meta</summary>", "&#34;score&#34;: 0.9")
			wantNoBody(t, r, "Can I get a <refund>?", "/conversations/"+conv.ID+"/delete", `href="/bots/`)
			if got, want := strings.Join(convTimelineTypes(r.Body), ","), "user,context,bot"; got != want {
				t.Errorf("timeline = %s, want %s", got, want)
			}
			if n := strings.Count(r.Body, "<details>"); n != 1 {
				t.Errorf("%d meta blocks, want 1 (only the message with meta)", n)
			}
			// Builders may read the bot's configuration: the bot is a link.
			wantBody(t, builder.get("/conversations/"+conv.ID), `<a href="/bots/`+bot.ID+`">Helpdesk &lt;b&gt;</a>`, "Delete")
		})
		t.Run("NoMessages", func(t *testing.T) {
			r := support.get("/conversations/" + inline.ID)
			wantStatus(t, r, 200)
			wantBody(t, r, "No messages yet", "inline configuration", "0 messages")
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantStatus(t, support.get("/conversations/"+models.NewID()), 404)
			wantStatus(t, support.get("/conversations/not-an-id"), 404)
			wantStatus(t, builder.get("/conversations/"+models.NewID()+"/delete"), 404)
			wantStatus(t, builder.post("/conversations/"+models.NewID()+"/delete", nil), 404)
		})
		t.Run("ErrSupportCannotDelete", func(t *testing.T) {
			wantStatus(t, support.get("/conversations/"+conv.ID+"/delete"), 403)
			wantStatus(t, support.post("/conversations/"+conv.ID+"/delete", nil), 403)
			if _, err := a.store.FindConversation(ctx, conv.ID); err != nil {
				t.Errorf("support deleted the conversation: %v", err)
			}
		})
		t.Run("DeletedBot", func(t *testing.T) {
			if err := a.store.DeleteBot(ctx, other.ID); err != nil {
				t.Fatal(err)
			}
			r := support.get("/conversations/" + unnamed.ID)
			wantStatus(t, r, 200)
			wantBody(t, r, "deleted bot", "Conversation "+unnamed.ID[len(unnamed.ID)-8:])
			wantBody(t, support.get("/conversations"), "deleted bot")
		})
		t.Run("Delete", func(t *testing.T) {
			r := builder.get("/conversations/" + conv.ID + "/delete")
			wantStatus(t, r, 200)
			wantBody(t, r, "its 3 messages will be deleted", "Delete conversation", "Cancel")
			r = builder.post("/conversations/"+conv.ID+"/delete", nil)
			wantStatus(t, r, 303)
			if r.Location() != "/conversations" {
				t.Errorf("redirect = %q, want /conversations", r.Location())
			}
			wantBody(t, builder.get("/conversations"), "Refund question deleted.")
			if _, err := a.store.FindConversation(ctx, conv.ID); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("FindConversation after delete: %v, want not found", err)
			}
			if n, err := a.store.CountMessages(ctx, conv.ID); err != nil || n != 0 {
				t.Errorf("messages after delete = %d, %v; want 0", n, err)
			}
		})
	})
}

func TestConversationMessagePages(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		msgs := make([]models.Message, 30)
		for i := range msgs {
			msgs[i] = models.Message{Type: models.MessageUser, Text: fmt.Sprintf("message number %02d", i+1)}
			if i%2 == 1 {
				msgs[i].Type = models.MessageBot
			}
		}
		conv := convTestConversation(t, a, models.Conversation{Name: "Long chat", Model: "local"}, msgs...)
		c := a.as(models.RoleSupport)

		// The latest page first; older pages on demand.
		r := c.get("/conversations/" + conv.ID)
		wantStatus(t, r, 200)
		if n := len(convTimelineTypes(r.Body)); n != models.DefaultPageSize {
			t.Errorf("page 1 has %d messages, want %d", n, models.DefaultPageSize)
		}
		wantBody(t, r, "message number 06", "message number 30", "30 messages", "Load older messages")
		wantNoBody(t, r, "message number 05")
		if i, j := strings.Index(r.Body, "message number 06"), strings.Index(r.Body, "message number 30"); i > j {
			t.Error("messages are not in time order")
		}
		m := regexp.MustCompile(`href="(/conversations/[0-9a-f-]+\?before=[0-9a-f-]+)" hx-get="(/conversations/[0-9a-f-]+/older\?before=[0-9a-f-]+)"`).FindStringSubmatch(r.Body)
		if m == nil {
			t.Fatalf("no link to older messages")
		}

		// Without JavaScript: a page of the older messages.
		r = c.get(m[1])
		wantStatus(t, r, 200)
		if n := len(convTimelineTypes(r.Body)); n != 5 {
			t.Errorf("older page has %d messages, want 5", n)
		}
		wantBody(t, r, "message number 01", "message number 05", "Back to the latest messages")
		wantNoBody(t, r, "message number 06", "Load older messages")

		// With htmx: a fragment that prepends them to the timeline.
		r = c.htmxGet(m[2])
		wantStatus(t, r, 200)
		wantBody(t, r, `hx-swap-oob="afterbegin:#timeline"`, "message number 01", "message number 05")
		wantNoBody(t, r, "<html", "message number 06", "Load older messages")

		wantStatus(t, c.get("/conversations/"+conv.ID+"?before=bogus"), 422)

	})
}

func TestConversationDateFilter(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		conv := convTestConversation(t, a, models.Conversation{Name: "Dated chat", Model: "local"})
		c := a.as(models.RoleSupport)
		today := time.Now().UTC().Format(time.DateOnly)
		tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
		yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
		for _, tc := range []struct {
			name, query string
			want        bool
		}{
			{"Today", "?from=" + today + "&to=" + today, true},
			{"FromTomorrow", "?from=" + tomorrow, false},
			{"UntilYesterday", "?to=" + yesterday, false},
			{"OpenRange", "?from=" + yesterday, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := c.get("/conversations" + tc.query)
				wantStatus(t, r, 200)
				if got := strings.Contains(r.Body, conv.ID); got != tc.want {
					t.Errorf("listed = %v, want %v", got, tc.want)
				}
			})
		}
		wantStatus(t, c.get("/conversations?from=21/11/2026"), 422)
		// An inverted range: the message next to the filter, the input kept,
		// the list still there (without the range) inside the page.
		r := c.get("/conversations?from=" + tomorrow + "&to=" + yesterday)
		wantStatus(t, r, 422)
		wantBody(t, r, `id="e-to"`, "To must not be before From.", `value="`+tomorrow+`"`, `value="`+yesterday+`"`, conv.ID, "<h1>Conversations</h1>")
	})
}
