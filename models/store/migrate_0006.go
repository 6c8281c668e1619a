package store

import (
	"encoding/json"
	"time"

	"gorm.io/gorm"

	"parley/models"
)

// Migration 6 types what a turn did: a turns table (one row per answer, with
// its figures), the records each turn was given and the abilities it ran, and
// on messages the turn that produced them and an external id (an idempotency
// key, unique per conversation) for user messages. What earlier versions kept
// in bot, context and activity meta is moved into these tables. Frozen copies
// of the structs as of migration 6. Do not edit: add a migration.

type m6Turn struct {
	ID               string    `gorm:"primaryKey;size:36"`
	ConversationID   string    `gorm:"size:36;not null;index:idx_turns_conversation,priority:1"`
	UserMessageID    *string   `gorm:"size:36;index:idx_turns_user_message"`
	BotMessageID     *string   `gorm:"size:36;index:idx_turns_bot_message"`
	ContextMessageID *string   `gorm:"size:36"`
	ErrorMessageID   *string   `gorm:"size:36"`
	Status           string    `gorm:"size:20;not null;index:idx_turns_conversation,priority:2;index:idx_turns_status"`
	Retry            bool      `gorm:"not null"`
	BotID            *string   `gorm:"size:36;index:idx_turns_bot"`
	BotVersionID     *string   `gorm:"size:36"`
	BotVersion       int       `gorm:"not null"`
	Provider         string    `gorm:"size:200;not null"`
	Model            string    `gorm:"size:200;not null"`
	QueuedAt         time.Time `gorm:"not null"`
	StartedAt        *time.Time
	FirstTokenAt     *time.Time
	FinishedAt       *time.Time
	LatencyMs        int64          `gorm:"not null"`
	TTFTMs           *int64         `gorm:"column:ttft_ms"`
	InputTokens      int64          `gorm:"not null"`
	OutputTokens     int64          `gorm:"not null"`
	EndReason        string         `gorm:"size:20;not null"`
	ToolRounds       int            `gorm:"not null"`
	ErrorStage       string         `gorm:"size:20;not null"`
	Error            string         `gorm:"type:text;not null"`
	Redactions       int            `gorm:"not null"`
	Moderated        bool           `gorm:"not null"`
	Prompt           []byte         ``
	CreatedAt        time.Time      `gorm:"not null;index:idx_turns_created"`
	UpdatedAt        time.Time      `gorm:"not null"`
	Conversation     m1Conversation `gorm:"foreignKey:ConversationID;constraint:OnDelete:CASCADE"`
}

func (m6Turn) TableName() string { return "turns" }

type m6TurnRecord struct {
	TurnID    string  `gorm:"primaryKey;size:36"`
	Rank      int     `gorm:"primaryKey;autoIncrement:false"`
	RecordID  string  `gorm:"size:36;not null;index:idx_turn_records_record"`
	DatasetID string  `gorm:"size:36;not null"`
	Source    string  `gorm:"type:text;not null"`
	Score     float64 `gorm:"not null"`
	Turn      m6Turn  `gorm:"foreignKey:TurnID;constraint:OnDelete:CASCADE"`
}

func (m6TurnRecord) TableName() string { return "turn_records" }

type m6TurnCall struct {
	TurnID     string `gorm:"primaryKey;size:36"`
	Seq        int    `gorm:"primaryKey;autoIncrement:false"`
	MessageID  string `gorm:"size:36;not null;index:idx_turn_calls_message"`
	Ability    string `gorm:"size:200;not null"`
	CallID     string `gorm:"size:200;not null"`
	Input      string `gorm:"type:text;not null"`
	Output     string `gorm:"type:text;not null"`
	Error      string `gorm:"type:text;not null"`
	DurationMs int64  `gorm:"not null"`
	Turn       m6Turn `gorm:"foreignKey:TurnID;constraint:OnDelete:CASCADE"`
}

func (m6TurnCall) TableName() string { return "turn_calls" }

type m6Rating struct {
	ID             string         `gorm:"primaryKey;size:36"`
	ConversationID string         `gorm:"size:36;not null;uniqueIndex:idx_ratings_rater,priority:1"`
	MessageID      string         `gorm:"size:36;not null;uniqueIndex:idx_ratings_rater,priority:2"`
	Rater          string         `gorm:"size:100;not null;uniqueIndex:idx_ratings_rater,priority:3;index:idx_ratings_by"`
	RaterKind      string         `gorm:"size:20;not null"`
	RaterName      string         `gorm:"size:254;not null"`
	Value          float64        `gorm:"not null"`
	Reason         string         `gorm:"size:500;not null"`
	CreatedAt      time.Time      `gorm:"not null"`
	UpdatedAt      time.Time      `gorm:"not null"`
	Conversation   m1Conversation `gorm:"foreignKey:ConversationID;constraint:OnDelete:CASCADE"`
}

