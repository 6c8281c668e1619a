package seed_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
	"parley/seed"
)

// Expected sizes of the demo data.
const (
	wantRecords   = 20
	wantAbilities = 4
	wantMessages  = 9
)

func TestRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()

		first, err := seed.Run(ctx, s)
		if err != nil {
			t.Fatalf("first Run: %v", err)
		}
		t.Run("FirstRunCreates", func(t *testing.T) {
			if !first.Created {
				t.Error("first Run: Created = false, want true")
			}
			for name, id := range map[string]string{"BotID": first.BotID, "DatasetID": first.DatasetID,
				"SkillsetID": first.SkillsetID, "ConversationID": first.ConversationID} {
				if !models.ValidID(id) {
					t.Errorf("%s = %q, want a valid id", name, id)
				}
			}
			checkCounts(t, s, first)
		})
		t.Run("Content", func(t *testing.T) {
			checkContent(t, s, first)
		})

		second, err := seed.Run(ctx, s)
		if err != nil {
			t.Fatalf("second Run: %v", err)
		}
		t.Run("SecondRunChangesNothing", func(t *testing.T) {
			if second.Created {
				t.Error("second Run: Created = true, want false")
			}
			want := *first
			want.Created = false
			if *second != want {
				t.Errorf("second Run = %+v, want %+v", *second, want)
			}
			checkCounts(t, s, second)
		})

		t.Run("RestoresDeletedRecord", func(t *testing.T) {
			recs, _, err := s.FindRecords(ctx, first.DatasetID, models.Page{Limit: 1})
			if err != nil || len(recs) != 1 {
				t.Fatalf("FindRecords: %v (%d records)", err, len(recs))
			}
			if err := s.DeleteRecord(ctx, first.DatasetID, recs[0].ID); err != nil {
				t.Fatalf("DeleteRecord: %v", err)
			}
			again, err := seed.Run(ctx, s)
			if err != nil {
				t.Fatalf("Run after delete: %v", err)
			}
			if !again.Created {
				t.Error("Run after deleting a record: Created = false, want true")
			}
			if again.DatasetID != first.DatasetID || again.BotID != first.BotID {
				t.Errorf("Run after delete = %+v, want the same bot and dataset as %+v", *again, *first)
			}
			checkCounts(t, s, again)
		})

		t.Run("ReattachesDetachedDataset", func(t *testing.T) {
			bot, err := s.FindBot(ctx, first.BotID)
			if err != nil {
				t.Fatalf("FindBot: %v", err)
			}
			if _, err := s.UpdateBot(ctx, store.BotInput{Bot: *bot, DatasetIDs: []string{}}); err != nil {
				t.Fatalf("UpdateBot: %v", err)
			}
			again, err := seed.Run(ctx, s)
			if err != nil {
				t.Fatalf("Run after detach: %v", err)
			}
			if !again.Created {
				t.Error("Run after detaching the dataset: Created = false, want true")
			}
			checkCounts(t, s, again)
		})
	})
}

// checkCounts asserts the store holds exactly one copy of the demo data.
func checkCounts(t *testing.T, s *store.Store, r *seed.Result) {
	t.Helper()
	ctx := context.Background()
	db := s.DB().WithContext(ctx)

	count := func(model any, where string, args ...any) int64 {
		t.Helper()
		var n int64
		q := db.Model(model)
		if where != "" {
			q = q.Where(where, args...)
		}
		if err := q.Count(&n).Error; err != nil {
			t.Fatalf("count %T: %v", model, err)
		}
		return n
	}
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"bots", count(&models.Bot{}, ""), 1},
		{"datasets", count(&models.Dataset{}, ""), 1},
		{"records", count(&models.DatasetRecord{}, "dataset_id = ?", r.DatasetID), wantRecords},
		{"all records", count(&models.DatasetRecord{}, ""), wantRecords},
		{"skillsets", count(&models.Skillset{}, ""), 1},
		{"abilities", count(&models.Ability{}, "skillset_id = ?", r.SkillsetID), wantAbilities},
		{"all abilities", count(&models.Ability{}, ""), wantAbilities},
		{"conversations", count(&models.Conversation{}, ""), 1},
		{"messages", count(&models.Message{}, "conversation_id = ?", r.ConversationID), wantMessages},
		{"all messages", count(&models.Message{}, ""), wantMessages},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}

	bot, err := s.FindBot(ctx, r.BotID)
	if err != nil {
		t.Fatalf("FindBot: %v", err)
	}
	if len(bot.Datasets) != 1 || bot.Datasets[0].ID != r.DatasetID {
		t.Errorf("bot datasets = %v, want only %s", bot.Datasets, r.DatasetID)
	}
	if len(bot.Skillsets) != 1 || bot.Skillsets[0].ID != r.SkillsetID {
		t.Errorf("bot skillsets = %v, want only %s", bot.Skillsets, r.SkillsetID)
	}
	conv, err := s.FindConversation(ctx, r.ConversationID)
	if err != nil {
		t.Fatalf("FindConversation: %v", err)
	}
	if conv.BotID == nil || *conv.BotID != r.BotID {
		t.Errorf("conversation bot = %v, want %s", conv.BotID, r.BotID)
	}
}

