package store

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parley/models"
)

// ReceiveEvent records an inbound event before it is acknowledged, and
// queues the job that processes it (at jobAt; zero: now) in the same
// transaction. An event of kind ignored is recorded as ignored with its
// reason and queues nothing. The raw payload is kept up to
// models.MaxEventPayload bytes. An event whose external id the integration
// has seen before is not recorded or processed again: its duplicate count
// goes up and the stored event is returned with duplicate true. Errors:
// invalid (fields), not_found (the integration), unavailable (no queue).
func (s *Store) ReceiveEvent(ctx context.Context, ev models.InboundEvent, jobAt time.Time) (_ *models.InboundEvent, duplicate bool, err error) {
	now := s.now()
	ev.ID = models.NewID()
	ev.ExternalID = strings.TrimSpace(ev.ExternalID)
	ev.ExternalKey = strings.TrimSpace(ev.ExternalKey)
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = now
	}
	ev.ReceivedAt = ev.ReceivedAt.UTC().Truncate(time.Microsecond)
	ev.Payload, ev.PayloadBytes, ev.PayloadTruncated = boundPayload(ev.Payload)
	ev.Duplicates, ev.LastDuplicateAt, ev.ProcessedAt = 0, nil, nil
	ev.ConversationID, ev.UserMessageID, ev.TurnID, ev.BotMessageID = nil, nil, nil, nil
	ev.Status = models.EventQueued
	if ev.Kind == models.EventKindIgnored {
		ev.Status, ev.ProcessedAt = models.EventIgnored, &now
	} else {
		ev.Reason = ""
		if ev.ExternalKey == "" {
			return nil, false, models.FieldError("externalKey", "External conversation key is required.")
		}
	}
	if err := ev.Validate(); err != nil {
		return nil, false, err
	}
	if !models.ValidID(ev.IntegrationID) {
		return nil, false, notFound("integration")
	}
	var out *models.InboundEvent
	err = s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "integration_id"}, {Name: "external_id"}}, DoNothing: true}).
			Omit(clause.Associations).Create(&ev)
		if errors.Is(res.Error, gorm.ErrForeignKeyViolated) {
			return notFound("integration") // the only reference an event is created with
		}
		if res.Error != nil {
			return translate(res.Error, "inbound event")
		}
		if res.RowsAffected == 1 {
			out = &ev
			if ev.Status == models.EventQueued {
				return s.enqueue(tx, Job{Kind: JobEvent, ID: ev.ID, At: jobAt})
			}
			return nil
		}
		duplicate = true
		where := tx.Model(&models.InboundEvent{}).Where("integration_id = ? AND external_id = ?", ev.IntegrationID, ev.ExternalID)
		if err := where.Updates(map[string]any{"duplicates": gorm.Expr("duplicates + 1"), "last_duplicate_at": now, "updated_at": now}).Error; err != nil {
			return translate(err, "inbound event")
		}
		var prev models.InboundEvent
		if err := tx.First(&prev, "integration_id = ? AND external_id = ?", ev.IntegrationID, ev.ExternalID).Error; err != nil {
			return translate(err, "inbound event")
		}
		out = &prev
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, duplicate, nil
}

// boundPayload makes a raw payload storable (valid UTF-8, no NUL) and cuts
// it at MaxEventPayload bytes on a character boundary.
func boundPayload(p string) (string, int, bool) {
	n := len(p)
	p = strings.ReplaceAll(strings.ToValidUTF8(p, "\uFFFD"), "\x00", "\uFFFD")
	if len(p) <= models.MaxEventPayload {
		return p, n, false
	}
	cut := models.MaxEventPayload
	for cut > 0 && !utf8.RuneStart(p[cut]) {
		cut--
	}
	return p[:cut], n, true
}

// FindEvent returns one inbound event.
func (s *Store) FindEvent(ctx context.Context, id string) (*models.InboundEvent, error) {
	if !models.ValidID(id) {
		return nil, notFound("inbound event")
	}
	var ev models.InboundEvent
	if err := s.conn(ctx).First(&ev, "id = ?", id).Error; err != nil {
		return nil, translate(err, "inbound event")
	}
	return &ev, nil
}

