package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// TestSearchMessagesPlans checks that a rare word (read from the index
// first, by the term statistics), a word no message has and a common word
// (the newest messages walked first) each find exactly their messages,
// newest first, page after page, the same as reading every match and
// sorting it. On PostgreSQL the estimates that pick the plan are checked too.
func TestSearchMessagesPlans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		bot := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Shop", Model: "local"}})
		base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		var msgs []models.Message
		for i := range 6000 {
			text := fmt.Sprintf("order number %d is on its way", i)
			if i%1000 == 7 {
				text += " zeppelin"
			}
			at := base.Add(time.Duration(i) * time.Second)
			msgs = append(msgs, models.Message{ID: models.NewID(), Type: models.MessageUser, Text: text, CreatedAt: at, UpdatedAt: at})
		}
		for c := range 60 {
			mustConversation(t, s, models.Conversation{BotID: &bot.ID}, msgs[c*100:(c+1)*100]...)
		}
		if s.Dialect() == store.Postgres {
			if err := s.DB().Exec("ANALYZE messages").Error; err != nil {
				t.Fatal(err)
			}
			rare, ok := store.SearchEstimate(ctx, s, "zeppelin")
			if !ok || rare > 100 {
				t.Errorf("estimate for a word 6 messages have = %v, %v; want a small one", rare, ok)
			}
			common, ok := store.SearchEstimate(ctx, s, "orders")
			if !ok || common < 5000 || common <= store.SearchIndexFirstRows {
				t.Errorf("estimate for a word all 6,000 messages have = %v, %v; want more than %d (the window first)", common, ok, store.SearchIndexFirstRows)
			}
		}
		want := func(word string) []string {
			var ids []string
			if err := s.DB().Table("messages").Where("text LIKE ?", "%"+word+"%").Order("id DESC").Pluck("id", &ids).Error; err != nil {
				t.Fatal(err)
			}
			return ids
		}
		all := func(text string, limit int) []string {
			var got []string
			cursor := ""
			for range 1000 {
				q := models.MessageSearch{Text: text}
				q.Page = models.Page{Limit: limit, Cursor: cursor}
				hits, next, err := s.SearchMessages(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range hits {
					got = append(got, h.ID)
				}
				if next == "" {
					return got
				}
				cursor = next
			}
			t.Fatal("no end to the pages")
			return nil
		}
		for _, c := range []struct {
			name, text, like string
			limit            int
		}{
			{"RareWord", "zeppelin", "zeppelin", 2},
			{"RareWordAndCommonWord", "zeppelin orders", "zeppelin", 1},
			{"CommonWord", "order", "order", 100},
			{"AbsentWord", "zzyzx", "zzyzx", 25},
		} {
			t.Run(c.name, func(t *testing.T) {
				got, exp := all(c.text, c.limit), want(c.like)
				if !slices.Equal(got, exp) {
					t.Errorf("%q found %d messages, want %d (newest first, every page)", c.text, len(got), len(exp))
				}
			})
		}
	})
}
