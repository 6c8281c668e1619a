package store_test

import (
	"context"
	"errors"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// failAuditWrites makes every insert into the audit log fail, as a full
// disk or a lost connection at that moment would, until the test ends.
func failAuditWrites(t *testing.T, s *store.Store) {
	t.Helper()
	db := s.DB()
	var stmts, undo []string
	if s.Dialect() == store.Postgres {
		stmts = []string{
			`CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$`,
			`CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_audit()`,
		}
		undo = []string{`DROP TRIGGER fail_audit ON audit_events`, `DROP FUNCTION fail_audit()`}
	} else {
		stmts = []string{`CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END`}
		undo = []string{`DROP TRIGGER fail_audit`}
	}
	for _, q := range stmts {
		if err := db.Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		for _, q := range undo {
			_ = db.Exec(q).Error
		}
	})
}

func TestAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		entry := func(id string) *models.AuditEvent {
			return &models.AuditEvent{Action: "create", ObjectType: "bots", ObjectID: id, ActorName: "admin@example.com", Route: "POST /bots"}
		}
		t.Run("ChangeWithItsEntry", func(t *testing.T) {
			var id string
			err := s.Audited(ctx, func(ctx context.Context) (*models.AuditEvent, error) {
				b, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Kept", Model: "local"}})
				if err != nil {
					return nil, err
				}
				// A store method with its own transaction joins this one.
				if _, err := s.CreateTag(ctx, models.Tag{BotID: b.ID, Name: "t", Color: "red"}); err != nil {
					return nil, err
				}
				id = b.ID
				return entry(b.ID), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "bots", "id = ?", id); n != 1 {
				t.Errorf("%d bots, want 1", n)
			}
			if n := count(t, s, "audit_events", "object_id = ?", id); n != 1 {
				t.Errorf("%d audit entries for the bot, want 1", n)
			}
		})
		t.Run("ErrorRollsBack", func(t *testing.T) {
			boom := errors.New("boom")
			err := s.Audited(ctx, func(ctx context.Context) (*models.AuditEvent, error) {
				if _, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Undone", Model: "local"}}); err != nil {
					return nil, err
				}
				return nil, boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v, want boom", err)
			}
			if n := count(t, s, "bots", "name = ?", "Undone"); n != 0 {
				t.Errorf("%d bots kept after the error", n)
			}
		})
		t.Run("NoEntryRecordsNothing", func(t *testing.T) {
			before := count(t, s, "audit_events", "")
			if err := s.Audited(ctx, func(context.Context) (*models.AuditEvent, error) { return nil, nil }); err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "audit_events", ""); n != before {
				t.Errorf("%d audit entries, want %d", n, before)
			}
		})
		t.Run("RefusedWriteUndoesOnlyItself", func(t *testing.T) {
			// A handler refuses a form (a taken name, an unknown dataset) and
			// goes on reading and writing in the same transaction; on
			// PostgreSQL the failed statements must not abort it, and the
			// refused store call must leave nothing behind.
			err := s.Audited(ctx, func(ctx context.Context) (*models.AuditEvent, error) {
				b, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Refusing", Model: "local"}})
				if err != nil {
					return nil, err
				}
				if _, err := s.CreateTag(ctx, models.Tag{BotID: b.ID, Name: "dup", Color: "red"}); err != nil {
					return nil, err
				}
				_, err = s.CreateTag(ctx, models.Tag{BotID: b.ID, Name: "dup", Color: "blue"})
				wantFieldErrors(t, err, "name")
				_, err = s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Half made", Model: "local"}, DatasetIDs: []string{models.NewID()}})
				if err == nil {
					t.Error("a bot with an unknown dataset was made")
				}
				if _, err := s.FindTags(ctx, b.ID); err != nil {
					t.Errorf("reading after a refused write: %v", err)
				}
				return entry(b.ID), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "bots", "name = ?", "Half made"); n != 0 {
				t.Errorf("%d half-made bots kept", n)
			}
			if n := count(t, s, "tags", "name = ?", "dup"); n != 1 {
				t.Errorf("%d tags named dup, want 1", n)
			}
		})
		t.Run("FailedEntryUndoesTheChange", func(t *testing.T) {
			failAuditWrites(t, s)
			err := s.Audited(ctx, func(ctx context.Context) (*models.AuditEvent, error) {
				b, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Unaudited", Model: "local"}})
				if err != nil {
					return nil, err
				}
				return entry(b.ID), nil
			})
			if err == nil {
				t.Fatal("Audited succeeded although its entry could not be written")
			}
			if n := count(t, s, "bots", "name = ?", "Unaudited"); n != 0 {
				t.Errorf("%d bots kept without their audit entry", n)
			}
		})
		t.Run("CancelledContextChangesNothing", func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			err := s.Audited(cctx, func(ctx context.Context) (*models.AuditEvent, error) {
				b, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Cancelled", Model: "local"}})
				if err != nil {
					return nil, err
				}
				cancel() // the request goes away before its entry is written
				return entry(b.ID), nil
			})
			if err == nil {
				t.Fatal("Audited succeeded on a cancelled context")
			}
			if n := count(t, s, "bots", "name = ?", "Cancelled"); n != 0 {
				t.Errorf("%d bots kept without their audit entry", n)
			}
		})
	})
}
