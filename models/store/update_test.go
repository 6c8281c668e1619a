package store_test

import (
	"context"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// An update racing a delete must not bring the row back (gorm's Save would insert).
func TestUpdateNeverResurrects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t.Run("Skillset", func(t *testing.T) {
			k, err := s.CreateSkillset(ctx, models.Skillset{Name: "Gone"})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteSkillset(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
			k.Name = "Back?"
			if _, err := s.UpdateSkillset(ctx, *k); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("update after delete: %v, want not_found", err)
			}
			if _, err := s.FindSkillset(ctx, k.ID); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("skillset came back: %v", err)
			}
		})
		t.Run("Bot", func(t *testing.T) {
			b, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Gone"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteBot(ctx, b.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpdateBot(ctx, store.BotInput{Bot: *b}); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("update after delete: %v, want not_found", err)
			}
		})
		t.Run("UpdateKeepsCreatedAt", func(t *testing.T) {
			d := models.NewDataset()
			d.Name = "Kept"
			created, err := s.CreateDataset(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			created.Name = "Renamed"
			created.CreatedAt = created.CreatedAt.AddDate(-1, 0, 0)
			if _, err := s.UpdateDataset(ctx, *created); err != nil {
				t.Fatal(err)
			}
			got, _ := s.FindDataset(ctx, created.ID)
			if got.Name != "Renamed" || got.CreatedAt.Year() == created.CreatedAt.Year() {
				t.Errorf("after update: name %q, created %v", got.Name, got.CreatedAt)
			}
		})
	})
}
