package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

var ignoreConversationDB = cmpopts.IgnoreFields(models.Conversation{}, "ID", "CreatedAt", "UpdatedAt", "Bot")

func TestCreateConversation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		d := mustDataset(t, s, "Docs")
		k := mustSkillset(t, s, "Tools")
		b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Helper"}})

		t.Run("OK", func(t *testing.T) {
			want := models.Conversation{
				BotID: &b.ID, Name: "Support chat", Description: "From the widget.", Meta: models.Meta{"channel": "widget"},
				Model: "local", Backstory: "Be brief.", DatasetID: &d.ID, SkillsetID: &k.ID, Privacy: true, Moderation: true,
				ContactID: ptr("contact-1"), TaskID: ptr("task-1"), SpaceID: ptr("space-1"),
			}
			got, err := s.CreateConversation(t.Context(), want, []models.Message{
				{Type: models.MessageUser, Text: "Where is my order?"},
				{Type: models.MessageBot, Text: "Let me check.", Meta: models.Meta{"tokens": 3.0}},
			})
			if err != nil {
				t.Fatalf("CreateConversation: %v", err)
			}
			want.Kind = models.ConversationChat // the default: a real conversation
			if diff := cmp.Diff(want, *got, ignoreConversationDB); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			found, err := s.FindConversation(t.Context(), got.ID)
			if err != nil {
				t.Fatalf("FindConversation: %v", err)
			}
			if diff := cmp.Diff(want, *found, ignoreConversationDB); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			if found.Bot == nil || found.Bot.Name != "Helper" {
				t.Errorf("Bot = %v, want the bot loaded", found.Bot)
			}
			msgs, _, err := s.FindMessages(t.Context(), got.ID, models.Page{Order: models.OrderAsc})
			if err != nil {
				t.Fatal(err)
			}
			wantMsgs := []models.Message{
				{ConversationID: got.ID, Type: models.MessageUser, Text: "Where is my order?", Meta: models.Meta{}},
				{ConversationID: got.ID, Type: models.MessageBot, Text: "Let me check.", Meta: models.Meta{"tokens": 3.0}},
			}
			if diff := cmp.Diff(wantMsgs, msgs, cmpopts.IgnoreFields(models.Message{}, "ID", "CreatedAt", "UpdatedAt")); diff != "" {
				t.Errorf("initial messages (-want +got):\n%s", diff)
			}
			wantUTC(t, s, map[string]time.Time{"conversation CreatedAt": found.CreatedAt, "message CreatedAt": msgs[0].CreatedAt})
		})
		t.Run("WithoutBot", func(t *testing.T) {
			got := mustConversation(t, s, models.Conversation{Name: "  Inline  ", Model: "local", Backstory: "Inline backstory"})
			found, err := s.FindConversation(t.Context(), got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if found.BotID != nil || found.Bot != nil {
				t.Errorf("BotID = %v, Bot = %v, want nil", found.BotID, found.Bot)
			}
			if found.Name != "Inline" || found.Backstory != "Inline backstory" {
				t.Errorf("Name %q, Backstory %q; want trimmed name and the backstory", found.Name, found.Backstory)
			}
			if found.Meta == nil {
				t.Error("Meta is nil, want empty")
			}
		})

		for _, tc := range []struct {
			name  string
			conv  models.Conversation
			msgs  []models.Message
			field string
		}{
			{"ErrUnknownBot", models.Conversation{BotID: ptr(models.NewID())}, nil, "botId"},
			{"ErrMalformedBotID", models.Conversation{BotID: ptr("helper")}, nil, "botId"},
			{"ErrEmptyBotID", models.Conversation{BotID: ptr("")}, nil, "botId"},
			{"ErrUnknownDataset", models.Conversation{BotID: &b.ID, DatasetID: ptr(models.NewID())}, nil, "datasetId"},
			{"ErrUnknownSkillset", models.Conversation{SkillsetID: ptr(models.NewID())}, nil, "skillsetId"},
			{"ErrNameTooLong", models.Conversation{Name: strings.Repeat("n", 201)}, nil, "name"},
			{"ErrContactIDTooLong", models.Conversation{ContactID: ptr(strings.Repeat("c", 101))}, nil, "contactId"},
			{"ErrInitialMessageType", models.Conversation{BotID: &b.ID},
				[]models.Message{{Type: models.MessageUser, Text: "ok"}, {Type: "shout", Text: "bad"}}, "type"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.conv.Name == "" {
					tc.conv.Name = "Conversation " + tc.name
				}
				convs, msgs := count(t, s, "conversations", ""), count(t, s, "messages", "")
				_, err := s.CreateConversation(t.Context(), tc.conv, tc.msgs)
				wantFieldErrors(t, err, tc.field)
				// Nothing is written: neither the conversation nor any message.
				if got := count(t, s, "conversations", ""); got != convs {
					t.Errorf("conversations = %d after a failed create, want %d", got, convs)
				}
				if got := count(t, s, "messages", ""); got != msgs {
					t.Errorf("messages = %d after a failed create, want %d", got, msgs)
				}
			})
		}
	})
}

