package store_test

import (
	"context"
	"testing"

	"parley/models/store"
	"parley/models/store/storetest"
)

func TestMigrate(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, storetest.URL(t, d), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()

			t.Run("FreshDatabase", func(t *testing.T) {
				applied, err := s.Migrate(ctx)
				if err != nil {
					t.Fatalf("Migrate: %v", err)
				}
				if got, want := len(applied), store.MigrationCount(); got != want {
					t.Errorf("applied %d migrations, want %d: %v", got, want, applied)
				}
				v, err := s.SchemaVersion(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if v != store.LatestSchemaVersion() {
					t.Errorf("SchemaVersion = %d, want %d", v, store.LatestSchemaVersion())
				}
				for _, table := range []string{"operators", "operator_sessions", "api_secrets", "bots", "datasets",
					"dataset_records", "skillsets", "abilities", "bot_datasets", "bot_skillsets",
					"conversations", "messages", "conversation_sessions", "login_attempts", "settings",
					"providers", "vault_secrets", "rate_limits", "flashes", "bot_versions",
					"test_suites", "test_cases", "retrieval_checks", "test_runs", "test_results", "replays", "replay_turns",
					"integrations", "contacts", "channel_threads", "inbound_events", "outbound_deliveries", "delivery_attempts"} {
					if !s.DB().Migrator().HasTable(table) {
						t.Errorf("table %s missing after migrate", table)
					}
				}
				for _, col := range []string{"kind", "pinned", "integration_id", "channel_thread_id"} {
					if !s.DB().Migrator().HasColumn("conversations", col) {
						t.Errorf("conversations.%s missing after migrate", col)
					}
				}
				for _, col := range []string{"secret_id", "last_used_at"} {
					if !s.DB().Migrator().HasColumn("conversation_sessions", col) {
						t.Errorf("conversation_sessions.%s missing after migrate", col)
					}
				}
				if !s.DB().Migrator().HasIndex("conversation_sessions", "idx_conversation_sessions_secret") {
					t.Error("index idx_conversation_sessions_secret missing after migrate")
				}
			})
			t.Run("SecondRunIsNoop", func(t *testing.T) {
				applied, err := s.Migrate(ctx)
				if err != nil {
					t.Fatalf("Migrate again: %v", err)
				}
				if len(applied) != 0 {
					t.Errorf("second Migrate applied %v, want nothing", applied)
				}
				var n int64
				s.DB().Table("schema_migrations").Count(&n)
				if int(n) != store.MigrationCount() {
					t.Errorf("schema_migrations has %d rows, want %d", n, store.MigrationCount())
				}
			})
			t.Run("ConcurrentRuns", func(t *testing.T) {
				s2, err := store.Open(ctx, storetest.URL(t, d), store.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer s2.Close()
				errs := make(chan error, 3)
				for range 3 {
					go func() { _, err := s2.Migrate(ctx); errs <- err }()
				}
				for range 3 {
					if err := <-errs; err != nil {
						t.Errorf("concurrent Migrate: %v", err)
					}
				}
				var n int64
				s2.DB().Table("schema_migrations").Count(&n)
				if int(n) != store.MigrationCount() {
					t.Errorf("schema_migrations has %d rows, want %d", n, store.MigrationCount())
				}
			})
		})
	}
}
