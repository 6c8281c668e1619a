package handlers

import (
	"context"
	"net/url"
	"testing"

	"parley/models"
	"parley/models/store"
)

func TestAuditInTheSameTransaction(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		admin := a.as(models.RoleAdmin)
		t.Run("ChangeHasItsEntry", func(t *testing.T) {
			r := admin.post("/bots", url.Values{"name": {"Audited bot"}, "model": {"local"}})
			wantStatus(t, r, 303)
			id := createdID(t, r)
			evs, _, err := a.store.FindAuditEvents(ctx, models.AuditFilter{ObjectType: "bots"})
			if err != nil || len(evs) == 0 || evs[0].ObjectID != id || evs[0].Action != "create" {
				t.Fatalf("audit = %+v, %v; want the create of %s", evs, err, id)
			}
		})
		failAudit(t, a.store)
		t.Run("FailedEntryUndoesDashboardChange", func(t *testing.T) {
			r := admin.post("/bots", url.Values{"name": {"Unaudited bot"}, "model": {"local"}})
			wantStatus(t, r, 500)
			if n := botsNamed(t, a, "Unaudited bot"); n != 0 {
				t.Errorf("%d bots kept without their audit entry", n)
			}
			if loc := r.Location(); loc != "" {
				t.Errorf("the undone create still redirects to %q", loc)
			}
		})
		t.Run("FailedEntryUndoesDelete", func(t *testing.T) {
			b := convTestBot(t, a, "Still here")
			wantStatus(t, admin.post("/bots/"+b.ID+"/delete", nil), 500)
			if _, err := a.store.FindBot(ctx, b.ID); err != nil {
				t.Errorf("bot deleted without its audit entry: %v", err)
			}
		})
		t.Run("FailedEntryUndoesTagDelete", func(t *testing.T) {
			b := convTestBot(t, a, "Tagging")
			conv := convTestConversation(t, a, models.Conversation{BotID: &b.ID}, models.Message{Type: models.MessageUser, Text: "x"})
			tag, err := a.store.CreateTag(ctx, models.Tag{BotID: b.ID, Name: "kept", Color: "red"})
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, a.as(models.RoleSupport).post("/conversations/"+conv.ID+"/tags/"+tag.ID+"/delete", nil), 500)
			if _, err := a.store.FindTag(ctx, tag.ID); err != nil {
				t.Errorf("tag deleted without its audit entry: %v", err)
			}
		})
		t.Run("FailedEntryUndoesAPIChange", func(t *testing.T) {
			r := a.api().post("/bot/create", `{"name":"API unaudited","model":"local"}`)
			if r.Status != 500 {
				t.Errorf("API create with the audit log down = %d, want 500", r.Status)
			}
			if n := botsNamed(t, a, "API unaudited"); n != 0 {
				t.Errorf("%d bots kept without their audit entry", n)
			}
		})
		t.Run("NoExportWithoutEntry", func(t *testing.T) {
			wantStatus(t, a.as(models.RoleSupport).get("/conversations/export?format=jsonl"), 500)
		})
	})
}

// botsNamed counts the bots called name.
func botsNamed(t *testing.T, a *testApp, name string) int64 {
	t.Helper()
	var n int64
	if err := a.store.DB().Table("bots").Where("name = ?", name).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// failAudit makes every insert into the audit log fail until the test ends.
func failAudit(t *testing.T, s *store.Store) {
	t.Helper()
	db := s.DB()
	stmts := []string{`CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END`}
	undo := []string{`DROP TRIGGER fail_audit`}
	if s.Dialect() == store.Postgres {
		stmts = []string{
			`CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$`,
			`CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_audit()`,
		}
		undo = []string{`DROP TRIGGER fail_audit ON audit_events`, `DROP FUNCTION fail_audit()`}
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
