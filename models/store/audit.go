package store

import (
	"context"

	"gorm.io/gorm"

	"parley/models"
)

// Audited runs fn in one transaction together with the audit entry it
// returns, so a change never exists without its entry: every store method
// fn calls with the context it is given joins the transaction, and the
// entry is written last, in it. An error from fn, or from writing the
// entry, rolls the whole change back. fn returning no entry says its
// request was refused (a form shown again with its errors): nothing is
// recorded, and what it kept for the form (a typed key held for the next
// try) is committed, as it is not a change of anything audited. Keep
// outside calls (network, engine turns) out of fn: on SQLite the
// transaction holds the write lock.
func (s *Store) Audited(ctx context.Context, fn func(ctx context.Context) (*models.AuditEvent, error)) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		e, err := fn(context.WithValue(ctx, txKey{}, tx))
		if err != nil || e == nil {
			return err
		}
		return s.recordAudit(tx, *e)
	})
}

// RecordAudit writes one entry of the audit log on its own: for what is not
// a change of stored data (an export, a test run), written before or after
// it. Changes use Audited.
func (s *Store) RecordAudit(ctx context.Context, e models.AuditEvent) error {
	return s.recordAudit(s.conn(ctx), e)
}

// recordAudit writes one entry of the audit log in db. It is the one place
// entries are made, so every entry has the same shape.
func (s *Store) recordAudit(db *gorm.DB, e models.AuditEvent) error {
	e.ID, e.CreatedAt = models.NewID(), s.now()
	e.ActorName = models.TruncateUTF8(e.ActorName, 254)
	e.Action = models.TruncateUTF8(e.Action, 40)
	e.ObjectType = models.TruncateUTF8(e.ObjectType, 40)
	e.ObjectID = models.TruncateUTF8(e.ObjectID, 100)
	e.Route = models.TruncateUTF8(e.Route, 200)
	e.Detail = models.TruncateUTF8(e.Detail, 1000)
	e.IP = models.TruncateUTF8(e.IP, 64)
	return translate(db.Create(&e).Error, "audit event")
}

// FindAuditEvents lists the audit log, newest first, one cursor page at a time.
func (s *Store) FindAuditEvents(ctx context.Context, f models.AuditFilter) ([]models.AuditEvent, string, error) {
	q := s.conn(ctx).Model(&models.AuditEvent{})
	if f.ObjectType != "" {
		q = q.Where("object_type = ?", f.ObjectType)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ActorID != "" {
		q = q.Where("actor_id = ?", f.ActorID)
	}
	if !f.Since.IsZero() {
		q = q.Where("created_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("created_at < ?", f.Until.UTC())
	}
	items, next, err := paginate(q, f.Page, "id", func(e *models.AuditEvent) string { return e.ID })
	return items, next, translate(err, "audit events")
}
