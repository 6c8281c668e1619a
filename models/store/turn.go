package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parley/models"
)

// PostUserMessage stores a user message and, with queue, a turn that will
// answer it — in one transaction, so an accepted message is never without
// the turn that answers it. redactions is how many personal data items were
// replaced in the message's text (privacy on); the queued turn keeps the
// count. A message whose ExternalID the conversation has seen already is not
// stored again: the stored one and its latest turn are returned with created
// false (a retried delivery). Errors: not_found (the conversation), invalid
// (the message).
func (s *Store) PostUserMessage(ctx context.Context, m models.Message, queue bool, redactions int) (msg *models.Message, turn *models.Turn, created bool, err error) {
	return s.postUserMessage(ctx, m, queue, redactions, nil, nil)
}

// TurnStart is what answers a turn started as it is queued (PostAndStart):
// the bot and the version whose configuration answers; History, when more
// than 0, asks for the conversation's newest History dialogue messages as
// well (StartedPost.Recent), read with the post.
type TurnStart struct {
	BotID, BotVersionID *string
	BotVersion          int
	History             int
}

// StartedPost is what PostAndStart stored: the message, its turn (running
// or queued: Turn.Status says which) and whether the message is new (false:
// a retried delivery, the first one's message and latest turn).
type StartedPost struct {
	Message *models.Message
	Turn    *models.Turn
	Created bool
	// Recent is, when the turn started and start.History asked for it, the
	// conversation's newest user, bot and instruction messages, the posted
	// one among them, newest first, as RecentDialogue(History) returns them
	// once the post is stored: read in the same round trip and transaction
	// (PostgreSQL: a batch of the post and the read) or transaction
	// (SQLite), so answering needs no other read of its history.
	Recent []models.Message
}

// PostAndStart is PostUserMessage with a turn, for the holder of the
// conversation's lock: when no other turn of the conversation is queued or
// running, the turn is stored already running (as of now, answered by
// start's bot version) in the same statement, so it need not be started
// with another. Otherwise it is queued, as PostUserMessage queues it.
func (s *Store) PostAndStart(ctx context.Context, m models.Message, redactions int, start TurnStart) (StartedPost, error) {
	var p StartedPost
	var err error
	p.Message, p.Turn, p.Created, err = s.postUserMessage(ctx, m, true, redactions, &start, &p.Recent)
	return p, err
}

// postUserMessage stores m (with its turn, queue); with start, the turn
// starts when nothing else is unfinished, and then recent receives the
// history start asks for.
func (s *Store) postUserMessage(ctx context.Context, m models.Message, queue bool, redactions int, start *TurnStart, recent *[]models.Message) (msg *models.Message, turn *models.Turn, created bool, err error) {
	m.Type = models.MessageUser
	m.ID = models.NewID() // for validation; made again inside the transaction
	m.TurnID = nil
	if m.Meta == nil {
		m.Meta = models.Meta{}
	}
	if m.ExternalID != nil && *m.ExternalID == "" {
		m.ExternalID = nil
	}
	if err := m.Validate(); err != nil {
		return nil, nil, false, err
	}
	if !models.ValidID(m.ConversationID) {
		return nil, nil, false, notFound("conversation")
	}
	if s.dialect == Postgres && queue {
		return s.postAndQueuePostgres(ctx, m, redactions, start, recent)
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		// Ids are made inside the transaction, so (SQLite's writers being
		// serialised) their order is the order messages were accepted in.
		m.ID = models.NewID()
		q := tx
		if m.ExternalID != nil {
			q = tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "conversation_id"}, {Name: "external_id"}}, DoNothing: true})
		}
		res := q.Create(&m)
		if errors.Is(res.Error, gorm.ErrForeignKeyViolated) {
			return notFound("conversation") // the message's one reference
		}
		if res.Error != nil {
			return translate(res.Error, "message")
		}
		if res.RowsAffected == 0 { // the external id was seen before
			msg, turn, err = postedBefore(tx, m)
			return err
		}
		msg, created = &m, true
		if queue {
			t := s.newTurn(m.ConversationID, m.ID, false)
			t.Redactions = redactions
			if start != nil {
				var unfinished int64
				if err := tx.Model(&models.Turn{}).Where("conversation_id = ? AND "+unfinishedTurn, m.ConversationID).
					Limit(1).Count(&unfinished).Error; err != nil {
					return translate(err, "turns")
				}
				if unfinished == 0 {
					started(&t, start)
				}
			}
			if err := tx.Omit(clause.Associations).Create(&t).Error; err != nil {
				return translate(err, "turn")
			}
			turn = &t
			if start != nil && t.Status == models.TurnRunning && start.History > 0 {
				if *recent, err = s.recentDialogue(tx, m.ConversationID, start.History); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, false, err
	}
	return msg, turn, created, nil
}