func TestFindConversation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		mustConversation(t, s, models.Conversation{Name: "Exists"})
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "chat"},
			{"ErrEmptyID", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.FindConversation(t.Context(), tc.id)
				wantCode(t, err, models.CodeNotFound)
			})
		}
	})
}

func TestFindConversations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b1 := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "One"}})
		b2 := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Two"}})
		c1 := mustConversation(t, s, models.Conversation{BotID: &b1.ID, Name: "c1"})
		c2 := mustConversation(t, s, models.Conversation{BotID: &b2.ID, Name: "c2"})
		c3 := mustConversation(t, s, models.Conversation{BotID: &b1.ID, Name: "c3"})
		c4 := mustConversation(t, s, models.Conversation{Name: "c4"})

		for _, tc := range []struct {
			name   string
			filter models.ConversationFilter
			want   []string
		}{
			{"All", models.ConversationFilter{}, []string{c4.ID, c3.ID, c2.ID, c1.ID}},
			{"ByBot", models.ConversationFilter{BotID: b1.ID}, []string{c3.ID, c1.ID}},
			{"ByOtherBot", models.ConversationFilter{BotID: b2.ID}, []string{c2.ID}},
			{"ByUnknownBot", models.ConversationFilter{BotID: models.NewID()}, []string{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				items, _, err := s.FindConversations(t.Context(), tc.filter)
				if err != nil {
					t.Fatal(err)
				}
				got := []string{}
				for _, c := range items {
					got = append(got, c.ID)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("FindConversations (-want +got):\n%s", diff)
				}
			})
		}
		t.Run("BotNameLoaded", func(t *testing.T) {
			items, _, err := s.FindConversations(t.Context(), models.ConversationFilter{BotID: b2.ID})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 || items[0].Bot == nil || items[0].Bot.Name != "Two" {
				t.Errorf("FindConversations = %+v, want c2 with its bot's name", items)
			}
		})
	})
}

func TestUpdateConversation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Bot"}})
		t.Run("OK", func(t *testing.T) {
			c := mustConversation(t, s, models.Conversation{Name: "Old"})
			want := models.Conversation{ID: c.ID, BotID: &b.ID, Name: "New", Description: "d", Meta: models.Meta{"x": "y"}, Model: "m", Privacy: true}
			if _, err := s.UpdateConversation(t.Context(), want); err != nil {
				t.Fatalf("UpdateConversation: %v", err)
			}
			got, err := s.FindConversation(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			want.ID, want.Kind = "", models.ConversationChat // the kind stays
			if diff := cmp.Diff(want, *got, ignoreConversationDB); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			if !got.CreatedAt.Equal(c.CreatedAt) {
				t.Errorf("CreatedAt = %v, want unchanged %v", got.CreatedAt, c.CreatedAt)
			}
		})
		t.Run("ErrUnknownBot", func(t *testing.T) {
			c := mustConversation(t, s, models.Conversation{BotID: &b.ID, Name: "Keep"})
			_, err := s.UpdateConversation(t.Context(), models.Conversation{ID: c.ID, BotID: ptr(models.NewID()), Name: "Changed"})
			wantFieldErrors(t, err, "botId")
			got, err := s.FindConversation(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Keep" || got.BotID == nil || *got.BotID != b.ID {
				t.Errorf("conversation changed by a refused update: %q, bot %v", got.Name, got.BotID)
			}
		})
		t.Run("ErrNameTooLong", func(t *testing.T) {
			c := mustConversation(t, s, models.Conversation{Name: "Short"})
			_, err := s.UpdateConversation(t.Context(), models.Conversation{ID: c.ID, Name: strings.Repeat("n", 201)})
			wantFieldErrors(t, err, "name")
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "conversations", "")
				_, err := s.UpdateConversation(t.Context(), models.Conversation{ID: tc.id, Name: "Ghost"})
				wantCode(t, err, models.CodeNotFound)
				if got := count(t, s, "conversations", ""); got != before {
					t.Errorf("conversations = %d, want %d (update must not insert)", got, before)
				}
			})
		}
	})
}