// checkContent asserts the demo data is what the dashboard and fixtures rely on.
func checkContent(t *testing.T, s *store.Store, r *seed.Result) {
	t.Helper()
	ctx := context.Background()

	bot, err := s.FindBot(ctx, r.BotID)
	if err != nil {
		t.Fatalf("FindBot: %v", err)
	}
	if bot.Alias == nil || *bot.Alias != "parley-demo-support" {
		t.Errorf("bot alias = %v, want parley-demo-support", bot.Alias)
	}
	if got, want := bot.Name, "Northwind Support"; got != want {
		t.Errorf("bot name = %q, want %q", got, want)
	}
	if got, want := bot.Model, "local"; got != want {
		t.Errorf("bot model = %q, want %q", got, want)
	}

	ds, err := s.FindDataset(ctx, r.DatasetID)
	if err != nil {
		t.Fatalf("FindDataset: %v", err)
	}
	if ds.Alias == nil || *ds.Alias != "parley-demo-faq" {
		t.Errorf("dataset alias = %v, want parley-demo-faq", ds.Alias)
	}
	if ds.SearchMaxRecords != 3 || ds.RecordMaxTokens != 1000 {
		t.Errorf("dataset retrieval = %d records, %d tokens; want 3, 1000", ds.SearchMaxRecords, ds.RecordMaxTokens)
	}
	if ds.MatchInstruction == "" || ds.MismatchInstruction == "" {
		t.Error("dataset match/mismatch instruction is empty")
	}
	recs, _, err := s.FindRecords(ctx, r.DatasetID, models.Page{Limit: models.MaxPageSize})
	if err != nil {
		t.Fatalf("FindRecords: %v", err)
	}
	recordIDs := map[string]bool{}
	sources := map[string]bool{}
	for _, rec := range recs {
		recordIDs[rec.ID] = true
		if sources[rec.Source] {
			t.Errorf("source %s used by two records", rec.Source)
		}
		sources[rec.Source] = true
		if !strings.HasPrefix(rec.Source, "https://help.northwind.example/") {
			t.Errorf("record source %q is not on help.northwind.example", rec.Source)
		}
	}

	ks, err := s.FindSkillset(ctx, r.SkillsetID)
	if err != nil {
		t.Fatalf("FindSkillset: %v", err)
	}
	if ks.Alias == nil || *ks.Alias != "parley-demo-skills" {
		t.Errorf("skillset alias = %v, want parley-demo-skills", ks.Alias)
	}
	abilities, _, err := s.FindAbilities(ctx, r.SkillsetID, models.Page{Limit: models.MaxPageSize})
	if err != nil {
		t.Fatalf("FindAbilities: %v", err)
	}
	for _, a := range abilities {
		if action, _ := a.Meta["action"].(string); action == "" {
			t.Errorf("ability %q has no meta action", a.Name)
		}
	}

	conv, err := s.FindConversation(ctx, r.ConversationID)
	if err != nil {
		t.Fatalf("FindConversation: %v", err)
	}
	if got, want := conv.Name, "Sample: refund question"; got != want {
		t.Errorf("conversation name = %q, want %q", got, want)
	}
	if got := conv.Meta["seed"]; got != "parley-demo" {
		t.Errorf("conversation meta seed = %v, want parley-demo", got)
	}
	msgs, _, err := s.FindMessages(ctx, r.ConversationID, models.Page{Limit: models.MaxPageSize, Order: models.OrderAsc})
	if err != nil {
		t.Fatalf("FindMessages: %v", err)
	}
	var types []string
	for _, m := range msgs {
		types = append(types, m.Type)
	}
	wantTypes := []string{models.MessageUser, models.MessageContext, models.MessageBot,
		models.MessageUser, models.MessageContext, models.MessageBot, models.MessageUser, models.MessageContext, models.MessageBot}
	if !slices.Equal(types, wantTypes) {
		t.Fatalf("message types = %v, want %v", types, wantTypes)
	}
	// The sample is made of real turns: its context shows the records
	// retrieved, with their scores, and each answer names its turn.
	if msgs[1].TurnID == nil {
		t.Fatal("the context message belongs to no turn")
	}
	turn, err := s.FindTurn(ctx, *msgs[1].TurnID)
	if err != nil {
		t.Fatalf("FindTurn: %v", err)
	}
	if len(turn.Records) != 3 || turn.Status != models.TurnDone || turn.BotMessageID == nil || *turn.BotMessageID != msgs[2].ID ||
		turn.UserMessageID == nil || *turn.UserMessageID != msgs[0].ID {
		t.Fatalf("first turn = %+v, want done with 3 records, answering the first question", turn)
	}
	for _, rec := range turn.Records {
		if !recordIDs[rec.RecordID] {
			t.Errorf("context record id %q is not a record of the dataset", rec.RecordID)
		}
		if rec.Score <= 0 || rec.Score > 1 {
			t.Errorf("context record score = %v, want a number in (0, 1]", rec.Score)
		}
	}
	for _, i := range []int{5, 8} {
		if msgs[i].TurnID == nil {
			t.Errorf("answer %d belongs to no turn", i)
		}
	}
}
