package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"parley/models"
)

// dontKnowPatterns are how answers that say the bot did not know begin (the
// local provider's models.DontKnow-style answer, and the usual wordings of
// real models); matched case-sensitively on the answer's start.
var dontKnowPatterns = []string{"I don't know%", "I do not know%", "I don’t know%"}

// unansweredSQL is true for a conversation with a finished turn that could not
// answer: its answer begins by saying it does not know, or retrieval found
// nothing although its bot has a dataset attached. Each probe is bounded by
// one conversation's turns (idx_turns_conversation).
const unansweredSQL = `EXISTS (SELECT 1 FROM turns AS ut WHERE ut.conversation_id = conversations.id AND ut.status = 'done' AND (
	EXISTS (SELECT 1 FROM messages AS ub WHERE ub.id = ut.bot_message_id AND (ub.text LIKE ? OR ub.text LIKE ? OR ub.text LIKE ?))
	OR (NOT EXISTS (SELECT 1 FROM turn_records AS ur WHERE ur.turn_id = ut.id)
		AND EXISTS (SELECT 1 FROM bot_datasets AS ud WHERE ud.bot_id = ut.bot_id))))`

// hasErrorSQL is true for a conversation with a failed or interrupted turn.
const hasErrorSQL = `EXISTS (SELECT 1 FROM turns AS et WHERE et.conversation_id = conversations.id AND et.status IN ('failed', 'interrupted'))`

