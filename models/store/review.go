package store

import (
	"context"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parley/models"
)

// maxTagsPerBot bounds a bot's managed list of tags (it is shown whole).
const maxTagsPerBot = 100

// review is a conversation's review state, as the conversations table keeps it.
type review struct {
	ID           string
	BotID        *string
	ReviewStatus string
	AssigneeID   *string
}

// ConversationReview is a conversation's review status and assignee.
type ConversationReview struct {
	Status       string
	AssigneeID   *string
	AssigneeName string
}

// FindReview returns a conversation's review status and assignee. Errors: not_found.
func (s *Store) FindReview(ctx context.Context, convID string) (*ConversationReview, error) {
	if !models.ValidID(convID) {
		return nil, notFound("conversation")
	}
	var r struct {
		ReviewStatus string
		AssigneeID   *string
		AssigneeName *string
	}
	res := s.conn(ctx).Raw(`SELECT c.review_status, c.assignee_id, o.name AS assignee_name FROM conversations AS c
		LEFT JOIN operators AS o ON o.id = c.assignee_id WHERE c.id = ?`, convID).Scan(&r)
	if res.Error != nil {
		return nil, translate(res.Error, "conversation")
	}
	if res.RowsAffected == 0 {
		return nil, notFound("conversation")
	}
	return &ConversationReview{Status: r.ReviewStatus, AssigneeID: r.AssigneeID, AssigneeName: models.Deref(r.AssigneeName)}, nil
}

// lockReview reads (and on PostgreSQL locks) a conversation's review row.
func (s *Store) lockReview(tx *gorm.DB, convID string) (*review, error) {
	if !models.ValidID(convID) {
		return nil, notFound("conversation")
	}
	q := tx.Table("conversations").Select("id", "bot_id", "review_status", "assignee_id").Where("id = ?", convID)
	if s.dialect == Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var r review
	res := q.Scan(&r)
	if res.Error != nil {
		return nil, translate(res.Error, "conversation")
	}
	if res.RowsAffected == 0 {
		return nil, notFound("conversation")
	}
	return &r, nil
}

// reviewEvent records a review change in tx.
func (s *Store) reviewEvent(tx *gorm.DB, convID string, msgID *string, who models.Reviewer, action, detail string) error {
	e := models.ReviewEvent{ID: models.NewID(), ConversationID: convID, MessageID: msgID, ActorName: models.TruncateUTF8(who.Name, 254),
		Action: action, Detail: models.TruncateUTF8(detail, 500), CreatedAt: s.now()}
	if who.ID != "" {
		e.ActorID = &who.ID
	}
	return translate(tx.Create(&e).Error, "review event")
}

// SetReviewStatus moves a conversation to a review status and records who
// did it. Errors: not_found, invalid (unknown status).
func (s *Store) SetReviewStatus(ctx context.Context, convID, status string, who models.Reviewer) error {
	return s.tx(ctx, func(tx *gorm.DB) error { return s.setReviewStatus(tx, convID, status, who) })
}

// AssignConversation gives a conversation to an operator to review (""
// unassigns it) and records who did it. Errors: not_found (conversation),
// invalid (no such operator).
func (s *Store) AssignConversation(ctx context.Context, convID, assigneeID string, who models.Reviewer) error {
	return s.tx(ctx, func(tx *gorm.DB) error { return s.assign(tx, convID, assigneeID, who) })
}

// SaveReview sets a conversation's review status (unless "") and assignee
// ("" unassigns) in one transaction: a bad value changes neither. Errors as
// SetReviewStatus and AssignConversation.
func (s *Store) SaveReview(ctx context.Context, convID, status, assigneeID string, who models.Reviewer) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if status != "" {
			if err := s.setReviewStatus(tx, convID, status, who); err != nil {
				return err
			}
		}
		return s.assign(tx, convID, assigneeID, who)
	})
}

