package store

import (
	"context"

	"parley/models"
)

// RecordAudit writes one entry of the audit log. It is the one place
// entries are made (the HTTP layer calls it for every audited route and
// for exports), so every entry has the same shape.
func (s *Store) RecordAudit(ctx context.Context, e models.AuditEvent) error {
	e.ID, e.CreatedAt = models.NewID(), s.now()
	e.ActorName = models.TruncateUTF8(e.ActorName, 254)
	e.Action = models.TruncateUTF8(e.Action, 40)
	e.ObjectType = models.TruncateUTF8(e.ObjectType, 40)
	e.ObjectID = models.TruncateUTF8(e.ObjectID, 100)
	e.Route = models.TruncateUTF8(e.Route, 200)
	e.Detail = models.TruncateUTF8(e.Detail, 1000)
	e.IP = models.TruncateUTF8(e.IP, 64)
	return translate(s.db.WithContext(ctx).Create(&e).Error, "audit event")
}

// FindAuditEvents lists the audit log, newest first, one cursor page at a time.
func (s *Store) FindAuditEvents(ctx context.Context, f models.AuditFilter) ([]models.AuditEvent, string, error) {
	q := s.db.WithContext(ctx).Model(&models.AuditEvent{})
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
