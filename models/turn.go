package models

import "time"

// Turn statuses: queued when its user message is accepted, running while the
// bot answers, then done (an answer), failed (an error entry instead) or
// interrupted (the server stopped mid-turn; an activity entry says so).
const (
	TurnQueued      = "queued"
	TurnRunning     = "running"
	TurnDone        = "done"
	TurnFailed      = "failed"
	TurnInterrupted = "interrupted"
)

// End reasons of a turn, as the API reports them (ChatBotKit's end.reason
// where one exists).
const (
	EndStop        = "stop"
	EndLength      = "length"
	EndToolLimit   = "tool_limit"
	EndError       = "error"
	EndInterrupted = "interrupted"
	EndModerated   = "moderated"
)

// Turn is one answer of the bot and everything that explains it: which user
// message it answered, with which provider, model and bot version, how long it
// took, how many tokens it used, how it ended, the records it was given and
// the abilities it ran. It is written with the messages it produced, in the
// same transaction, so the timeline, the API, analytics and replays read the
// same typed figures.
type Turn struct {
	ID             string `json:"id" gorm:"primaryKey;size:36"`
	ConversationID string `json:"conversationId" gorm:"size:36;not null"`
	// UserMessageID is the message answered (nil for a stateless completion).
	UserMessageID    *string `json:"userMessageId,omitempty" gorm:"size:36"`
	BotMessageID     *string `json:"botMessageId,omitempty" gorm:"size:36"`
	ContextMessageID *string `json:"contextMessageId,omitempty" gorm:"size:36"`
	// ErrorMessageID is the activity entry of a failed or interrupted turn.
	ErrorMessageID *string `json:"errorMessageId,omitempty" gorm:"size:36"`
	Status         string  `json:"status" gorm:"size:20;not null"`
	// Retry: the user message had been answered before (Retry last turn).
	Retry bool `json:"retry" gorm:"not null"`
	// BotID and BotVersion name the configuration that answered (nil for an
	// inline configuration).
	BotID        *string `json:"botId,omitempty" gorm:"size:36"`
	BotVersionID *string `json:"botVersionId,omitempty" gorm:"size:36"`
	BotVersion   int     `json:"botVersion,omitempty" gorm:"not null"`
	Provider     string  `json:"provider" gorm:"size:200;not null"`
	Model        string  `json:"model" gorm:"size:200;not null"`
	// QueuedAt is when the user message was accepted; StartedAt when the bot
	// began answering (after earlier turns of the conversation).
	QueuedAt     time.Time  `json:"queuedAt" gorm:"not null"`
	StartedAt    *time.Time `json:"startedAt,omitempty"`
	FirstTokenAt *time.Time `json:"firstTokenAt,omitempty"`
	FinishedAt   *time.Time `json:"finishedAt,omitempty"`
	// LatencyMs is from the start of answering to the stored answer; TTFTMs to
	// the first token streamed (nil when nothing streamed).
	LatencyMs    int64  `json:"latencyMs" gorm:"not null"`
	TTFTMs       *int64 `json:"ttftMs,omitempty" gorm:"column:ttft_ms"`
	InputTokens  int64  `json:"inputTokens" gorm:"not null"`
	OutputTokens int64  `json:"outputTokens" gorm:"not null"`
	EndReason    string `json:"endReason" gorm:"size:20;not null"`
	ToolRounds   int    `json:"toolRounds" gorm:"not null"`
	// ErrorStage (retrieval, abilities, model, …) and Error say why a turn failed.
	ErrorStage string `json:"errorStage,omitempty" gorm:"size:20;not null"`
	Error      string `json:"error,omitempty" gorm:"type:text;not null"`
	// Redactions counts the personal data items replaced in the user's
	// message (privacy on); Moderated says the message was refused.
	Redactions int  `json:"redactions" gorm:"not null"`
	Moderated  bool `json:"moderated" gorm:"not null"`
	// Retrieval says how the records were found (models.RetrievalKeyword,
	// RetrievalHybrid, RetrievalFallback; "" when no dataset was searched)
	// and RetrievalNote why a search fell back to keywords.
	Retrieval     string `json:"retrieval,omitempty" gorm:"size:20;not null"`
	RetrievalNote string `json:"retrievalNote,omitempty" gorm:"type:text;not null"`
	// Prompt is what the model received, compressed (see TurnPrompt).
	Prompt    []byte       `json:"-"`
	CreatedAt time.Time    `json:"createdAt"`
	UpdatedAt time.Time    `json:"updatedAt"`
	Records   []TurnRecord `json:"records" gorm:"foreignKey:TurnID"`
	// HeldContext is the turn's context message from retrieval until the
	// turn's next write stores it (with its records) in the same transaction;
	// never a column.
	HeldContext *Message   `json:"-" gorm:"-"`
	Calls       []TurnCall `json:"calls" gorm:"foreignKey:TurnID"`
}

// Finished reports whether the turn has ended, one way or another.
func (t *Turn) Finished() bool {
	return t.Status == TurnDone || t.Status == TurnFailed || t.Status == TurnInterrupted
}

// TurnRecord is a dataset record a turn was given, with its retrieval score
// (0..1) and rank (1 = best).
type TurnRecord struct {
	TurnID    string  `json:"-" gorm:"primaryKey;size:36"`
	Rank      int     `json:"rank" gorm:"primaryKey;autoIncrement:false"`
	RecordID  string  `json:"recordId" gorm:"size:36;not null"`
	DatasetID string  `json:"datasetId" gorm:"size:36;not null"`
	Source    string  `json:"source" gorm:"type:text;not null"`
	Score     float64 `json:"score" gorm:"not null"`
	// KeywordScore, VectorScore, FusedScore and RerankScore are the scores
	// that placed the record (nil: that method did not find or score it).
	KeywordScore *float64 `json:"keywordScore,omitempty"`
	VectorScore  *float64 `json:"vectorScore,omitempty"`
	FusedScore   *float64 `json:"fusedScore,omitempty"`
	RerankScore  *float64 `json:"rerankScore,omitempty"`
}

// TurnCall is one ability a turn ran: its input and output, how long it
// took and its error, and the activity entry that shows it.
type TurnCall struct {
	TurnID     string `json:"-" gorm:"primaryKey;size:36"`
	Seq        int    `json:"seq" gorm:"primaryKey;autoIncrement:false"`
	MessageID  string `json:"messageId" gorm:"size:36;not null"`
	Ability    string `json:"ability" gorm:"size:200;not null"`
	CallID     string `json:"callId" gorm:"size:200;not null"`
	Input      string `json:"input" gorm:"type:text;not null"`
	Output     string `json:"output" gorm:"type:text;not null"`
	Error      string `json:"error,omitempty" gorm:"type:text;not null"`
	DurationMs int64  `json:"durationMs" gorm:"not null"`
}

// TurnPrompt is exactly what the model received in a turn, kept so a builder
// can see what produced an answer.
type TurnPrompt struct {
	Model    string          `json:"model"`
	Messages []PromptMessage `json:"messages"`
	Tools    []PromptTool    `json:"tools,omitempty"`
	// Truncated says the prompt was cut to fit what is kept.
	Truncated bool `json:"truncated,omitempty"`
}

// PromptMessage is one message of a prompt.
type PromptMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	Name    string `json:"name,omitempty"`
}

// PromptTool is an ability offered to the model.
type PromptTool struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Parameters  string `json:"parameters,omitempty"`
}