func (s *Store) setReviewStatus(tx *gorm.DB, convID, status string, who models.Reviewer) error {
	if !models.ValidReviewStatus(status) {
		return models.FieldError("status", "Choose a review status from the list.")
	}
	r, err := s.lockReview(tx, convID)
	if err != nil {
		return err
	}
	if r.ReviewStatus == status {
		return nil
	}
	if err := tx.Table("conversations").Where("id = ?", convID).Update("review_status", status).Error; err != nil {
		return translate(err, "conversation")
	}
	return s.reviewEvent(tx, convID, nil, who, "status", models.ReviewStatusLabel(r.ReviewStatus)+" → "+models.ReviewStatusLabel(status))
}

func (s *Store) assign(tx *gorm.DB, convID, assigneeID string, who models.Reviewer) error {
	r, err := s.lockReview(tx, convID)
	if err != nil {
		return err
	}
	var to *string
	detail := "unassigned"
	if assigneeID != "" {
		var o models.Operator
		if !models.ValidID(assigneeID) || tx.Select("id", "name", "email").First(&o, "id = ?", assigneeID).Error != nil {
			return models.FieldError("assigneeId", "Choose an operator from the list.")
		}
		to, detail = &o.ID, "assigned to "+operatorLabel(o)
	}
	if models.Deref(r.AssigneeID) == assigneeID {
		return nil
	}
	if err := tx.Table("conversations").Where("id = ?", convID).Update("assignee_id", to).Error; err != nil {
		return translate(err, "conversation")
	}
	return s.reviewEvent(tx, convID, nil, who, "assign", detail)
}

func operatorLabel(o models.Operator) string {
	if o.Name != "" {
		return o.Name
	}
	return o.Email
}

// FindReviewEvents returns a conversation's review changes, newest first,
// one cursor page at a time.
func (s *Store) FindReviewEvents(ctx context.Context, convID string, p models.Page) ([]models.ReviewEvent, string, error) {
	q := s.conn(ctx).Model(&models.ReviewEvent{}).Where("conversation_id = ?", convID)
	items, next, err := paginate(q, p, "id", func(e *models.ReviewEvent) string { return e.ID })
	return items, next, translate(err, "review events")
}

// CreateTag adds a tag to a bot's managed list. Errors: invalid, not_found
// (bot), conflict (the bot has a tag of that name).
func (s *Store) CreateTag(ctx context.Context, t models.Tag) (*models.Tag, error) {
	t.ID, t.Name, t.CreatedAt = models.NewID(), strings.TrimSpace(t.Name), s.now()
	if err := t.Validate(); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkIDs(tx, &models.Bot{}, []string{t.BotID}, "botId", "bot"); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&models.Tag{}).Where("bot_id = ?", t.BotID).Count(&n).Error; err != nil {
			return translate(err, "tag")
		}
		if n >= maxTagsPerBot {
			return models.FieldError("name", "This bot has the most tags it can have (100). Reuse one.")
		}
		if err := sameTagName(tx, t.BotID, t.Name, ""); err != nil {
			return err
		}
		if err := tx.Create(&t).Error; err != nil {
			if models.ErrorCode(translate(err, "tag")) == models.CodeConflict {
				return models.FieldError("name", "This bot already has a tag with that name.")
			}
			return translate(err, "tag")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// sameTagName refuses a name another tag of the bot has, whatever its case
// ("Refund" and "refund" are one tag to a reader); the unique index on
// (bot_id, name) still settles a race for the exact name.
func sameTagName(tx *gorm.DB, botID, name, except string) error {
	var n int64
	if err := tx.Model(&models.Tag{}).Where("bot_id = ? AND lower(name) = lower(?) AND id <> ?", botID, name, except).Count(&n).Error; err != nil {
		return translate(err, "tag")
	}
	if n > 0 {
		return models.FieldError("name", "This bot already has a tag with that name.")
	}
	return nil
}

// UpdateTag renames and recolours a tag of the conversation's bot; the
// messages carrying it keep it. Errors: not_found (conversation, or a tag
// not of its bot), invalid (name, colour; conflict as a name error: the bot
// has a tag of that name).
func (s *Store) UpdateTag(ctx context.Context, convID, tagID, name, color string) (*models.Tag, error) {
	var t models.Tag
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := conversationTag(tx, convID, tagID, &t); err != nil {
			return err
		}
		t.Name, t.Color = strings.TrimSpace(name), color
		if err := t.Validate(); err != nil {
			return err
		}
		if err := sameTagName(tx, t.BotID, t.Name, t.ID); err != nil {
			return err
		}
		err := tx.Model(&models.Tag{}).Where("id = ?", t.ID).Updates(map[string]any{"name": t.Name, "color": t.Color}).Error
		if models.ErrorCode(translate(err, "tag")) == models.CodeConflict {
			return models.FieldError("name", "This bot already has a tag with that name.")
		}
		return translate(err, "tag")
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteTag deletes a tag of the conversation's bot and takes it off every
// message carrying it, returning the tag and how many messages carried it.
// Errors: not_found (conversation, or a tag not of its bot).
func (s *Store) DeleteTag(ctx context.Context, convID, tagID string) (*models.Tag, int64, error) {
	var t models.Tag
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := conversationTag(tx, convID, tagID, &t); err != nil {
			return err
		}
		res := tx.Where("tag_id = ?", t.ID).Delete(&models.MessageTag{})
		if res.Error != nil {
			return translate(res.Error, "tag")
		}
		n = res.RowsAffected
		return translate(tx.Delete(&models.Tag{}, "id = ?", t.ID).Error, "tag")
	})
	if err != nil {
		return nil, 0, err
	}
	return &t, n, nil
}

