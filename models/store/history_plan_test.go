package store_test

import (
	"fmt"
	"strings"
	"testing"

	"gorm.io/gorm"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// TestHistoryLongConversation: a conversation that grew long after the
// table was analyzed still has only its newest messages read for a turn's
// history — the newest 100, newest first — and, on PostgreSQL, by walking
// the dialogue index backwards rather than reading all of the
// conversation's messages and sorting them (what the planner did when it
// was given the conversation's id and its statistics said "a few rows").
func TestHistoryLongConversation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		db := s.DB().WithContext(ctx)
		// insert stores messages from to to of each conversation in convs,
		// interleaved as concurrent conversations write them: ids in the
		// order of i (fixed-width), user and bot messages alternating with a
		// context message between every pair.
		insert := func(convs []string, from, to int) {
			t.Helper()
			for i := from; i <= to; i += 500 {
				if err := db.Exec(`INSERT INTO messages (id, conversation_id, type, text, meta, created_at, updated_at)
				SELECT substr(c.id, 1, 27) || (100000000 + n.i), c.id,
					CASE WHEN n.i % 3 = 0 THEN 'user' WHEN n.i % 3 = 1 THEN 'bot' ELSE 'context' END,
					'message ' || n.i, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
				FROM conversations AS c,
					(WITH RECURSIVE n(i) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT i FROM n) AS n
				WHERE c.id IN ?
				ORDER BY n.i, c.id`, i, min(i+499, to), convs).Error; err != nil {
					t.Fatal(err)
				}
			}
		}
		const conversations, each, grown = 100, 60, 2400
		var all []string
		for i := range conversations {
			all = append(all, mustConversation(t, s, models.Conversation{Name: fmt.Sprint("conversation ", i)}).ID)
		}
		long := all[0]
		insert(all, 1, each)
		if err := db.Exec("ANALYZE").Error; err != nil {
			t.Fatal(err)
		}
		insert([]string{long}, each+1, each+grown) // grows after the statistics were taken

		got, err := s.RecentDialogue(ctx, long, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 100 {
			t.Fatalf("RecentDialogue = %d messages, want 100", len(got))
		}
		next := each + grown // the newest message
		for k, m := range got {
			for next%3 == 2 {
				next-- // context messages are not dialogue
			}
			if want := fmt.Sprint("message ", next); m.Text != want {
				t.Fatalf("RecentDialogue[%d] = %q, want %q (newest first, dialogue only)", k, m.Text, want)
			}
			next--
		}

		if s.Dialect() != store.Postgres {
			return
		}
		// On PostgreSQL the read is recent_dialogue (migration 21): its query,
		// planned with the function's own settings, must walk the dialogue
		// index backwards; planned with the server's (bitmap scans on), it
		// reads the whole conversation and sorts it.
		var fn struct {
			Src    string
			Config string
		}
		if err := db.Raw(`SELECT prosrc AS src, coalesce(array_to_string(proconfig, ','), '') AS config FROM pg_proc WHERE proname = 'recent_dialogue'`).Scan(&fn).Error; err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s.DialogueSQL(100), "recent_dialogue(") || fn.Src == "" {
			t.Fatalf("the history read is %q, recent_dialogue's body %q: want the function", s.DialogueSQL(100), fn.Src)
		}
		query := strings.NewReplacer("$1", "?", "$2", "100").Replace(fn.Src)
		explain := func(settings []string) string {
			var plan []string
			err := db.Transaction(func(tx *gorm.DB) error {
				for _, kv := range settings {
					k, v, ok := strings.Cut(kv, "=")
					if !ok {
						continue
					}
					if err := tx.Exec("SELECT set_config(?, ?, true)", k, v).Error; err != nil {
						return err
					}
				}
				return tx.Raw("EXPLAIN (ANALYZE, COSTS OFF) "+query, long).Scan(&plan).Error
			})
			if err != nil {
				t.Fatal(err)
			}
			return strings.Join(plan, "\n")
		}
		walks := func(plan string) bool {
			return !strings.Contains(plan, "Sort") && strings.Contains(plan, "Index Scan Backward using idx_messages_dialogue")
		}
		if plan := explain(strings.Split(fn.Config, ",")); !walks(plan) {
			t.Errorf("recent_dialogue (settings %q) does not walk the dialogue index backwards for a conversation grown since ANALYZE:\n%s", fn.Config, plan)
		}
		if plan := explain(nil); walks(plan) {
			t.Logf("note: with the server's settings the planner walks the index too here; the test no longer shows the bad plan:\n%s", plan)
		}
	})
}
