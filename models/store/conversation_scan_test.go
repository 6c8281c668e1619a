package store_test

import (
	"reflect"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// TestFindConversationScan: FindConversation and FindConversationsByID,
// scanned by hand, read every field GORM reads — a conversation with a bot
// (alias, meta, version), one without (inline settings, attachments, a
// contact), one pinned to a configuration, one whose bot is gone — and the
// scan covers every field of the two models (a field added to either fails
// here until it is scanned).
func TestFindConversationScan(t *testing.T) {
	conv := reflect.TypeFor[models.Conversation]()
	if n := conv.NumField() - 1; n != store.ConversationScannedFields { // less Bot
		t.Errorf("models.Conversation has %d columns, FindConversation scans %d: scan the new one", n, store.ConversationScannedFields)
	}
	bot := reflect.TypeFor[models.Bot]()
	if n := bot.NumField() - 2; n != store.BotScannedFields { // less Datasets, Skillsets
		t.Errorf("models.Bot has %d columns, FindConversation scans %d: scan the new one", n, store.BotScannedFields)
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		alias := "scan-" + models.NewID()[:8]
		b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Scanned", Alias: &alias, Model: "local", Backstory: "Be brief.",
			Privacy: true, Meta: models.Meta{"team": "support", "n": 2.0}}})
		ds := mustDataset(t, s, "Scan data")
		contact, task := "contact-1", "task-1"
		gone := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Gone", Model: "local"}})
		convs := []models.Conversation{
			{BotID: &b.ID, Name: "With a bot", Description: "d", Meta: models.Meta{"k": "v"}},
			{Name: "Inline", Model: "local", Backstory: "Inline story", DatasetID: &ds.ID, Privacy: true, Moderation: true,
				ContactID: &contact, TaskID: &task},
			{BotID: &b.ID, Name: "Pinned", Kind: "test", Pinned: &models.PinnedConfig{VersionID: models.NewID(), Version: 2,
				Snapshot: models.BotSnapshot{Backstory: "Pinned story", Model: "local"}}},
			{BotID: &gone.ID, Name: "Bot deleted"},
		}
		for i := range convs {
			c := mustConversation(t, s, convs[i])
			if c.Name == "Bot deleted" {
				if err := s.DeleteBot(ctx, gone.ID); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.FindConversation(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			var want models.Conversation
			if err := s.DB().Joins("Bot").First(&want, "conversations.id = ?", c.ID).Error; err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("%s: FindConversation =\n%+v (bot %+v)\nGORM reads\n%+v (bot %+v)", c.Name, *got, got.Bot, want, want.Bot)
			}
			byID, err := s.FindConversationsByID(ctx, []string{c.ID, models.NewID()})
			if err != nil || len(byID) != 1 || !reflect.DeepEqual(byID[c.ID], want) {
				t.Errorf("%s: FindConversationsByID = %+v (%v), want only it as GORM reads it", c.Name, byID, err)
			}
		}
		if _, err := s.FindConversation(ctx, models.NewID()); models.ErrorCode(err) != models.CodeNotFound {
			t.Errorf("FindConversation of an unknown id: %v, want not_found", err)
		}
	})
}