// CountTagMessages returns how many messages carry a tag of the
// conversation's bot (what deleting it would take the tag off), with the
// tag. Errors: not_found.
func (s *Store) CountTagMessages(ctx context.Context, convID, tagID string) (*models.Tag, int64, error) {
	var t models.Tag
	db := s.conn(ctx)
	if err := conversationTag(db, convID, tagID, &t); err != nil {
		return nil, 0, err
	}
	var n int64
	if err := db.Model(&models.MessageTag{}).Where("tag_id = ?", t.ID).Count(&n).Error; err != nil {
		return nil, 0, translate(err, "tags")
	}
	return &t, n, nil
}

// conversationTag reads into t the tag tagID of the conversation's bot.
// Errors: not_found (the conversation, or a tag that is not of its bot).
func conversationTag(db *gorm.DB, convID, tagID string, t *models.Tag) error {
	if !models.ValidID(convID) || !models.ValidID(tagID) {
		return notFound("tag")
	}
	err := db.Joins("JOIN conversations AS c ON c.bot_id = tags.bot_id").
		Where("c.id = ? AND tags.id = ?", convID, tagID).Select("tags.*").Take(t).Error
	return translate(err, "tag")
}

// FindTags returns a bot's managed list of tags, by name.
func (s *Store) FindTags(ctx context.Context, botID string) ([]models.Tag, error) {
	var out []models.Tag
	if !models.ValidID(botID) {
		return out, nil
	}
	err := s.conn(ctx).Where("bot_id = ?", botID).Order("name").Limit(maxTagsPerBot).Find(&out).Error
	return out, translate(err, "tags")
}

// FindTag returns one tag. Errors: not_found.
func (s *Store) FindTag(ctx context.Context, id string) (*models.Tag, error) {
	if !models.ValidID(id) {
		return nil, notFound("tag")
	}
	var t models.Tag
	if err := s.conn(ctx).First(&t, "id = ?", id).Error; err != nil {
		return nil, translate(err, "tag")
	}
	return &t, nil
}

// reviewMessage checks that msgID is a message of the conversation in tx.
func reviewMessage(tx *gorm.DB, convID, msgID string) error {
	if !models.ValidID(msgID) {
		return notFound("message")
	}
	var n int64
	if err := tx.Model(&models.Message{}).Where("id = ? AND conversation_id = ?", msgID, convID).Count(&n).Error; err != nil {
		return translate(err, "message")
	}
	if n == 0 {
		return notFound("message")
	}
	return nil
}