// conversationScope applies every condition of f to q, a query on the
// conversations table.
func conversationScope(q *gorm.DB, f models.ConversationQuery) *gorm.DB {
	if !f.IncludeTests {
		q = q.Where("conversations.kind = ?", models.ConversationChat)
	}
	if f.BotID != "" {
		q = q.Where("conversations.bot_id = ?", f.BotID)
	}
	if f.IntegrationID != "" {
		q = q.Where("conversations.integration_id = ?", f.IntegrationID)
	}
	if f.ThreadID != "" {
		q = q.Where("conversations.channel_thread_id = ?", f.ThreadID)
	}
	if f.ContactID != "" {
		q = q.Where("conversations.contact_id = ?", f.ContactID)
	}
	if !f.Since.IsZero() {
		q = q.Where("conversations.created_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("conversations.created_at < ?", f.Until.UTC())
	}
	if f.ReviewStatus != "" {
		q = q.Where("conversations.review_status = ?", f.ReviewStatus)
	}
	if f.AssigneeID != "" {
		q = q.Where("conversations.assignee_id = ?", f.AssigneeID)
	}
	if f.Rating != "" {
		cond := "rt.value > 0"
		if f.Rating == models.RatingDown {
			cond = "rt.value < 0"
		}
		sql := "EXISTS (SELECT 1 FROM ratings AS rt WHERE rt.conversation_id = conversations.id AND " + cond
		if f.RaterKind != "" {
			q = q.Where(sql+" AND rt.rater_kind = ?)", f.RaterKind)
		} else {
			q = q.Where(sql + ")")
		}
	}
	if f.TagID != "" {
		q = q.Where("EXISTS (SELECT 1 FROM message_tags AS mt WHERE mt.conversation_id = conversations.id AND mt.tag_id = ?)", f.TagID)
	}
	if f.HasError {
		q = q.Where(hasErrorSQL)
	}
	if f.Unanswered {
		q = q.Where(unansweredSQL, dontKnowPatterns[0], dontKnowPatterns[1], dontKnowPatterns[2])
	}
	return q
}

// validConversationQuery reports not found-free emptiness: malformed ids
// match nothing rather than erroring (the handler validates what people type).
func validConversationQuery(f models.ConversationQuery) bool {
	for _, id := range []string{f.BotID, f.IntegrationID, f.TagID, f.AssigneeID} {
		if id != "" && !models.ValidID(id) {
			return false
		}
	}
	return true
}

// FindConversationRows lists the conversations f keeps, newest first, one
// cursor page at a time, each with the figures support triages by: first
// user message, message count, last activity, votes, errors, review status,
// assignee and channel. The figures are counted for the page's rows only,
// from indexes, so they are always those of the messages and turns stored
// (however they were written) and the page costs the same at any size.
func (s *Store) FindConversationRows(ctx context.Context, f models.ConversationQuery) ([]models.ConversationRow, string, error) {
	if !validConversationQuery(f) {
		return nil, "", nil
	}
	q := s.conn(ctx).Model(&models.Conversation{}).Preload("Bot", func(db *gorm.DB) *gorm.DB {
		return db.Select("id", "name")
	})
	q = conversationScope(q, f)
	convs, next, err := paginate(q, f.Page, "conversations.id", func(c *models.Conversation) string { return c.ID })
	if err != nil {
		return nil, "", translate(err, "conversations")
	}
	rows, err := s.conversationFigures(ctx, convs)
	return rows, next, err
}

// conversationFigures adds the list's figures to convs.
func (s *Store) conversationFigures(ctx context.Context, convs []models.Conversation) ([]models.ConversationRow, error) {
	rows := make([]models.ConversationRow, len(convs))
	if len(convs) == 0 {
		return rows, nil
	}
	ids := make([]string, len(convs))
	at := map[string]int{}
	for i, c := range convs {
		ids[i], at[c.ID] = c.ID, i
		rows[i].Conversation = c
		rows[i].LastActivity = c.CreatedAt
	}
	db := s.conn(ctx)
	var review []struct {
		ID, ReviewStatus string
		AssigneeID       *string
		AssigneeName     *string
		IntegrationName  *string
		IntegrationType  *string
	}
	if err := db.Raw(`SELECT c.id, c.review_status, c.assignee_id, o.name AS assignee_name, i.name AS integration_name, i.type AS integration_type
		FROM conversations AS c LEFT JOIN operators AS o ON o.id = c.assignee_id LEFT JOIN integrations AS i ON i.id = c.integration_id
		WHERE c.id IN ?`, ids).Scan(&review).Error; err != nil {
		return nil, translate(err, "conversations")
	}
	for _, r := range review {
		row := &rows[at[r.ID]]
		row.ReviewStatus, row.AssigneeID = r.ReviewStatus, r.AssigneeID
		row.AssigneeName, row.IntegrationName, row.IntegrationType = models.Deref(r.AssigneeName), models.Deref(r.IntegrationName), models.Deref(r.IntegrationType)
	}
	var counts []struct {
		ConversationID string
		N              int64
		Last           string
	}
	// MAX(id) is the newest message (ids are time-ordered): its time is read below.
	if err := db.Raw(`SELECT conversation_id, COUNT(*) AS n, MAX(id) AS last FROM messages WHERE conversation_id IN ? GROUP BY conversation_id`, ids).
		Scan(&counts).Error; err != nil {
		return nil, translate(err, "messages")
	}
	lastIDs := make([]string, 0, len(counts))
	for _, c := range counts {
		rows[at[c.ConversationID]].MessageCount = c.N
		lastIDs = append(lastIDs, c.Last)
	}
	var firsts []struct {
		ConversationID string
		Text           string
		CreatedAt      time.Time
		First          bool
	}
	if err := db.Raw(`SELECT m.conversation_id, m.text, m.created_at, false AS first FROM messages AS m WHERE m.id IN ?
		UNION ALL
		SELECT m.conversation_id, m.text, m.created_at, true AS first FROM messages AS m WHERE m.id IN (
			SELECT (SELECT f.id FROM messages AS f WHERE f.conversation_id = c.id AND f.type = 'user' ORDER BY f.id LIMIT 1)
			FROM conversations AS c WHERE c.id IN ?)`, nonEmpty(lastIDs), ids).Scan(&firsts).Error; err != nil {
		return nil, translate(err, "messages")
	}
	for _, f := range firsts {
		row := &rows[at[f.ConversationID]]
		if f.First {
			row.FirstUserMessage = f.Text
		} else {
			row.LastActivity = f.CreatedAt
		}
	}
	var votes []struct {
		ConversationID string
		RaterKind      string
		Up, Down       int64
	}
	if err := db.Raw(`SELECT conversation_id, rater_kind, SUM(CASE WHEN value > 0 THEN 1 ELSE 0 END) AS up, SUM(CASE WHEN value < 0 THEN 1 ELSE 0 END) AS down
		FROM ratings WHERE conversation_id IN ? GROUP BY conversation_id, rater_kind`, ids).Scan(&votes).Error; err != nil {
		return nil, translate(err, "ratings")
	}
	for _, v := range votes {
		row := &rows[at[v.ConversationID]]
		if v.RaterKind == models.RaterEndUser {
			row.EndUserUp += v.Up
			row.EndUserDown += v.Down
		} else {
			row.Up += v.Up
			row.Down += v.Down
		}
	}
	var failed []string
	if err := db.Raw(`SELECT DISTINCT conversation_id FROM turns WHERE conversation_id IN ? AND status IN ('failed', 'interrupted')`, ids).
		Scan(&failed).Error; err != nil {
		return nil, translate(err, "turns")
	}
	for _, id := range failed {
		rows[at[id]].HasError = true
	}
	return rows, nil
}

// nonEmpty returns ids, or one id that matches nothing when there are none
// (an empty IN list is not valid SQL everywhere).
func nonEmpty(ids []string) []string {
	if len(ids) == 0 {
		return []string{""}
	}
	return ids
}

// MessageAfter returns the id of the message that follows id in its
// conversation ("" when id is the latest), so a transcript can open on the
// page that ends with id.
func (s *Store) MessageAfter(ctx context.Context, convID, id string) (string, error) {
	var next []string
	err := s.conn(ctx).Model(&models.Message{}).Where("conversation_id = ? AND id > ?", convID, id).
		Order("id").Limit(1).Pluck("id", &next).Error
	if err != nil || len(next) == 0 {
		return "", translate(err, "message")
	}
	return next[0], nil
}

// FindAllTags returns up to limit tags of every bot, by name, for filters
// that span bots.
func (s *Store) FindAllTags(ctx context.Context, limit int) ([]models.Tag, error) {
	var out []models.Tag
	err := s.conn(ctx).Order("name, bot_id").Limit(limit).Find(&out).Error
	return out, translate(err, "tags")
}

// SetSeePersonalData grants (or takes back) an operator's right to see
// personal data unmasked. Errors: not_found.
func (s *Store) SetSeePersonalData(ctx context.Context, operatorID string, see bool) error {
	if !models.ValidID(operatorID) {
		return notFound("operator")
	}
	res := s.conn(ctx).Model(&models.Operator{}).Where("id = ?", operatorID).
		Updates(map[string]any{"see_personal_data": see, "updated_at": s.now()})
	if res.Error != nil {
		return translate(res.Error, "operator")
	}
	if res.RowsAffected == 0 {
		return notFound("operator")
	}
	return nil
}