// started marks new turn t running, as of its queueing, answered by start.
func started(t *models.Turn, start *TurnStart) {
	at := t.QueuedAt
	t.Status, t.StartedAt = models.TurnRunning, &at
	t.BotID, t.BotVersionID, t.BotVersion = start.BotID, start.BotVersionID, start.BotVersion
}

// postAndQueuePostgres is PostUserMessage with a turn on PostgreSQL: the
// message and its turn in one statement (one round trip, one implicit
// transaction): the turn is inserted from what the message insert returned,
// so a message seen before (its external id) queues nothing. With start
// (PostAndStart), the turn is inserted running when the conversation has no
// other unfinished turn, and then recent receives the history start asks
// for.
func (s *Store) postAndQueuePostgres(ctx context.Context, m models.Message, redactions int, start *TurnStart, recent *[]models.Message) (*models.Message, *models.Turn, bool, error) {
	m.ID = models.NewID()
	now := s.now()
	m.CreatedAt, m.UpdatedAt = now, now
	t := s.newTurn(m.ConversationID, m.ID, false)
	t.Redactions = redactions
	meta, err := m.Meta.Value()
	if err != nil {
		return nil, nil, false, models.FieldError("meta", "The meta could not be stored as JSON.")
	}
	// first: whether the turn starts now (start given, nothing unfinished).
	first := "false"
	args := []any{m.ID, m.ConversationID, m.Type, m.Text, meta, m.ExternalID, now, now}
	var bot, version any
	var number, history int
	if start != nil {
		first = "NOT EXISTS (SELECT 1 FROM turns WHERE conversation_id = ? AND " + unfinishedTurn + ")"
		args = append(args, m.ConversationID)
		bot, version, number, history = start.BotID, start.BotVersionID, start.BotVersion, max(start.History, 0)
	}
	args = append(args, t.ID, t.ConversationID, models.TurnRunning, t.Status, t.QueuedAt, t.QueuedAt, bot, version, number,
		t.Redactions, t.CreatedAt, t.UpdatedAt)
	sql := `WITH m AS (
	INSERT INTO messages (id, conversation_id, type, text, meta, turn_id, external_id, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)
	ON CONFLICT (conversation_id, external_id) DO NOTHING
	RETURNING id), f AS MATERIALIZED (SELECT ` + first + ` AS first)
INSERT INTO turns (id, conversation_id, user_message_id, status, retry, provider, model, queued_at, started_at,
	bot_id, bot_version_id, bot_version,
	latency_ms, input_tokens, output_tokens, end_reason, tool_rounds, error_stage, error, redactions, moderated, created_at, updated_at)
SELECT ?, ?, m.id, CASE WHEN f.first THEN ? ELSE ? END, false, '', '', ?, CASE WHEN f.first THEN ?::timestamptz END,
	CASE WHEN f.first THEN ?::text END, CASE WHEN f.first THEN ?::text END, CASE WHEN f.first THEN ?::int ELSE 0 END,
	0, 0, 0, '', 0, '', '', ?, false, ?, ? FROM m, f
RETURNING user_message_id, status`
	var status string // of the turn inserted; "" when none was (a message seen before)
	var msgs []models.Message
	_, inTx := ctx.Value(txKey{}).(*gorm.DB)
	if history > 0 && !inTx {
		// The history with the post, in one round trip: both statements
		// are sent at once and run in one implicit transaction, so the
		// second sees the message the first stored.
		status, msgs, err = s.postWithHistory(ctx, dollars(sql), args, m.ConversationID, history)
	} else {
		var inserted []struct{ UserMessageID, Status string }
		err = s.conn(ctx).Raw(sql, args...).Scan(&inserted).Error
		if len(inserted) == 1 {
			status = inserted[0].Status
		}
		if err == nil && status == models.TurnRunning && history > 0 {
			msgs, err = s.recentDialogue(s.conn(ctx), m.ConversationID, history)
		}
	}
	var pe *pgconn.PgError
	if errors.Is(err, gorm.ErrForeignKeyViolated) || (errors.As(err, &pe) && pe.Code == "23503") { // foreign_key_violation
		return nil, nil, false, notFound("conversation")
	}
	if err != nil {
		return nil, nil, false, translate(err, "message")
	}
	if status != "" {
		if status == models.TurnRunning {
			started(&t, start)
			*recent = msgs
		}
		return &m, &t, true, nil
	}
	msg, turn, err := postedBefore(s.conn(ctx), m)
	if err != nil {
		return nil, nil, false, err
	}
	return msg, turn, false, nil
}