// TagMessage puts a tag of the conversation's bot on one of its messages
// (again: no change) and records who did it. Errors: not_found, invalid (the
// tag is not of this conversation's bot).
func (s *Store) TagMessage(ctx context.Context, convID, msgID, tagID string, who models.Reviewer) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		r, err := s.lockReview(tx, convID)
		if err != nil {
			return err
		}
		if err := reviewMessage(tx, convID, msgID); err != nil {
			return err
		}
		var t models.Tag
		if !models.ValidID(tagID) || tx.First(&t, "id = ?", tagID).Error != nil || r.BotID == nil || t.BotID != *r.BotID {
			return models.FieldError("tagId", "Choose a tag of this conversation's bot.")
		}
		mt := models.MessageTag{MessageID: msgID, TagID: tagID, ConversationID: convID, CreatedBy: models.TruncateUTF8(who.Name, 254), CreatedAt: s.now()}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Omit(clause.Associations).Create(&mt)
		if res.Error != nil {
			return translate(res.Error, "tag")
		}
		if res.RowsAffected == 0 {
			return nil
		}
		return s.reviewEvent(tx, convID, &msgID, who, "tag", "tagged "+t.Name)
	})
}

// UntagMessage takes a tag off a message and records who did it (a tag not
// on it: no change). Errors: not_found.
func (s *Store) UntagMessage(ctx context.Context, convID, msgID, tagID string, who models.Reviewer) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.lockReview(tx, convID); err != nil {
			return err
		}
		var t models.Tag
		if !models.ValidID(tagID) || tx.First(&t, "id = ?", tagID).Error != nil {
			return notFound("tag")
		}
		res := tx.Where("conversation_id = ? AND message_id = ? AND tag_id = ?", convID, msgID, tagID).Delete(&models.MessageTag{})
		if res.Error != nil {
			return translate(res.Error, "tag")
		}
		if res.RowsAffected == 0 {
			return nil
		}
		return s.reviewEvent(tx, convID, &msgID, who, "untag", "removed tag "+t.Name)
	})
}

// FindMessageTags returns the tags on these messages of a conversation, by
// message id, in the order they were put on.
func (s *Store) FindMessageTags(ctx context.Context, convID string, msgIDs []string) (map[string][]models.MessageTag, error) {
	out := map[string][]models.MessageTag{}
	if len(msgIDs) == 0 {
		return out, nil
	}
	var rows []models.MessageTag
	if err := s.conn(ctx).Preload("Tag").Where("conversation_id = ? AND message_id IN ?", convID, msgIDs).
		Order("created_at, tag_id").Find(&rows).Error; err != nil {
		return nil, translate(err, "tags")
	}
	for _, r := range rows {
		out[r.MessageID] = append(out[r.MessageID], r)
	}
	return out, nil
}