func TestDeleteConversation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("OK", func(t *testing.T) {
			c := mustConversation(t, s, models.Conversation{Name: "Doomed"}, models.Message{Type: models.MessageUser, Text: "hi"})
			other := mustConversation(t, s, models.Conversation{Name: "Other"}, models.Message{Type: models.MessageUser, Text: "hello"})
			sess := models.ConversationSession{ID: models.NewID(), ConversationID: c.ID, TokenHash: models.HashToken("t"),
				ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now()}
			if err := s.DB().Create(&sess).Error; err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteConversation(t.Context(), c.ID); err != nil {
				t.Fatalf("DeleteConversation: %v", err)
			}
			_, err := s.FindConversation(t.Context(), c.ID)
			wantCode(t, err, models.CodeNotFound)
			if n := count(t, s, "messages", "conversation_id = ?", c.ID); n != 0 {
				t.Errorf("messages left = %d, want 0", n)
			}
			if n := count(t, s, "conversation_sessions", "conversation_id = ?", c.ID); n != 0 {
				t.Errorf("conversation sessions left = %d, want 0", n)
			}
			if n, err := s.CountMessages(t.Context(), other.ID); err != nil || n != 1 {
				t.Errorf("other conversation's messages = %d, %v; want 1", n, err)
			}
			wantCode(t, s.DeleteConversation(t.Context(), c.ID), models.CodeNotFound)
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, s.DeleteConversation(t.Context(), tc.id), models.CodeNotFound)
			})
		}
	})
}

func TestMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := mustConversation(t, s, models.Conversation{Name: "Chat"})
		other := mustConversation(t, s, models.Conversation{Name: "Other"})

		t.Run("CreateOK", func(t *testing.T) {
			want := models.Message{ConversationID: c.ID, Type: models.MessageUser, Text: "Hello", Meta: models.Meta{"rating": 5.0}}
			got, err := s.CreateMessage(t.Context(), want)
			if err != nil {
				t.Fatalf("CreateMessage: %v", err)
			}
			if !models.ValidID(got.ID) {
				t.Errorf("ID = %q, not a valid id", got.ID)
			}
			if diff := cmp.Diff(want, *got, cmpopts.IgnoreFields(models.Message{}, "ID", "CreatedAt", "UpdatedAt")); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			found, err := s.FindMessage(t.Context(), c.ID, got.ID)
			if err != nil {
				t.Fatalf("FindMessage: %v", err)
			}
			if diff := cmp.Diff(got, found); diff != "" {
				t.Errorf("FindMessage (-created +found):\n%s", diff)
			}
		})
		for _, typ := range models.MessageTypes {
			t.Run("Type_"+typ, func(t *testing.T) {
				got := mustMessage(t, s, c.ID, typ, "text of "+typ)
				if got.Type != typ {
					t.Errorf("Type = %q, want %q", got.Type, typ)
				}
			})
		}
		for _, tc := range []struct {
			name, typ, text string
		}{
			{"ErrUnknownType", "shout", "HELLO"},
			{"ErrTypeRequired", "", "hello"},
			{"ErrTypeCase", "User", "hello"},
			{"ErrTextTooLong", models.MessageUser, strings.Repeat("t", 200001)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "messages", "")
				_, err := s.CreateMessage(t.Context(), models.Message{ConversationID: c.ID, Type: tc.typ, Text: tc.text})
				field := "type"
				if tc.name == "ErrTextTooLong" {
					field = "text"
				}
				wantFieldErrors(t, err, field)
				if got := count(t, s, "messages", ""); got != before {
					t.Errorf("messages = %d, want %d", got, before)
				}
			})
		}
		for _, tc := range []struct{ name, id string }{
			{"ErrUnknownConversation", models.NewID()},
			{"ErrMalformedConversation", "chat"},
			{"ErrNoConversation", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "messages", "")
				_, err := s.CreateMessage(t.Context(), models.Message{ConversationID: tc.id, Type: models.MessageUser, Text: "lost"})
				wantCode(t, err, models.CodeNotFound)
				if got := count(t, s, "messages", ""); got != before {
					t.Errorf("messages = %d, want %d", got, before)
				}
			})
		}
		t.Run("FindMessageScopedToConversation", func(t *testing.T) {
			m := mustMessage(t, s, c.ID, models.MessageUser, "mine")
			_, err := s.FindMessage(t.Context(), other.ID, m.ID)
			wantCode(t, err, models.CodeNotFound)
			_, err = s.FindMessage(t.Context(), c.ID, "nope")
			wantCode(t, err, models.CodeNotFound)
			_, err = s.FindMessage(t.Context(), c.ID, models.NewID())
			wantCode(t, err, models.CodeNotFound)
		})
		t.Run("Timeline", func(t *testing.T) {
			conv := mustConversation(t, s, models.Conversation{Name: "Timeline"})
			var want []string
			for i, typ := range []string{models.MessageUser, models.MessageBot, models.MessageUser, models.MessageBot, models.MessageActivity} {
				m := mustMessage(t, s, conv.ID, typ, strings.Repeat("x", i+1))
				want = append(want, m.ID)
			}
			mustMessage(t, s, other.ID, models.MessageUser, "not in this timeline")

			asc, next, err := s.FindMessages(t.Context(), conv.ID, models.Page{Order: models.OrderAsc})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, messageIDs(asc)); diff != "" {
				t.Errorf("asc (-want creation order +got):\n%s", diff)
			}
			if next != "" {
				t.Errorf("next = %q, want none", next)
			}
			desc, _, err := s.FindMessages(t.Context(), conv.ID, models.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(reversed(want), messageIDs(desc)); diff != "" {
				t.Errorf("desc (-want newest first +got):\n%s", diff)
			}
			n, err := s.CountMessages(t.Context(), conv.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n != 5 {
				t.Errorf("CountMessages = %d, want 5", n)
			}
		})
	})
}

