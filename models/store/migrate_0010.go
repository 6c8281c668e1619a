package store

import (
	"time"

	"gorm.io/gorm"
)

// Migration 10 adds QA: test suites of a bot, their test cases (user messages
// with assertions per turn, kept as typed JSON), saved retrieval checks of
// datasets, runs with one result row per case or check (written as each
// finishes, so a stopped run resumes), and replays of conversations with
// their per-turn pairs. Conversations get a kind (chat, or the test and
// replay scratch conversations QA makes, which lists and analytics leave out
// by default) and a pinned configuration (a version's snapshot or a draft,
// answered with instead of the bot's latest version). The columns are added
// with plain ALTER TABLE statements, which both dialects read alike. Frozen
// copies of the structs as of migration 10. Do not edit: add a migration.

type m10Suite struct {
	ID          string    `gorm:"primaryKey;size:36"`
	BotID       string    `gorm:"size:36;not null;uniqueIndex:idx_test_suites_name,priority:1"`
	Name        string    `gorm:"size:200;not null;uniqueIndex:idx_test_suites_name,priority:2"`
	Description string    `gorm:"type:text;not null"`
	Gate        bool      `gorm:"not null"`
	CreatedAt   time.Time `gorm:"not null"`
	UpdatedAt   time.Time `gorm:"not null"`
	Bot         m1Bot     `gorm:"foreignKey:BotID;constraint:OnDelete:CASCADE"`
}

func (m10Suite) TableName() string { return "test_suites" }

type m10Case struct {
	ID                   string    `gorm:"primaryKey;size:36"`
	SuiteID              string    `gorm:"size:36;not null;uniqueIndex:idx_test_cases_name,priority:1"`
	Name                 string    `gorm:"size:200;not null;uniqueIndex:idx_test_cases_name,priority:2"`
	Description          string    `gorm:"type:text;not null"`
	Status               string    `gorm:"size:20;not null"`
	Turns                string    `gorm:"type:text;not null"`
	SourceConversationID *string   `gorm:"size:36"`
	CreatedBy            string    `gorm:"size:254;not null"`
	CreatedAt            time.Time `gorm:"not null"`
	UpdatedAt            time.Time `gorm:"not null"`
	Suite                m10Suite  `gorm:"foreignKey:SuiteID;constraint:OnDelete:CASCADE"`
}

func (m10Case) TableName() string { return "test_cases" }

type m10Check struct {
	ID        string    `gorm:"primaryKey;size:36"`
	SuiteID   string    `gorm:"size:36;not null;index:idx_retrieval_checks_suite"`
	DatasetID string    `gorm:"size:36;not null;index:idx_retrieval_checks_dataset"`
	Query     string    `gorm:"type:text;not null"`
	RecordID  string    `gorm:"size:36;not null"`
	TopK      int       `gorm:"not null"`
	MinScore  float64   `gorm:"not null"`
	Source    string    `gorm:"size:2000;not null"`
	CreatedAt time.Time `gorm:"not null"`
	Suite     m10Suite  `gorm:"foreignKey:SuiteID;constraint:OnDelete:CASCADE"`
	Dataset   m1Dataset `gorm:"foreignKey:DatasetID;constraint:OnDelete:CASCADE"`
}

func (m10Check) TableName() string { return "retrieval_checks" }

type m10Run struct {
	ID              string    `gorm:"primaryKey;size:36;index:idx_test_runs_suite,priority:2"`
	SuiteID         string    `gorm:"size:36;not null;index:idx_test_runs_suite,priority:1"`
	BotID           string    `gorm:"size:36;not null"`
	Target          string    `gorm:"size:20;not null"`
	Version         int       `gorm:"not null"`
	Pinned          *string   `gorm:"type:text"`
	Status          string    `gorm:"size:20;not null;index:idx_test_runs_status"`
	Total           int       `gorm:"not null"`
	Done            int       `gorm:"not null"`
	Passed          int       `gorm:"not null"`
	Failed          int       `gorm:"not null"`
	Errored         int       `gorm:"not null"`
	Resumed         int       `gorm:"not null"`
	CancelRequested bool      `gorm:"not null"`
	Error           string    `gorm:"type:text;not null"`
	StartedBy       string    `gorm:"size:254;not null"`
	CreatedAt       time.Time `gorm:"not null"`
	StartedAt       *time.Time
	FinishedAt      *time.Time
	Suite           m10Suite `gorm:"foreignKey:SuiteID;constraint:OnDelete:CASCADE"`
}