// AddNote writes a note on a message of a conversation, by who. Errors:
// invalid (empty or too long), not_found.
func (s *Store) AddNote(ctx context.Context, convID, msgID, text string, who models.Reviewer) (*models.Note, error) {
	now := s.now()
	n := models.Note{ID: models.NewID(), ConversationID: convID, MessageID: msgID, AuthorName: models.TruncateUTF8(who.Name, 254),
		Text: strings.TrimSpace(text), CreatedAt: now, UpdatedAt: now}
	if who.ID != "" {
		n.AuthorID = &who.ID
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.lockReview(tx, convID); err != nil {
			return err
		}
		if err := reviewMessage(tx, convID, msgID); err != nil {
			return err
		}
		if err := tx.Omit(clause.Associations).Create(&n).Error; err != nil {
			return translate(err, "note")
		}
		return s.reviewEvent(tx, convID, &msgID, who, "note", "added a note")
	})
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// EditNote replaces a note's text, keeping the text it had as a revision,
// and records who did it. Errors: invalid, not_found.
func (s *Store) EditNote(ctx context.Context, convID, noteID, text string, who models.Reviewer) (*models.Note, error) {
	text = strings.TrimSpace(text)
	probe := models.Note{Text: text}
	if err := probe.Validate(); err != nil {
		return nil, err
	}
	var n models.Note
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.lockReview(tx, convID); err != nil {
			return err
		}
		if !models.ValidID(noteID) {
			return notFound("note")
		}
		if err := tx.First(&n, "id = ? AND conversation_id = ?", noteID, convID).Error; err != nil {
			return translate(err, "note")
		}
		if n.Text == text {
			return nil
		}
		var seq int
		if err := tx.Model(&models.NoteRevision{}).Select("COALESCE(MAX(seq), 0)").Where("note_id = ?", noteID).Scan(&seq).Error; err != nil {
			return translate(err, "note")
		}
		rev := models.NoteRevision{NoteID: noteID, Seq: seq + 1, Text: n.Text, EditorName: models.TruncateUTF8(who.Name, 254), CreatedAt: s.now()}
		if err := tx.Create(&rev).Error; err != nil {
			return translate(err, "note")
		}
		n.Text, n.UpdatedAt = text, s.now()
		if err := tx.Model(&models.Note{}).Where("id = ?", noteID).Updates(map[string]any{"text": n.Text, "updated_at": n.UpdatedAt}).Error; err != nil {
			return translate(err, "note")
		}
		msgID := n.MessageID
		return s.reviewEvent(tx, convID, &msgID, who, "note", "edited a note")
	})
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// FindNotes returns the notes on these messages of a conversation with
// their revisions (oldest first), by message id, oldest first.
func (s *Store) FindNotes(ctx context.Context, convID string, msgIDs []string) (map[string][]models.Note, error) {
	out := map[string][]models.Note{}
	if len(msgIDs) == 0 {
		return out, nil
	}
	var rows []models.Note
	if err := s.conn(ctx).Preload("Revisions", func(db *gorm.DB) *gorm.DB { return db.Order("seq") }).
		Where("conversation_id = ? AND message_id IN ?", convID, msgIDs).Order("id").Find(&rows).Error; err != nil {
		return nil, translate(err, "notes")
	}
	for _, r := range rows {
		out[r.MessageID] = append(out[r.MessageID], r)
	}
	return out, nil
}

// FindConversationTags returns the managed tags of a conversation's bot
// (none for a conversation without a bot), by name.
func (s *Store) FindConversationTags(ctx context.Context, convID string) ([]models.Tag, error) {
	var out []models.Tag
	err := s.conn(ctx).Table("tags").Joins("JOIN conversations AS c ON c.bot_id = tags.bot_id").
		Where("c.id = ?", convID).Order("tags.name").Limit(maxTagsPerBot).Select("tags.*").Find(&out).Error
	return out, translate(err, "tags")
}