func messageIDs(ms []models.Message) []string {
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func reversed(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = id
	}
	return out
}

func TestSetMessageMetaAndDateFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		conv, err := s.CreateConversation(ctx, models.Conversation{Name: "dates"}, []models.Message{{Type: models.MessageBot, Text: "hi", Meta: models.Meta{"model": "local"}}})
		if err != nil {
			t.Fatal(err)
		}
		msgs, _, _ := s.FindMessages(ctx, conv.ID, models.Page{})
		m, err := s.SetMessageMeta(ctx, conv.ID, msgs[0].ID, "rating", map[string]any{"value": -1, "reason": "wrong"})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.FindMessage(ctx, conv.ID, m.ID)
		if got.Meta["model"] != "local" || got.Meta["rating"] == nil {
			t.Errorf("meta after set = %v", got.Meta)
		}
		if _, err := s.SetMessageMeta(ctx, conv.ID, models.NewID(), "rating", 1); models.ErrorCode(err) != models.CodeNotFound {
			t.Errorf("unknown message: %v", err)
		}
		now := time.Now().UTC()
		for _, tc := range []struct {
			name         string
			since, until time.Time
			want         bool
		}{
			{"Today", now.Add(-time.Hour), now.Add(time.Hour), true},
			{"Yesterday", now.Add(-48 * time.Hour), now.Add(-24 * time.Hour), false},
			{"Tomorrow", now.Add(24 * time.Hour), time.Time{}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				list, _, err := s.FindConversations(ctx, models.ConversationFilter{Since: tc.since, Until: tc.until})
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, c := range list {
					found = found || c.ID == conv.ID
				}
				if found != tc.want {
					t.Errorf("found = %v, want %v", found, tc.want)
				}
			})
		}
	})
}

func TestCountMessagesUpTo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		msgs := make([]models.Message, 7)
		for i := range msgs {
			msgs[i] = models.Message{Type: models.MessageUser, Text: "m"}
		}
		conv, err := s.CreateConversation(ctx, models.Conversation{Name: "count"}, msgs)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ max, want int64 }{{3, 3}, {7, 7}, {100, 7}} {
			if got, err := s.CountMessagesUpTo(ctx, conv.ID, int(tc.max)); err != nil || got != tc.want {
				t.Errorf("CountMessagesUpTo(%d) = %d, %v; want %d", tc.max, got, err, tc.want)
			}
		}
	})
}
