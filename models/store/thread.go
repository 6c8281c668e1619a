package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parley/models"
)

// ThreadInput names an external conversation of an integration and how a
// Parley conversation for it starts.
type ThreadInput struct {
	IntegrationID string
	// ExternalKey is the platform's conversation (a Telegram chat id, with
	// the topic in forums; a webhook caller's conversationId).
	ExternalKey string
	// ContactID is the contact behind the conversation (nil: unknown). A
	// new conversation records it; the thread keeps the latest.
	ContactID *string
	// At is when the message that asks was received (zero: now): the
	// integration's session duration counts the inactivity up to it.
	At time.Time
	// Name names a new conversation ("Telegram: Ann", say).
	Name string
}

// ThreadConversation is an external conversation's thread and its current
// Parley conversation.
type ThreadConversation struct {
	Thread       *models.ChannelThread
	Conversation *models.Conversation
	// Created says the conversation is new (the first message of the
	// thread, a session that expired, or CreateChannelConversation).
	Created bool
}

// GetOrCreateConversation returns the Parley conversation of an
// integration's external conversation, creating the thread and the
// conversation (with the integration's bot, channel and contact) when there
// is none yet, or a new conversation when the integration's session
// duration has passed since the thread's last activity; older conversations
// stay linked to the thread. It is race-safe on both databases: concurrent
// and repeated calls for a new key make one thread and one conversation (the
// thread is inserted with ON CONFLICT DO NOTHING, then selected and locked,
// in one transaction). Errors: invalid (a missing or too long key, an
// integration without a bot), not_found (the integration).
func (s *Store) GetOrCreateConversation(ctx context.Context, in ThreadInput) (*ThreadConversation, error) {
	return s.threadConversation(ctx, in, false)
}

// CreateChannelConversation starts a new Parley conversation for an
// integration's external conversation (Telegram's /new), whatever its
// current one is; the thread (created if missing) points at it from now on,
// and its earlier conversations stay linked. Errors: as GetOrCreateConversation.
func (s *Store) CreateChannelConversation(ctx context.Context, in ThreadInput) (*ThreadConversation, error) {
	return s.threadConversation(ctx, in, true)
}

func (s *Store) threadConversation(ctx context.Context, in ThreadInput, fresh bool) (*ThreadConversation, error) {
	in.ExternalKey = strings.TrimSpace(in.ExternalKey)
	switch {
	case in.ExternalKey == "":
		return nil, models.FieldError("externalKey", "External conversation key is required.")
	case len(in.ExternalKey) > models.MaxExternalID:
		return nil, models.FieldError("externalKey", "External conversation key must be at most 200 characters.")
	case !models.ValidID(in.IntegrationID):
		return nil, notFound("integration")
	}
	if in.ContactID != nil && !models.ValidID(*in.ContactID) {
		return nil, models.FieldError("contactId", "Unknown contact id.")
	}
	at := in.At.UTC().Truncate(time.Microsecond)
	if in.At.IsZero() {
		at = s.now()
	}
	name := strings.TrimSpace(in.Name)
	if len([]rune(name)) > 200 {
		name = string([]rune(name)[:200])
	}
	out := &ThreadConversation{}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var it models.Integration
		if err := tx.Select("id", "bot_id", "session_duration").First(&it, "id = ?", in.IntegrationID).Error; err != nil {
			return translate(err, "integration")
		}
		if it.BotID == nil {
			return models.Errorf(models.CodeInvalid, "The integration has no bot to answer: choose one.")
		}
		now := s.now()
		th := models.ChannelThread{ID: models.NewID(), IntegrationID: it.ID, ExternalKey: in.ExternalKey, ContactID: in.ContactID,
			LastActivityAt: at, CreatedAt: now, UpdatedAt: now}
		res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "integration_id"}, {Name: "external_key"}}, DoNothing: true}).Create(&th)
		if res.Error != nil {
			return translate(res.Error, "channel thread")
		}
		th = models.ChannelThread{} // First would match th's own (new) id too
		if err := s.lockRow(tx).First(&th, "integration_id = ? AND external_key = ?", it.ID, in.ExternalKey).Error; err != nil {
			return translate(err, "channel thread")
		}
		expired := it.SessionDuration > 0 && at.Sub(th.LastActivityAt) > time.Duration(it.SessionDuration)*time.Millisecond
		var conv models.Conversation
		if th.ConversationID != nil && !fresh && !expired {
			if err := tx.First(&conv, "id = ?", *th.ConversationID).Error; err != nil {
				return translate(err, "conversation")
			}
		} else {
			contact := in.ContactID
			if contact == nil {
				contact = th.ContactID
			}
			conv = models.Conversation{ID: models.NewID(), BotID: it.BotID, Name: name, Meta: models.Meta{},
				IntegrationID: &it.ID, ChannelThreadID: &th.ID, ContactID: contact}
			if err := tx.Omit("Bot").Create(&conv).Error; err != nil {
				return translate(err, "conversation")
			}
			th.ConversationID, out.Created = &conv.ID, true
		}
		set := map[string]any{"conversation_id": conv.ID, "updated_at": now}
		if at.After(th.LastActivityAt) || out.Created {
			set["last_activity_at"], th.LastActivityAt = at, at
		}
		if in.ContactID != nil {
			set["contact_id"], th.ContactID = *in.ContactID, in.ContactID
		}
		th.UpdatedAt = now
		if err := tx.Model(&models.ChannelThread{}).Where("id = ?", th.ID).Updates(set).Error; err != nil {
			return translate(err, "channel thread")
		}
		out.Thread, out.Conversation = &th, &conv
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FindThread returns the thread of an integration's external conversation, or not_found.
func (s *Store) FindThread(ctx context.Context, integrationID, externalKey string) (*models.ChannelThread, error) {
	if !models.ValidID(integrationID) {
		return nil, notFound("channel thread")
	}
	var th models.ChannelThread
	err := s.conn(ctx).Where("integration_id = ? AND external_key = ?", integrationID, strings.TrimSpace(externalKey)).Take(&th).Error
	if err != nil {
		return nil, translate(err, "channel thread")
	}
	return &th, nil
}

// FindThreads lists an integration's threads (or every thread), newest
// first by default, one cursor page at a time. A thread's conversations,
// current and earlier, are FindConversations with its ThreadID.
func (s *Store) FindThreads(ctx context.Context, f models.ThreadFilter) ([]models.ChannelThread, string, error) {
	q := s.conn(ctx).Model(&models.ChannelThread{})
	if f.IntegrationID != "" {
		q = q.Where("integration_id = ?", f.IntegrationID)
	}
	items, next, err := paginate(q, f.Page, "id", func(th *models.ChannelThread) string { return th.ID })
	return items, next, translate(err, "channel threads")
}