func (m6Rating) TableName() string { return "ratings" }

// m6Message is the messages table's new columns.
type m6Message struct {
	ID         string  `gorm:"primaryKey;size:36"`
	TurnID     *string `gorm:"size:36"`
	ExternalID *string `gorm:"size:200"`
}

func (m6Message) TableName() string { return "messages" }

func migrate0006(tx *gorm.DB) error {
	if err := tx.Migrator().CreateTable(&m6Turn{}, &m6TurnRecord{}, &m6TurnCall{}, &m6Rating{}); err != nil {
		return err
	}
	for _, col := range []string{"TurnID", "ExternalID"} {
		if err := tx.Migrator().AddColumn(&m6Message{}, col); err != nil {
			return err
		}
	}
	for _, q := range []string{
		"CREATE INDEX idx_messages_turn ON messages (turn_id)",
		"CREATE UNIQUE INDEX idx_messages_external ON messages (conversation_id, external_id)",
	} {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	if err := migrate0006Data(tx); err != nil {
		return err
	}
	var convs []m6Conv
	if err := tx.Where("CAST(meta AS TEXT) LIKE ?", "%rating%").Find(&convs).Error; err != nil {
		return err
	}
	for _, c := range convs {
		meta, moved, err := m6Ratings(tx, c.ID, "", c.Meta, time.Now().UTC())
		if err != nil {
			return err
		}
		if moved {
			if err := tx.Table("conversations").Where("id = ?", c.ID).Update("meta", meta).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// m6Conv is a conversation as migration 6 reads it.
type m6Conv struct {
	ID   string
	Meta models.Meta
}

func (m6Conv) TableName() string { return "conversations" }

// m6Ratings moves the single "rating" meta key of messages and
// conversations into ratings, one per rater.
func m6Ratings(tx *gorm.DB, convID, msgID string, meta models.Meta, at time.Time) (models.Meta, bool, error) {
	r, ok := meta["rating"].(map[string]any)
	if !ok {
		return meta, false, nil
	}
	v, _ := models.Meta(r).Number("value")
	by, _ := r["by"].(string)
	reason, _ := r["reason"].(string)
	kind, key := models.RaterOperator, "legacy:"+by
	switch {
	case len(by) > 4 && by[:4] == "api:":
		kind = models.RaterAPI
	case len(by) > 8 && by[:8] == "session:":
		kind = models.RaterEndUser
	}
	if v != 0 {
		row := m6Rating{ID: models.NewID(), ConversationID: convID, MessageID: msgID, Rater: key, RaterKind: kind,
			RaterName: models.TruncateUTF8(by, 254), Value: v, Reason: models.TruncateUTF8(reason, 500), CreatedAt: at, UpdatedAt: at}
		if err := tx.Omit("Conversation").Create(&row).Error; err != nil {
			return meta, false, err
		}
	}
	out := models.Meta{}
	for k, val := range meta {
		if k != "rating" {
			out[k] = val
		}
	}
	return out, true, nil
}

// m6Msg is a message as migration 6 reads it.
type m6Msg struct {
	ID             string
	ConversationID string
	Type           string
	Text           string
	Meta           models.Meta
	CreatedAt      time.Time
}

func (m6Msg) TableName() string { return "messages" }

// m6Keys are the meta keys earlier versions wrote on a turn's messages; they
// move into the turn tables.
var m6Keys = map[string][]string{
	models.MessageBot:      {"provider", "model", "latencyMs", "inputTokens", "outputTokens", "finishReason", "toolRounds", "records", "config", "contextMessageId"},
	models.MessageContext:  {"query", "records"},
	models.MessageActivity: {"ability", "callId", "input", "output", "durationMs", "error", "stage"},
}

// migrate0006Data turns what earlier turns left in meta into turn rows: per
// conversation, messages are read in order; a bot message written by the
// engine (it has a provider) closes a done turn, an activity with a stage a
// failed one; context and ability activities before it belong to it.
func migrate0006Data(tx *gorm.DB) error {
	const batch = 500
	var (
		after string
		conv  string
		cur   *m6Pending
	)
	for {
		var msgs []m6Msg
		q := tx.Order("conversation_id, id").Limit(batch)
		if after != "" {
			q = q.Where("(conversation_id > ?) OR (conversation_id = ? AND id > ?)", conv, conv, after)
		}
		if err := q.Find(&msgs).Error; err != nil {
			return err
		}
		for _, m := range msgs {
			if m.ConversationID != conv || cur == nil {
				cur = &m6Pending{}
			}
			conv, after = m.ConversationID, m.ID
			meta, moved, err := m6Ratings(tx, m.ConversationID, m.ID, m.Meta, m.CreatedAt)
			if err != nil {
				return err
			}
			if moved {
				m.Meta = meta
				if err := tx.Table("messages").Where("id = ?", m.ID).Update("meta", meta).Error; err != nil {
					return err
				}
			}
			if err := cur.add(tx, m); err != nil {
				return err
			}
		}
		if len(msgs) < batch {
			return nil
		}
	}
}

// m6Pending is the turn being put together while reading a conversation.
type m6Pending struct {
	user    *m6Msg
	context *m6Msg
	calls   []m6Msg
}

func (p *m6Pending) add(tx *gorm.DB, m m6Msg) error {
	switch m.Type {
	case models.MessageUser:
		u := m
		p.user, p.context, p.calls = &u, nil, nil
	case models.MessageContext:
		if _, ok := m.Meta["records"]; ok {
			c := m
			p.context = &c
		}
	case models.MessageActivity:
		switch {
		case m.Meta["ability"] != nil:
			p.calls = append(p.calls, m)
		case m.Meta["stage"] != nil:
			return p.flush(tx, m, models.TurnFailed)
		}
	case models.MessageBot:
		if _, ok := m.Meta["provider"]; ok {
			return p.flush(tx, m, models.TurnDone)
		}
	}
	return nil
}

// flush writes the turn that end closes and clears what it used.
func (p *m6Pending) flush(tx *gorm.DB, end m6Msg, status string) error {
	meta := end.Meta
	t := m6Turn{
		ID: models.NewID(), ConversationID: end.ConversationID, Status: status,
		QueuedAt: end.CreatedAt, StartedAt: &end.CreatedAt, FinishedAt: &end.CreatedAt,
		CreatedAt: end.CreatedAt, UpdatedAt: end.CreatedAt,
	}
	if p.user != nil {
		t.UserMessageID = &p.user.ID
		t.QueuedAt, t.StartedAt = p.user.CreatedAt, &p.user.CreatedAt
	}
	num := func(k string) int64 { n, _ := meta.Number(k); return int64(n) }
	str := func(k string) string { s, _ := meta[k].(string); return s }
	if status == models.TurnDone {
		t.BotMessageID = &end.ID
		t.Provider, t.Model = str("provider"), str("model")
		t.LatencyMs, t.InputTokens, t.OutputTokens = num("latencyMs"), num("inputTokens"), num("outputTokens")
		t.ToolRounds = int(num("toolRounds"))
		t.EndReason = str("finishReason")
		if t.EndReason == "" {
			t.EndReason = models.EndStop
		}
		if cfg, ok := meta["config"].(map[string]any); ok {
			if id, ok := cfg["botId"].(string); ok && models.ValidID(id) {
				t.BotID = &id
			}
		}
	} else {
		t.ErrorMessageID = &end.ID
		t.ErrorStage, t.Error, t.EndReason = str("stage"), str("error"), models.EndError
	}
	var recs []m6TurnRecord
	recordsOf := meta["records"]
	if p.context != nil {
		t.ContextMessageID = &p.context.ID
		recordsOf = p.context.Meta["records"]
	}
	if list, ok := recordsOf.([]any); ok {
		for i, r := range list {
			rm, ok := r.(map[string]any)
			if !ok {
				continue
			}
			rec := m6TurnRecord{TurnID: t.ID, Rank: i + 1}
			rec.RecordID, _ = rm["id"].(string)
			rec.DatasetID, _ = rm["datasetId"].(string)
			rec.Source, _ = rm["source"].(string)
			rec.Score, _ = rm["score"].(float64)
			recs = append(recs, rec)
		}
	}
	var calls []m6TurnCall
	for i, c := range p.calls {
		cm := models.Meta(c.Meta)
		call := m6TurnCall{TurnID: t.ID, Seq: i + 1, MessageID: c.ID}
		call.Ability, _ = cm["ability"].(string)
		call.CallID, _ = cm["callId"].(string)
		call.Input = m6String(cm["input"])
		call.Output = m6String(cm["output"])
		call.Error = m6String(cm["error"])
		d, _ := cm.Number("durationMs")
		call.DurationMs = int64(d)
		calls = append(calls, call)
	}
	if err := tx.Omit("Conversation").Create(&t).Error; err != nil {
		return err
	}
	if len(recs) > 0 {
		if err := tx.Omit("Turn").Create(&recs).Error; err != nil {
			return err
		}
	}
	if len(calls) > 0 {
		if err := tx.Omit("Turn").Create(&calls).Error; err != nil {
			return err
		}
	}
	owned := []m6Msg{end}
	if p.context != nil {
		owned = append(owned, *p.context)
	}
	owned = append(owned, p.calls...)
	for _, m := range owned {
		meta := models.Meta{}
		for k, v := range m.Meta {
			meta[k] = v
		}
		for _, k := range m6Keys[m.Type] {
			delete(meta, k)
		}
		if err := tx.Table("messages").Where("id = ?", m.ID).Updates(map[string]any{"turn_id": t.ID, "meta": meta}).Error; err != nil {
			return err
		}
	}
	p.context, p.calls = nil, nil
	return nil
}

func m6String(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}