func (m10Run) TableName() string { return "test_runs" }

type m10Result struct {
	ID             string    `gorm:"primaryKey;size:36"`
	RunID          string    `gorm:"size:36;not null;uniqueIndex:idx_test_results_seq,priority:1"`
	Seq            int       `gorm:"not null;uniqueIndex:idx_test_results_seq,priority:2"`
	CaseID         *string   `gorm:"size:36;index:idx_test_results_case"`
	CheckID        *string   `gorm:"size:36"`
	Name           string    `gorm:"size:200;not null"`
	Status         string    `gorm:"size:20;not null"`
	Message        string    `gorm:"type:text;not null"`
	ConversationID *string   `gorm:"size:36"`
	DurationMs     int64     `gorm:"not null"`
	Assertions     string    `gorm:"type:text;not null"`
	CreatedAt      time.Time `gorm:"not null"`
	UpdatedAt      time.Time `gorm:"not null"`
	Run            m10Run    `gorm:"foreignKey:RunID;constraint:OnDelete:CASCADE"`
}

func (m10Result) TableName() string { return "test_results" }

type m10Replay struct {
	ID                   string         `gorm:"primaryKey;size:36;index:idx_replays_source,priority:2"`
	SourceConversationID string         `gorm:"size:36;not null;index:idx_replays_source,priority:1"`
	ConversationID       *string        `gorm:"size:36"`
	BotID                string         `gorm:"size:36;not null"`
	Target               string         `gorm:"size:20;not null"`
	Version              int            `gorm:"not null"`
	Pinned               *string        `gorm:"type:text"`
	Status               string         `gorm:"size:20;not null;index:idx_replays_status"`
	Total                int            `gorm:"not null"`
	Done                 int            `gorm:"not null"`
	Changed              int            `gorm:"not null"`
	Error                string         `gorm:"type:text;not null"`
	StartedBy            string         `gorm:"size:254;not null"`
	CreatedAt            time.Time      `gorm:"not null"`
	FinishedAt           *time.Time     ``
	Source               m1Conversation `gorm:"foreignKey:SourceConversationID;constraint:OnDelete:CASCADE"`
}

func (m10Replay) TableName() string { return "replays" }

type m10ReplayTurn struct {
	ReplayID       string    `gorm:"primaryKey;size:36"`
	Seq            int       `gorm:"primaryKey;autoIncrement:false"`
	UserMessageID  string    `gorm:"size:36;not null"`
	Text           string    `gorm:"type:text;not null"`
	OriginalTurnID *string   `gorm:"size:36"`
	NewTurnID      *string   `gorm:"size:36"`
	TextChanged    bool      `gorm:"not null"`
	RecordsChanged bool      `gorm:"not null"`
	CallsChanged   bool      `gorm:"not null"`
	Replay         m10Replay `gorm:"foreignKey:ReplayID;constraint:OnDelete:CASCADE"`
}

func (m10ReplayTurn) TableName() string { return "replay_turns" }

func migrate0010(tx *gorm.DB) error {
	for _, q := range []string{
		"ALTER TABLE conversations ADD COLUMN kind VARCHAR(20) NOT NULL DEFAULT 'chat'",
		"ALTER TABLE conversations ADD COLUMN pinned TEXT",
		"CREATE INDEX idx_conversations_kind ON conversations (kind, id)",
	} {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return tx.Migrator().CreateTable(&m10Suite{}, &m10Case{}, &m10Check{}, &m10Run{}, &m10Result{}, &m10Replay{}, &m10ReplayTurn{})
}