// SuggestCorrection keeps a better answer for a bot message with the
// review, pending a builder's decision, and records who suggested it.
// Errors: invalid (empty, not a bot answer), not_found.
func (s *Store) SuggestCorrection(ctx context.Context, convID, msgID, text string, who models.Reviewer) (*models.Correction, error) {
	c := models.Correction{ID: models.NewID(), ConversationID: convID, MessageID: msgID, Text: strings.TrimSpace(text),
		AuthorName: models.TruncateUTF8(who.Name, 254), Status: models.CorrectionPending, CreatedAt: s.now()}
	if who.ID != "" {
		c.AuthorID = &who.ID
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.lockReview(tx, convID); err != nil {
			return err
		}
		var m models.Message
		if !models.ValidID(msgID) || tx.Select("id", "type").First(&m, "id = ? AND conversation_id = ?", msgID, convID).Error != nil {
			return notFound("message")
		}
		if m.Type != models.MessageBot {
			return models.Errorf(models.CodeInvalid, "Only the bot's answers can be corrected.")
		}
		if err := tx.Omit(clause.Associations).Create(&c).Error; err != nil {
			return translate(err, "correction")
		}
		return s.reviewEvent(tx, convID, &msgID, who, "correction", "suggested a correction")
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// AcceptCorrection makes a pending correction a record of a dataset: the
// question it answers and the corrected answer, with the conversation as its
// source, in one transaction with the correction's new status. Errors:
// not_found, conflict (already accepted), invalid (no such dataset).
func (s *Store) AcceptCorrection(ctx context.Context, convID, corrID, datasetID string, who models.Reviewer) (*models.DatasetRecord, error) {
	var rec models.DatasetRecord
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.lockReview(tx, convID); err != nil {
			return err
		}
		var c models.Correction
		if !models.ValidID(corrID) || tx.First(&c, "id = ? AND conversation_id = ?", corrID, convID).Error != nil {
			return notFound("correction")
		}
		if c.Status != models.CorrectionPending {
			return models.Errorf(models.CodeConflict, "This correction was already accepted.")
		}
		if !models.ValidID(datasetID) {
			return models.FieldError("datasetId", "Choose a dataset.")
		}
		if err := checkIDs(tx, &models.Dataset{}, []string{datasetID}, "datasetId", "dataset"); err != nil {
			return err
		}
		question := ""
		var t models.Turn
		if tx.Select("user_message_id").First(&t, "bot_message_id = ?", c.MessageID).Error == nil && t.UserMessageID != nil {
			var u models.Message
			if tx.Select("text").First(&u, "id = ?", *t.UserMessageID).Error == nil {
				question = u.Text
			}
		}
		text := c.Text
		if question != "" {
			text = "Q: " + question + "\nA: " + c.Text
		}
		now := s.now()
		rec = models.DatasetRecord{ID: models.NewID(), DatasetID: datasetID, Text: text, Source: "correction of conversation " + convID,
			Meta: models.Meta{"correctionId": c.ID, "conversationId": convID, "messageId": c.MessageID}, CreatedAt: now, UpdatedAt: now}
		if err := rec.Validate(); err != nil {
			return err
		}
		if err := tx.Create(&rec).Error; err != nil {
			return translate(err, "record")
		}
		if err := tx.Model(&models.Correction{}).Where("id = ?", c.ID).Updates(map[string]any{"status": models.CorrectionAccepted,
			"record_id": rec.ID, "dataset_id": datasetID, "decided_by": models.TruncateUTF8(who.Name, 254), "decided_at": now}).Error; err != nil {
			return translate(err, "correction")
		}
		msgID := c.MessageID
		return s.reviewEvent(tx, convID, &msgID, who, "correction", "accepted a correction into a dataset")
	})
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// FindCorrections returns the corrections of these messages of a
// conversation, by message id, oldest first.
func (s *Store) FindCorrections(ctx context.Context, convID string, msgIDs []string) (map[string][]models.Correction, error) {
	out := map[string][]models.Correction{}
	if len(msgIDs) == 0 {
		return out, nil
	}
	var rows []models.Correction
	if err := s.conn(ctx).Where("conversation_id = ? AND message_id IN ?", convID, msgIDs).Order("id").Find(&rows).Error; err != nil {
		return nil, translate(err, "corrections")
	}
	for _, r := range rows {
		out[r.MessageID] = append(out[r.MessageID], r)
	}
	return out, nil
}

// FindConversationDatasets returns the datasets attached to a
// conversation's bot (where an accepted correction can go).
func (s *Store) FindConversationDatasets(ctx context.Context, convID string) ([]models.Dataset, error) {
	var out []models.Dataset
	err := s.conn(ctx).Table("datasets").Select("datasets.id", "datasets.name").
		Joins("JOIN bot_datasets AS bd ON bd.dataset_id = datasets.id").Joins("JOIN conversations AS c ON c.bot_id = bd.bot_id").
		Where("c.id = ?", convID).Order("datasets.name").Limit(maxTagsPerBot).Find(&out).Error
	return out, translate(err, "datasets")
}