// postedBefore returns the message stored before with m's external id and
// its latest turn (nil when it was sent without an answer).
func postedBefore(tx *gorm.DB, m models.Message) (*models.Message, *models.Turn, error) {
	var prev models.Message
	if err := tx.First(&prev, "conversation_id = ? AND external_id = ?", m.ConversationID, *m.ExternalID).Error; err != nil {
		return nil, nil, translate(err, "message")
	}
	var t models.Turn
	if err := tx.Where("user_message_id = ?", prev.ID).Order("id DESC").Limit(1).Find(&t).Error; err != nil {
		return nil, nil, translate(err, "turn")
	}
	if t.ID == "" {
		return &prev, nil, nil
	}
	return &prev, &t, nil
}

func conversationExists(tx *gorm.DB, id string) error {
	if !models.ValidID(id) {
		return notFound("conversation")
	}
	var n int64
	if err := tx.Model(&models.Conversation{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return translate(err, "conversation")
	}
	if n == 0 {
		return notFound("conversation")
	}
	return nil
}

func (s *Store) newTurn(convID, userMsgID string, retry bool) models.Turn {
	now := s.now()
	t := models.Turn{ID: models.NewID(), ConversationID: convID, Status: models.TurnQueued, Retry: retry,
		QueuedAt: now, CreatedAt: now, UpdatedAt: now}
	if userMsgID != "" {
		t.UserMessageID = &userMsgID
	}
	return t
}

// QueueTurn queues a turn that answers a stored user message of the
// conversation: for the first time (the API's receive) or again (retry).
// Errors: not_found (the conversation or message), invalid (not a user message).
func (s *Store) QueueTurn(ctx context.Context, convID, userMsgID string, retry bool) (*models.Turn, error) {
	var t models.Turn
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var m models.Message
		if !models.ValidID(userMsgID) || !models.ValidID(convID) {
			return notFound("message")
		}
		if err := tx.Select("id", "type").First(&m, "id = ? AND conversation_id = ?", userMsgID, convID).Error; err != nil {
			return translate(err, "message")
		}
		if m.Type != models.MessageUser {
			return models.Errorf(models.CodeInvalid, "Only a user message can be answered.")
		}
		t = s.newTurn(convID, userMsgID, retry)
		return translate(tx.Omit(clause.Associations).Create(&t).Error, "turn")
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// LastUserMessage returns the conversation's latest user message, or not_found.
func (s *Store) LastUserMessage(ctx context.Context, convID string) (*models.Message, error) {
	if !models.ValidID(convID) {
		return nil, notFound("conversation")
	}
	var m models.Message
	err := s.conn(ctx).Where("conversation_id = ? AND type = ?", convID, models.MessageUser).
		Order("id DESC").Limit(1).Find(&m).Error
	if err != nil {
		return nil, translate(err, "message")
	}
	if m.ID == "" {
		return nil, models.Errorf(models.CodeNotFound, "The conversation has no user message yet.")
	}
	return &m, nil
}

// Answered reports whether a user message has an answer: a turn that ended
// with one (failed and interrupted turns do not count).
func (s *Store) Answered(ctx context.Context, userMsgID string) (bool, error) {
	var n int64
	err := s.conn(ctx).Model(&models.Turn{}).
		Where("user_message_id = ? AND status = ?", userMsgID, models.TurnDone).Count(&n).Error
	return n > 0, translate(err, "turns")
}

// UnfinishedTurns returns up to limit queued or running turns of a
// conversation in the order they are to be answered — by the message they
// answer, then by when they were queued: for the holder of its lock, the
// running ones were left by a holder that is gone, the queued ones wait their turn.
func (s *Store) UnfinishedTurns(ctx context.Context, convID string, limit int) ([]models.Turn, error) {
	var ts []models.Turn
	err := s.conn(ctx).Where("conversation_id = ? AND "+unfinishedTurn, convID).
		Order("user_message_id, id").Limit(limit).Find(&ts).Error
	return ts, translate(err, "turns")
}

// ConversationsWithUnfinishedTurns lists (up to limit, by id, after after;
// "": from the first) conversations that have a queued or running turn, for
// recovery at start-up.
func (s *Store) ConversationsWithUnfinishedTurns(ctx context.Context, after string, limit int) ([]string, error) {
	var ids []string
	err := s.conn(ctx).Model(&models.Turn{}).Distinct("conversation_id").
		Where(unfinishedTurn).Where("conversation_id > ?", after).Order("conversation_id").Limit(limit).Pluck("conversation_id", &ids).Error
	return ids, translate(err, "turns")
}

// StartTurn marks a queued turn running, as of now, with what answers it.
// The mark is written lazily (see Store.lazy): lost in a database crash, the
// turn is queued again, and answered or closed by the next holder of the
// conversation's lock; the turn's end, written durably, carries it all.
func (s *Store) StartTurn(ctx context.Context, t *models.Turn) error {
	started, err := s.startTurn(ctx, t, func(q *gorm.DB) *gorm.DB { return q })
	if err == nil && !started {
		return models.Errorf(models.CodeConflict, "This turn is no longer waiting to run.")
	}
	return err
}

// startTurn marks queued turn t running, as of now, with what answers it, on
// the lazy pool, if the guarded update finds it; started says it did.
func (s *Store) startTurn(ctx context.Context, t *models.Turn, guard func(*gorm.DB) *gorm.DB) (started bool, err error) {
	now := s.now()
	res := guard(s.lazyConn(ctx).Model(&models.Turn{}).Where("id = ? AND status = ?", t.ID, models.TurnQueued)).
		Updates(map[string]any{"status": models.TurnRunning, "started_at": now, "updated_at": now, "bot_id": t.BotID,
			"bot_version_id": t.BotVersionID, "bot_version": t.BotVersion, "redactions": t.Redactions})
	if res.Error != nil {
		return false, translate(res.Error, "turn")
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	t.Status, t.StartedAt, t.UpdatedAt = models.TurnRunning, &now, now
	return true, nil
}

// ErrNotNext says StartNextTurn did not start the turn: another turn of the
// conversation is running or answers first (or the turn is not queued).
var ErrNotNext = errors.New("store: the turn is not the conversation's next")

// StartNextTurn is StartTurn for the holder of the conversation's lock when
// the turn is, as it usually is, the conversation's only unfinished one: it
// starts it only if no other turn is running and none is to be answered
// before it (UnfinishedTurns' order), in one statement; otherwise it writes
// nothing and returns ErrNotNext (the caller then reads the conversation's
// unfinished turns and answers them in order).
func (s *Store) StartNextTurn(ctx context.Context, t *models.Turn) error {
	um := models.Deref(t.UserMessageID)
	started, err := s.startTurn(ctx, t, func(q *gorm.DB) *gorm.DB {
		return q.Where(`NOT EXISTS (SELECT 1 FROM turns AS o WHERE o.conversation_id = ? AND o.id <> ? AND o.`+unfinishedTurn+`
	AND (o.status = ? OR o.user_message_id < ? OR (o.user_message_id = ? AND o.id < ?)))`,
			t.ConversationID, t.ID, models.TurnRunning, um, um, t.ID)
	})
	if err == nil && !started {
		return ErrNotNext
	}
	return err
}

// AddTurnMessage stores a message a running turn produced in one
// transaction with what it shows: for its context, the turn's records; for
// an ability's activity, call (the call's figures). The turn's held context,
// if any, is stored in the same statement, before it.
func (s *Store) AddTurnMessage(ctx context.Context, t *models.Turn, m models.Message, call *models.TurnCall) (*models.Message, error) {
	if m.Type == models.MessageContext && t.HeldContext == nil {
		m.ID = models.NewID()
		t.HeldContext = &m
		err := s.tx(ctx, func(tx *gorm.DB) error { _, err := s.insertTurnMessages(tx, t, nil); return err })
		t.HeldContext = nil
		if err != nil {
			return nil, err
		}
		return &m, nil
	}
	var out *models.Message
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if out, err = s.insertTurnMessages(tx, t, &m); err != nil {
			return err
		}
		if call != nil {
			call.TurnID, call.MessageID = t.ID, out.ID
			if err := tx.Omit(clause.Associations).Create(call).Error; err != nil {
				return translate(err, "ability call")
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.HeldContext = nil
	return out, nil
}

// turnMessages returns, validated, the messages a turn's write stores: its
// held context (with the id and time it was made with) and m (given a new
// id; nil: the held context alone).
func turnMessages(t *models.Turn, m *models.Message) ([]models.Message, error) {
	turnID := t.ID
	var rows []models.Message
	if held := t.HeldContext; held != nil {
		held.ConversationID, held.TurnID, held.Type = t.ConversationID, &turnID, models.MessageContext
		rows = append(rows, *held)
	}
	if m != nil {
		m.ID, m.ConversationID, m.TurnID = models.NewID(), t.ConversationID, &turnID
		rows = append(rows, *m)
	}
	for i := range rows {
		if rows[i].Meta == nil {
			rows[i].Meta = models.Meta{}
		}
		if err := rows[i].Validate(); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// insertTurnMessages stores, in one INSERT, the turn's held context (with
// the id and time it was made with; then the turn's records, and
// t.ContextMessageID to write with the turn's figures) and m (a new id; nil:
// the held context alone), and returns m as stored.
func (s *Store) insertTurnMessages(tx *gorm.DB, t *models.Turn, m *models.Message) (*models.Message, error) {
	turnID := t.ID
	held := t.HeldContext
	rows, err := turnMessages(t, m)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	if err := tx.Create(&rows).Error; err != nil {
		return nil, translate(err, "message")
	}
	if held != nil {
		*held = rows[0]
		for i := range t.Records {
			t.Records[i].TurnID, t.Records[i].Rank = turnID, i+1
		}
		if len(t.Records) > 0 {
			if err := tx.Omit(clause.Associations).Create(&t.Records).Error; err != nil {
				return nil, translate(err, "turn records")
			}
		}
		t.ContextMessageID = &held.ID
	}
	if m == nil {
		return nil, nil
	}
	out := rows[len(rows)-1]
	return &out, nil
}

// FinishTurn ends a turn: it stores its held context (with the records), the
// closing message (the bot's answer for a done turn, the activity entry of a
// failed or interrupted one) and the turn's figures in one transaction.
func (s *Store) FinishTurn(ctx context.Context, t *models.Turn, closing models.Message) (*models.Message, error) {
	if s.dialect == Postgres {
		return s.finishTurnPostgres(ctx, t, closing)
	}
	var out *models.Message
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = s.finishTurn(tx, t, closing)
		return err
	})
	if err != nil {
		return nil, err
	}
	t.HeldContext = nil
	return out, nil
}

func (s *Store) finishTurn(tx *gorm.DB, t *models.Turn, closing models.Message) (*models.Message, error) {
	out, err := s.insertTurnMessages(tx, t, &closing)
	if err != nil {
		return nil, err
	}
	closeTurn(t, out, s.now())
	if err := tx.Model(t).Select("*").Omit("id", "created_at", clause.Associations).Updates(t).Error; err != nil {
		return nil, translate(err, "turn")
	}
	return out, nil
}

// closeTurn records on t that it ended now with message out (its answer, or
// the activity entry of a failed or interrupted turn).
func closeTurn(t *models.Turn, out *models.Message, now time.Time) {
	t.FinishedAt, t.UpdatedAt = &now, now
	if out.Type == models.MessageBot {
		t.BotMessageID = &out.ID
	} else {
		t.ErrorMessageID = &out.ID
	}
	if t.StartedAt == nil {
		t.StartedAt = &now
	}
}

// finishTurnPostgres is FinishTurn on PostgreSQL in one statement (one round
// trip, one implicit transaction): the held context and the closing message,
// the turn's records and its figures, as data-modifying parts of one UPDATE.
// (The foreign keys are checked at the statement's end, when the messages
// the turn names are there.)
func (s *Store) finishTurnPostgres(ctx context.Context, t *models.Turn, closing models.Message) (*models.Message, error) {
	turnID := t.ID
	now := s.now()
	held := t.HeldContext
	closing.CreatedAt, closing.UpdatedAt = now, now
	rows, err := turnMessages(t, &closing)
	if err != nil {
		return nil, err
	}
	var sql strings.Builder
	var args []any
	sql.WriteString("WITH m AS (INSERT INTO messages (id, conversation_id, type, text, meta, turn_id, external_id, created_at, updated_at) VALUES ")
	for i := range rows {
		r := &rows[i]
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		if r.UpdatedAt.IsZero() {
			r.UpdatedAt = r.CreatedAt
		}
		meta, err := r.Meta.Value()
		if err != nil {
			return nil, models.FieldError("meta", "The meta could not be stored as JSON.")
		}
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, r.ID, r.ConversationID, r.Type, r.Text, meta, r.TurnID, r.ExternalID, r.CreatedAt, r.UpdatedAt)
	}
	sql.WriteString(")")
	if held != nil && len(t.Records) > 0 {
		sql.WriteString(", r AS (INSERT INTO turn_records (turn_id, rank, record_id, dataset_id, source, score, keyword_score, vector_score, fused_score, rerank_score) VALUES ")
		for i := range t.Records {
			r := &t.Records[i]
			r.TurnID, r.Rank = turnID, i+1
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, r.TurnID, r.Rank, r.RecordID, r.DatasetID, r.Source, r.Score, r.KeywordScore, r.VectorScore, r.FusedScore, r.RerankScore)
		}
		sql.WriteString(")")
	}
	out := rows[len(rows)-1]
	if held != nil {
		t.ContextMessageID = &rows[0].ID
	}
	closeTurn(t, &out, now)
	sql.WriteString(` UPDATE turns SET conversation_id = ?, user_message_id = ?, bot_message_id = ?, context_message_id = ?, error_message_id = ?,
	status = ?, retry = ?, bot_id = ?, bot_version_id = ?, bot_version = ?, provider = ?, model = ?, queued_at = ?, started_at = ?,
	first_token_at = ?, finished_at = ?, latency_ms = ?, ttft_ms = ?, input_tokens = ?, output_tokens = ?, end_reason = ?, tool_rounds = ?,
	error_stage = ?, error = ?, redactions = ?, moderated = ?, prompt = ?, updated_at = ?, retrieval = ?, retrieval_note = ? WHERE id = ?`)
	args = append(args, t.ConversationID, t.UserMessageID, t.BotMessageID, t.ContextMessageID, t.ErrorMessageID,
		t.Status, t.Retry, t.BotID, t.BotVersionID, t.BotVersion, t.Provider, t.Model, t.QueuedAt, t.StartedAt,
		t.FirstTokenAt, t.FinishedAt, t.LatencyMs, t.TTFTMs, t.InputTokens, t.OutputTokens, t.EndReason, t.ToolRounds,
		t.ErrorStage, t.Error, t.Redactions, t.Moderated, t.Prompt, t.UpdatedAt, t.Retrieval, t.RetrievalNote, t.ID)
	if err := s.conn(ctx).Exec(sql.String(), args...).Error; err != nil {
		return nil, translate(err, "turn")
	}
	if held != nil {
		*held = rows[0]
	}
	t.HeldContext = nil
	return &out, nil
}

// InterruptTurns ends the given unfinished turns of a conversation with an
// activity entry that says the answer was interrupted, and returns the
// entries. Only the holder of the conversation's lock may call it: it is how
// a turn left by a process that stopped is closed.
func (s *Store) InterruptTurns(ctx context.Context, turns []models.Turn, why string) ([]models.Message, error) {
	var out []models.Message
	err := s.tx(ctx, func(tx *gorm.DB) error {
		for i := range turns {
			t := turns[i]
			res := tx.Model(&models.Turn{}).Where("id = ? AND status IN ?", t.ID, []string{models.TurnQueued, models.TurnRunning}).
				Update("status", models.TurnInterrupted)
			if res.Error != nil {
				return translate(res.Error, "turn")
			}
			if res.RowsAffected == 0 {
				continue // finished meanwhile
			}
			t.Status, t.EndReason, t.ErrorStage, t.Error = models.TurnInterrupted, models.EndInterrupted, "interrupted", why
			m, err := s.finishTurn(tx, &t, models.Message{Type: models.MessageActivity, Text: "The answer was interrupted: " + why})
			if err != nil {
				return err
			}
			out = append(out, *m)
		}
		return nil
	})
	return out, err
}

// FindTurn returns one turn with its records and ability calls.
func (s *Store) FindTurn(ctx context.Context, id string) (*models.Turn, error) {
	if !models.ValidID(id) {
		return nil, notFound("turn")
	}
	var t models.Turn
	err := s.conn(ctx).Preload("Records", func(db *gorm.DB) *gorm.DB { return db.Order("rank") }).
		Preload("Calls", func(db *gorm.DB) *gorm.DB { return db.Order("seq") }).First(&t, "id = ?", id).Error
	if err != nil {
		return nil, translate(err, "turn")
	}
	return &t, nil
}

// FindTurnPrompt returns the kept prompt of a conversation's turn (nil when none was kept).
func (s *Store) FindTurnPrompt(ctx context.Context, convID, turnID string) ([]byte, error) {
	if !models.ValidID(turnID) || !models.ValidID(convID) {
		return nil, notFound("turn")
	}
	var t models.Turn
	if err := s.conn(ctx).Select("id", "prompt").First(&t, "id = ? AND conversation_id = ?", turnID, convID).Error; err != nil {
		return nil, translate(err, "turn")
	}
	return t.Prompt, nil
}

// FindTurns returns the turns with these ids (with records and calls, without
// the kept prompt), by id.
func (s *Store) FindTurns(ctx context.Context, ids []string) (map[string]*models.Turn, error) {
	out := map[string]*models.Turn{}
	if len(ids) == 0 {
		return out, nil
	}
	var ts []models.Turn
	err := s.conn(ctx).Preload("Records", func(db *gorm.DB) *gorm.DB { return db.Order("rank") }).
		Preload("Calls", func(db *gorm.DB) *gorm.DB { return db.Order("seq") }).Omit("prompt").Where("id IN ?", ids).Find(&ts).Error
	if err != nil {
		return nil, translate(err, "turns")
	}
	for i := range ts {
		out[ts[i].ID] = &ts[i]
	}
	return out, nil
}

// FindMessagesByID returns the conversation's messages with these ids, by id.
func (s *Store) FindMessagesByID(ctx context.Context, convID string, ids ...string) (map[string]*models.Message, error) {
	out := map[string]*models.Message{}
	var want []string
	for _, id := range ids {
		if models.ValidID(id) {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return out, nil
	}
	var ms []models.Message
	if err := s.conn(ctx).Where("conversation_id = ? AND id IN ?", convID, want).Find(&ms).Error; err != nil {
		return nil, translate(err, "messages")
	}
	for i := range ms {
		out[ms[i].ID] = &ms[i]
	}
	return out, nil
}

// FindRedactions returns how many personal data items were redacted in each
// of the conversation's user messages given, as the turns answering them
// recorded it; messages without redactions are left out.
func (s *Store) FindRedactions(ctx context.Context, convID string, userMsgIDs []string) (map[string]int, error) {
	out := map[string]int{}
	var ids []string
	for _, id := range userMsgIDs {
		if models.ValidID(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || !models.ValidID(convID) {
		return out, nil
	}
	var rows []struct {
		UserMessageID string
		N             int
	}
	err := s.conn(ctx).Model(&models.Turn{}).Select("user_message_id, MAX(redactions) AS n").
		Where("conversation_id = ? AND user_message_id IN ? AND redactions > 0", convID, ids).
		Group("user_message_id").Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "turns")
	}
	for _, r := range rows {
		out[r.UserMessageID] = r.N
	}
	return out, nil
}

// EarlierAnswer returns the answer an earlier turn gave to the same user
// message as turn t (a retry's predecessor), or nil.
func (s *Store) EarlierAnswer(ctx context.Context, t *models.Turn) (*models.Message, error) {
	if t.UserMessageID == nil {
		return nil, nil
	}
	var prev models.Turn
	err := s.conn(ctx).Select("id", "bot_message_id").Where("user_message_id = ? AND status = ? AND id < ? AND bot_message_id IS NOT NULL",
		*t.UserMessageID, models.TurnDone, t.ID).Order("id DESC").Limit(1).Find(&prev).Error
	if err != nil || prev.BotMessageID == nil {
		return nil, translate(err, "turn")
	}
	return s.FindMessage(ctx, t.ConversationID, *prev.BotMessageID)
}
