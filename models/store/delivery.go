package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parley/models"
)

// FindDelivery returns one delivery with every attempt, oldest first.
func (s *Store) FindDelivery(ctx context.Context, id string) (*models.OutboundDelivery, error) {
	if !models.ValidID(id) {
		return nil, notFound("delivery")
	}
	var d models.OutboundDelivery
	err := s.conn(ctx).Preload("AttemptLog", func(db *gorm.DB) *gorm.DB { return db.Order("number") }).
		First(&d, "id = ?", id).Error
	if err != nil {
		return nil, translate(err, "delivery")
	}
	return &d, nil
}

// FindEventDelivery returns the delivery of an inbound event, with its
// attempts, or not_found when the event has no reply (yet).
func (s *Store) FindEventDelivery(ctx context.Context, eventID string) (*models.OutboundDelivery, error) {
	var d models.OutboundDelivery
	err := s.conn(ctx).Preload("AttemptLog", func(db *gorm.DB) *gorm.DB { return db.Order("number") }).
		Where("event_id = ?", eventID).Take(&d).Error
	if err != nil {
		return nil, translate(err, "delivery")
	}
	return &d, nil
}

// FindDeliveries lists deliveries (the delivery audit), newest first by
// default, one cursor page at a time, without their attempts.
func (s *Store) FindDeliveries(ctx context.Context, f models.DeliveryFilter) ([]models.OutboundDelivery, string, error) {
	q := s.conn(ctx).Model(&models.OutboundDelivery{})
	if f.IntegrationID != "" {
		q = q.Where("integration_id = ?", f.IntegrationID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	items, next, err := paginate(q, f.Page, "id", func(d *models.OutboundDelivery) string { return d.ID })
	return items, next, translate(err, "deliveries")
}

// OpenDeliveries returns up to limit unfinished deliveries (waiting or
// pending) of a thread, oldest first: replies go out in that order, one
// at a time, so a reply never overtakes an earlier one.
func (s *Store) OpenDeliveries(ctx context.Context, integrationID, externalKey string, limit int) ([]models.OutboundDelivery, error) {
	var ds []models.OutboundDelivery
	err := s.conn(ctx).Where("integration_id = ? AND external_key = ? AND status IN ?", integrationID, externalKey,
		[]string{models.DeliveryWaiting, models.DeliveryPending}).Order("id").Limit(limit).Find(&ds).Error
	return ds, translate(err, "deliveries")
}

// PendingDeliveries returns up to limit deliveries waiting to be sent
// whose id comes after after ("": from the first), oldest first, for
// requeueing their jobs at start-up.
func (s *Store) PendingDeliveries(ctx context.Context, after string, limit int) ([]models.OutboundDelivery, error) {
	var ds []models.OutboundDelivery
	err := s.conn(ctx).Omit("text").Where("status = ? AND id > ?", models.DeliveryPending, after).Order("id").Limit(limit).Find(&ds).Error
	return ds, translate(err, "deliveries")
}

// RecordAttempt stores one attempt of a pending delivery that takes parts
// platform messages, with what follows from its outcome, in one transaction:
// sent — the part counts as sent (a retry resumes after it; the last part
// makes the delivery delivered); retry — the delivery is due again at
// a.RetryAt (the job that sends it waits until then: River snoozes it;
// start-up recovery queues one after a restart); failed — the delivery has
// failed for good (a.Error says why). Errors: not_found, conflict (the delivery is
// finished), invalid (an unknown outcome, or a retry without its time).
func (s *Store) RecordAttempt(ctx context.Context, deliveryID string, parts int, a models.DeliveryAttempt) (*models.OutboundDelivery, error) {
	switch {
	case a.Outcome != models.AttemptSent && a.Outcome != models.AttemptRetry && a.Outcome != models.AttemptFailed:
		return nil, models.Errorf(models.CodeInvalid, "Unknown attempt outcome %q.", a.Outcome)
	case a.Outcome == models.AttemptRetry && a.RetryAt == nil:
		return nil, models.Errorf(models.CodeInvalid, "A retry needs its time.")
	case !models.ValidID(deliveryID):
		return nil, notFound("delivery")
	}
	var d models.OutboundDelivery
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockRow(tx).First(&d, "id = ?", deliveryID).Error; err != nil {
			return translate(err, "delivery")
		}
		if d.Status != models.DeliveryPending {
			return models.Errorf(models.CodeConflict, "This delivery is %s: it takes no more attempts.", d.Status)
		}
		now := s.now()
		d.Attempts++
		a.ID, a.DeliveryID, a.Number = models.NewID(), d.ID, d.Attempts
		a.Request, a.Response, a.Error = storableText(a.Request), storableText(excerpt(a.Response)), storableText(a.Error)
		if a.StartedAt.IsZero() {
			a.StartedAt = now
		}
		a.StartedAt = a.StartedAt.UTC().Truncate(time.Microsecond)
		if a.RetryAt != nil {
			at := a.RetryAt.UTC().Truncate(time.Microsecond)
			a.RetryAt = &at
		}
		if err := tx.Omit(clause.Associations).Create(&a).Error; err != nil {
			return translate(err, "delivery attempt")
		}
		d.Parts, d.UpdatedAt, d.NextAttemptAt = parts, now, nil
		switch a.Outcome {
		case models.AttemptSent:
			if a.Part > d.PartsSent {
				d.PartsSent = a.Part
			}
			d.LastError = ""
			if d.PartsSent >= d.Parts {
				d.Status, d.DeliveredAt = models.DeliveryDelivered, &now
			}
		case models.AttemptRetry:
			d.NextAttemptAt, d.LastError = a.RetryAt, a.Error
		case models.AttemptFailed:
			d.Status, d.LastError = models.DeliveryFailed, a.Error
		}
		err := tx.Model(&models.OutboundDelivery{}).Where("id = ?", d.ID).Updates(map[string]any{
			"attempts": d.Attempts, "parts": d.Parts, "parts_sent": d.PartsSent, "status": d.Status, "next_attempt_at": d.NextAttemptAt,
			"last_error": d.LastError, "delivered_at": d.DeliveredAt, "updated_at": now,
		}).Error
		return translate(err, "delivery")
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// excerpt cuts a response body to what an attempt keeps.
func excerpt(s string) string {
	if len(s) <= models.MaxResponseExcerpt {
		return s
	}
	cut := models.MaxResponseExcerpt
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