// FindEventByExternalID returns an integration's event with this external id, or not_found.
func (s *Store) FindEventByExternalID(ctx context.Context, integrationID, externalID string) (*models.InboundEvent, error) {
	var ev models.InboundEvent
	err := s.conn(ctx).Where("integration_id = ? AND external_id = ?", integrationID, externalID).Take(&ev).Error
	if err != nil {
		return nil, translate(err, "inbound event")
	}
	return &ev, nil
}

// FindEvents lists inbound events (the delivery audit), newest first by
// default, one cursor page at a time, without their raw payloads.
func (s *Store) FindEvents(ctx context.Context, f models.EventFilter) ([]models.InboundEvent, string, error) {
	q := s.conn(ctx).Model(&models.InboundEvent{}).Omit("payload")
	if f.IntegrationID != "" {
		q = q.Where("integration_id = ?", f.IntegrationID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	items, next, err := paginate(q, f.Page, "id", func(ev *models.InboundEvent) string { return ev.ID })
	return items, next, translate(err, "inbound events")
}

// UnpostedEvents returns up to limit queued events of a thread that
// processing has not handled yet (no message posted for them), received up
// to and including the event upTo, oldest first: the holder of the thread's
// lock handles them in that order, so messages reach the conversation in the
// order they were received.
func (s *Store) UnpostedEvents(ctx context.Context, integrationID, externalKey, upTo string, limit int) ([]models.InboundEvent, error) {
	var evs []models.InboundEvent
	err := s.conn(ctx).Where("integration_id = ? AND external_key = ? AND status = ? AND user_message_id IS NULL AND id <= ?",
		integrationID, externalKey, models.EventQueued, upTo).Order("id").Limit(limit).Find(&evs).Error
	return evs, translate(err, "inbound events")
}

// OpenEvents returns up to limit events still queued whose id comes after
// after ("": from the first), oldest first, for requeueing their jobs at
// start-up.
func (s *Store) OpenEvents(ctx context.Context, after string, limit int) ([]models.InboundEvent, error) {
	var evs []models.InboundEvent
	err := s.conn(ctx).Omit("payload").Where("status = ? AND id > ?", models.EventQueued, after).Order("id").Limit(limit).Find(&evs).Error
	return evs, translate(err, "inbound events")
}

// EventStep is what processing did with an inbound event.
type EventStep struct {
	// Status ends processing (processed, ignored, rejected, failed); ""
	// keeps the event queued (its message is posted, its answer awaited).
	Status string
	Reason string
	// ConversationID, UserMessageID, TurnID and BotMessageID record what
	// the event produced ("" keeps what was recorded).
	ConversationID string
	UserMessageID  string
	TurnID         string
	BotMessageID   string
	// Reply is the event's reply, if it has one.
	Reply *Reply
}

// Reply is what an event's delivery carries.
type Reply struct {
	Kind string
	// Text is the reply ("" with Waiting: the answer is awaited).
	Text string
	// Waiting makes the delivery now, in its place in the thread's order,
	// and fills its text later (a Reply without Waiting).
	Waiting bool
	// Returned says the reply is handed to the request that waits for it
	// (webhook ?wait=1): the delivery is then delivered, not sent.
	Returned bool
}

// RecordEventStep stores what processing did with an inbound event and,
// in the same transaction, its delivery: made waiting (in the thread's
// order), or given its text and queued for sending (or marked delivered,
// when Returned). Once an event is finished, later steps change nothing and
// return it as it is (two workers may race to finish it), so each event has
// at most one reply, sent once. Errors: not_found, invalid (an unknown status).
func (s *Store) RecordEventStep(ctx context.Context, eventID string, step EventStep) (*models.InboundEvent, *models.OutboundDelivery, error) {
	switch step.Status {
	case "", models.EventProcessed, models.EventIgnored, models.EventRejected, models.EventFailed:
	default:
		return nil, nil, models.Errorf(models.CodeInvalid, "Unknown event status %q.", step.Status)
	}
	if !models.ValidID(eventID) {
		return nil, nil, notFound("inbound event")
	}
	var (
		ev  models.InboundEvent
		out *models.OutboundDelivery
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockRow(tx).Omit("payload").First(&ev, "id = ?", eventID).Error; err != nil {
			return translate(err, "inbound event")
		}
		var err error
		if ev.Finished() {
			out, err = findEventDelivery(tx, ev.ID)
			return err
		}
		now := s.now()
		set := map[string]any{"updated_at": now}
		for _, f := range []struct {
			col string
			v   string
			dst **string
		}{{"conversation_id", step.ConversationID, &ev.ConversationID}, {"user_message_id", step.UserMessageID, &ev.UserMessageID},
			{"turn_id", step.TurnID, &ev.TurnID}, {"bot_message_id", step.BotMessageID, &ev.BotMessageID}} {
			if f.v != "" {
				v := f.v
				set[f.col], *f.dst = v, &v
			}
		}
		if step.Status != "" {
			ev.Status, ev.Reason, ev.ProcessedAt = step.Status, storableText(step.Reason), &now
			set["status"], set["reason"], set["processed_at"] = ev.Status, ev.Reason, now
		}
		if err := tx.Model(&models.InboundEvent{}).Where("id = ?", ev.ID).Updates(set).Error; err != nil {
			return translate(err, "inbound event")
		}
		ev.UpdatedAt = now
		if step.Reply != nil {
			out, err = s.reply(tx, &ev, *step.Reply)
			return err
		}
		out, err = findEventDelivery(tx, ev.ID)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return &ev, out, nil
}

// reply makes or fills the delivery of ev and queues its sending.
func (s *Store) reply(tx *gorm.DB, ev *models.InboundEvent, r Reply) (*models.OutboundDelivery, error) {
	d, err := findEventDelivery(tx, ev.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if d == nil {
		d = &models.OutboundDelivery{ID: models.NewID(), IntegrationID: ev.IntegrationID, EventID: ev.ID, ExternalKey: ev.ExternalKey,
			Mode: models.DeliveryPush, ChatID: ev.ChatID, TopicID: ev.TopicID, ChatType: ev.ChatType,
			Status: models.DeliveryWaiting, CreatedAt: now, UpdatedAt: now}
		d.Kind = r.Kind
		if err := tx.Omit(clause.Associations).Create(d).Error; err != nil {
			return nil, translate(err, "delivery")
		}
	}
	if r.Waiting || d.Status != models.DeliveryWaiting {
		return d, nil
	}
	d.Kind, d.Text, d.ConversationID, d.MessageID, d.UpdatedAt = r.Kind, storableText(r.Text), ev.ConversationID, ev.BotMessageID, now
	d.Status = models.DeliveryPending
	if r.Returned {
		d.Mode, d.Status, d.DeliveredAt, d.Parts, d.PartsSent = models.DeliveryResponse, models.DeliveryDelivered, &now, 1, 1
	}
	err = tx.Model(&models.OutboundDelivery{}).Where("id = ?", d.ID).Updates(map[string]any{
		"kind": d.Kind, "text": d.Text, "conversation_id": d.ConversationID, "message_id": d.MessageID, "mode": d.Mode,
		"status": d.Status, "delivered_at": d.DeliveredAt, "parts": d.Parts, "parts_sent": d.PartsSent, "updated_at": now,
	}).Error
	if err != nil {
		return nil, translate(err, "delivery")
	}
	if d.Status == models.DeliveryPending {
		if err := s.enqueue(tx, Job{Kind: JobDelivery, ID: d.ID}); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func findEventDelivery(tx *gorm.DB, eventID string) (*models.OutboundDelivery, error) {
	var d models.OutboundDelivery
	err := tx.Where("event_id = ?", eventID).Limit(1).Find(&d).Error
	if err != nil {
		return nil, translate(err, "delivery")
	}
	if d.ID == "" {
		return nil, nil
	}
	return &d, nil
}

// storableText keeps text storable on both databases (valid UTF-8, no NUL).
func storableText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Requeue puts jobs in the queue (processing and delivering are
// idempotent, so a second job for an event or a delivery does no harm):
// what start-up recovery uses for work whose job a stopped process may have
// held. Errors: unavailable (no queue).
func (s *Store) Requeue(ctx context.Context, jobs ...Job) error {
	if len(jobs) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *gorm.DB) error { return s.enqueue(tx, jobs...) })
}
