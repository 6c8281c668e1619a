package models

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Conversation kinds: real conversations, and the test data QA makes, which
// analytics and transcript lists leave out by default.
const (
	ConversationChat   = "chat"   // apps, channels, the workbench
	ConversationTest   = "test"   // a QA run's scratch conversation
	ConversationReplay = "replay" // a replay's scratch copy
)

// IsTest reports whether a conversation is test data (made by a run or a replay).
func (c Conversation) IsTest() bool {
	return c.Kind == ConversationTest || c.Kind == ConversationReplay
}

// PinnedConfig is the configuration a conversation answers with instead of
// its bot's latest version: a chosen version's snapshot, or (VersionID empty)
// an unsaved draft. QA runs and replays pin their scratch conversations, so a
// run is repeatable and a draft can be tried without saving it.
type PinnedConfig struct {
	// VersionID and Version name the bot version (empty and 0 for a draft).
	VersionID string      `json:"versionId,omitempty"`
	Version   int         `json:"version,omitempty"`
	Snapshot  BotSnapshot `json:"snapshot"`
}

// Draft reports whether the pinned configuration is an unsaved draft.
func (p *PinnedConfig) Draft() bool { return p != nil && p.VersionID == "" }

// Targets a run or a replay answers with.
const (
	TargetCurrent = "current" // the bot's latest version when it starts
	TargetVersion = "version" // a chosen version
	TargetDraft   = "draft"   // an unsaved draft of the backstory and settings
)

// Bounds of QA data, so no page or run loads unbounded rows.
const (
	MaxCaseTurns     = 50   // user messages in one case
	MaxTurnAsserts   = 20   // assertions on one turn
	MaxSuiteItems    = 5000 // cases and checks one run runs
	MaxReplayTurns   = 200  // user messages one replay sends
	MaxSuitesListed  = 200  // suites a picker offers
	MaxChecksPerPage = 100  // retrieval checks shown on a page
)

// TestSuite is a bot's regression suite: test cases and saved retrieval
// checks, run together against a configuration of the bot. Gate: a new
// version of the bot must pass it (shown as a badge on each version).
type TestSuite struct {
	ID          string    `json:"id" gorm:"primaryKey;size:36"`
	BotID       string    `json:"botId" gorm:"size:36;not null"`
	Name        string    `json:"name" form:"name" gorm:"size:200;not null" validate:"required,max=200"`
	Description string    `json:"description" form:"description" gorm:"type:text;not null" validate:"max=4000"`
	Gate        bool      `json:"gate" form:"gate" gorm:"not null"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	Bot         *Bot      `json:"-" gorm:"foreignKey:BotID"`
}

// Validate checks the suite's fields.
func (s *TestSuite) Validate() error { return Validate(s) }

// Case statuses: active cases run; proposed ones (made by support from a
// transcript) wait for QA to accept them.
const (
	CaseActive   = "active"
	CaseProposed = "proposed"
)

// TestCase is a conversation to replay and what to expect of each answer:
// the user messages (snapshotted from a transcript or written by hand, so
// later edits of the transcript do not change it) with assertions per turn.
type TestCase struct {
	ID          string     `json:"id" gorm:"primaryKey;size:36"`
	SuiteID     string     `json:"suiteId" gorm:"size:36;not null"`
	Name        string     `json:"name" gorm:"size:200;not null" validate:"required,max=200"`
	Description string     `json:"description" gorm:"type:text;not null" validate:"max=4000"`
	Status      string     `json:"status" gorm:"size:20;not null" validate:"oneof=active proposed"`
	Turns       []CaseTurn `json:"turns" gorm:"type:text;not null;serializer:json" validate:"min=1,max=50,dive"`
	// SourceConversationID is the transcript the case was made from (it may
	// be gone since: the case keeps its own copy).
	SourceConversationID *string   `json:"sourceConversationId,omitempty" gorm:"size:36"`
	CreatedBy            string    `json:"createdBy" gorm:"size:254;not null"`
	CreatedAt            time.Time `json:"createdAt"`
	UpdatedAt            time.Time `json:"updatedAt"`
}

// CaseTurn is one user message of a case and what its answer must satisfy.
type CaseTurn struct {
	User   string      `json:"user" yaml:"user" validate:"max=20000"`
	Expect []Assertion `json:"expect,omitempty" yaml:"expect,omitempty" validate:"max=20,dive"`
}

// Assertion kinds.
const (
	AssertContains     = "contains"      // the answer contains Text (case-insensitive)
	AssertNotContains  = "not_contains"  // the answer does not contain Text
	AssertRegex        = "regex"         // the answer matches the regular expression Text
	AssertEquals       = "equals"        // the answer is Text (spaces at the ends ignored)
	AssertCites        = "cites"         // the answer cites the source URL Text
	AssertRetrieved    = "retrieved"     // record Record (or Source) was retrieved, within TopK, score ≥ MinScore
	AssertNoRetrieval  = "no_retrieval"  // nothing was retrieved (the bot should decline)
	AssertCalled       = "called"        // ability Ability was called (with arguments containing Args)
	AssertNotCalled    = "not_called"    // ability Ability was not called
	AssertNoError      = "no_error"      // the turn did not fail
	AssertEndReason    = "end_reason"    // the turn ended with reason Text
	AssertLatency      = "latency"       // the answer took at most Max ms
	AssertOutputTokens = "output_tokens" // the answer used at most Max output tokens
	AssertSimilar      = "similar"       // the answer is similar to Text, score ≥ Threshold
)

// AssertionKinds lists every kind, in the order forms offer them.
var AssertionKinds = []string{AssertContains, AssertNotContains, AssertRegex, AssertEquals, AssertCites,
	AssertRetrieved, AssertNoRetrieval, AssertCalled, AssertNotCalled, AssertNoError, AssertEndReason,
	AssertLatency, AssertOutputTokens, AssertSimilar}

// AssertionKindLabels say each kind in words, for forms.
var AssertionKindLabels = map[string]string{
	AssertContains: "text contains", AssertNotContains: "text does not contain", AssertRegex: "text matches regex",
	AssertEquals: "text equals", AssertCites: "cites source URL", AssertRetrieved: "record was retrieved",
	AssertNoRetrieval: "no record retrieved (declines)", AssertCalled: "ability was called",
	AssertNotCalled: "ability was not called", AssertNoError: "no error", AssertEndReason: "end reason is",
	AssertLatency: "latency at most (ms)", AssertOutputTokens: "output tokens at most",
	AssertSimilar: "similar to the expected answer",
}

// Assertion is one thing a turn's answer, or its "why", must satisfy. Which
// fields count depends on Kind (see the Assert… constants).
type Assertion struct {
	Kind string `json:"kind" yaml:"kind" validate:"required,max=20"`
	// Text is the text, pattern, URL, end reason or expected answer.
	Text string `json:"text,omitempty" yaml:"text,omitempty" validate:"max=20000"`
	// Record is a dataset record's id; Source its source, which names it
	// (and identifies it when Record is empty, as in a suite file moved
	// to another database).
	Record   string  `json:"record,omitempty" yaml:"record,omitempty" validate:"max=36"`
	Source   string  `json:"source,omitempty" yaml:"source,omitempty" validate:"max=2000"`
	TopK     int     `json:"topK,omitempty" yaml:"topK,omitempty" validate:"min=0,max=100"`
	MinScore float64 `json:"minScore,omitempty" yaml:"minScore,omitempty" validate:"min=0,max=1"`
	Ability  string  `json:"ability,omitempty" yaml:"ability,omitempty" validate:"max=200"`
	// Args is a JSON object the call's arguments must contain.
	Args      string  `json:"args,omitempty" yaml:"args,omitempty" validate:"max=4000"`
	Max       int64   `json:"max,omitempty" yaml:"max,omitempty" validate:"min=0"`
	Threshold float64 `json:"threshold,omitempty" yaml:"threshold,omitempty" validate:"min=0,max=1"`
	// Judge is the model ("openai/gpt-4o-mini") of an LLM judge for a
	// similar assertion, with Rubric; empty: offline lexical similarity.
	Judge  string `json:"judge,omitempty" yaml:"judge,omitempty" validate:"max=200"`
	Rubric string `json:"rubric,omitempty" yaml:"rubric,omitempty" validate:"max=4000"`
}

// Check says what is wrong with an assertion whose fields do not fit its
// kind, by field name ("" when it is fine).
func (a Assertion) Check() (field, message string) {
	switch a.Kind {
	case AssertContains, AssertNotContains, AssertEquals:
		if a.Text == "" {
			return "text", "Write the text to look for."
		}
	case AssertRegex:
		if a.Text == "" {
			return "text", "Write a regular expression."
		}
		if _, err := regexp.Compile(a.Text); err != nil {
			return "text", "Not a valid regular expression: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		}
	case AssertCites:
		if !strings.HasPrefix(a.Text, "http://") && !strings.HasPrefix(a.Text, "https://") {
			return "text", "Give the source URL the answer must cite (http:// or https://)."
		}
	case AssertRetrieved:
		if a.Record == "" && a.Source == "" {
			return "record", "Give the record's id or its source URL."
		}
		if a.Record != "" && !ValidID(a.Record) {
			return "record", "A record id looks like 0190e5f2-…: copy it from the dataset page, or give the source URL."
		}
	case AssertCalled, AssertNotCalled:
		if strings.TrimSpace(a.Ability) == "" {
			return "ability", "Name the ability."
		}
		if a.Kind == AssertCalled && strings.TrimSpace(a.Args) != "" {
			var v map[string]any
			if err := json.Unmarshal([]byte(a.Args), &v); err != nil {
				return "args", "Arguments must be a JSON object, such as {\"service\": \"sync\"}."
			}
		}
	case AssertEndReason:
		switch a.Text {
		case EndStop, EndLength, EndToolLimit, EndError, EndInterrupted, EndModerated:
		default:
			return "text", "End reason must be one of stop, length, tool_limit, error, interrupted, moderated."
		}
	case AssertLatency, AssertOutputTokens:
		if a.Max <= 0 {
			return "max", "Give the maximum (a whole number above 0)."
		}
	case AssertSimilar:
		if strings.TrimSpace(a.Text) == "" {
			return "text", "Write the expected answer."
		}
		if a.Threshold <= 0 || a.Threshold > 1 {
			return "threshold", "Give a threshold between 0 and 1, such as 0.6."
		}
	case AssertNoRetrieval, AssertNoError:
	default:
		return "kind", fmt.Sprintf("Unknown assertion kind %q.", a.Kind)
	}
	return "", ""
}

// Label says the assertion in words, for results and JUnit.
func (a Assertion) Label() string {
	switch a.Kind {
	case AssertContains:
		return fmt.Sprintf("text contains %q", a.Text)
	case AssertNotContains:
		return fmt.Sprintf("text does not contain %q", a.Text)
	case AssertRegex:
		return fmt.Sprintf("text matches /%s/", a.Text)
	case AssertEquals:
		return fmt.Sprintf("text equals %q", TruncateUTF8(a.Text, 80))
	case AssertCites:
		return "cites " + a.Text
	case AssertRetrieved:
		s := "retrieved " + a.RecordName()
		if a.TopK > 0 {
			s += " within the top " + strconv.Itoa(a.TopK)
		}
		if a.MinScore > 0 {
			s += " with score ≥ " + strconv.FormatFloat(a.MinScore, 'g', -1, 64)
		}
		return s
	case AssertNoRetrieval:
		return "no record retrieved"
	case AssertCalled:
		if strings.TrimSpace(a.Args) != "" {
			return fmt.Sprintf("called %q with %s", a.Ability, a.Args)
		}
		return fmt.Sprintf("called %q", a.Ability)
	case AssertNotCalled:
		return fmt.Sprintf("did not call %q", a.Ability)
	case AssertNoError:
		return "answered without error"
	case AssertEndReason:
		return "ended with " + a.Text
	case AssertLatency:
		return fmt.Sprintf("latency ≤ %d ms", a.Max)
	case AssertOutputTokens:
		return fmt.Sprintf("output tokens ≤ %d", a.Max)
	case AssertSimilar:
		how := "lexical"
		if a.Judge != "" {
			how = "judged by " + a.Judge
		}
		return fmt.Sprintf("similar to the expected answer ≥ %s (%s)", strconv.FormatFloat(a.Threshold, 'g', -1, 64), how)
	}
	return a.Kind
}

// RecordName names the record of a retrieved assertion: its source and the
// end of its id.
func (a Assertion) RecordName() string {
	switch {
	case a.Record != "" && a.Source != "":
		return fmt.Sprintf("record %s (%s)", shortTail(a.Record), a.Source)
	case a.Record != "":
		return "record " + a.Record
	}
	return "the record from " + a.Source
}

func shortTail(id string) string {
	if len(id) > 8 {
		return "…" + id[len(id)-8:]
	}
	return id
}

// Validate checks the case's fields and that each assertion fits its kind;
// field errors are named "turns[i].user" and "turns[i].expect[j].text".
func (c *TestCase) Validate() error {
	err := Validate(c)
	fields := ErrorFields(err)
	if err != nil && fields == nil {
		return err
	}
	if fields == nil {
		fields = map[string]string{}
	}
	for i, t := range c.Turns {
		if strings.TrimSpace(t.User) == "" {
			fields[fmt.Sprintf("turns[%d].user", i)] = "Write the user's message."
		}
		for j, a := range t.Expect {
			if f, msg := a.Check(); f != "" {
				fields[fmt.Sprintf("turns[%d].expect[%d].%s", i, j, f)] = msg
			}
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: "Some fields need attention: " + summaryOf(fields), Fields: fields}
}

// summaryOf is the first of the field messages, for the form's banner.
func summaryOf(fields map[string]string) string {
	first := ""
	for k := range fields {
		if first == "" || k < first {
			first = k
		}
	}
	return fields[first]
}

// RetrievalCheck is a saved check of a dataset's retrieval: query Query must
// find record RecordID within the top TopK (with score ≥ MinScore). It
// belongs to a suite and is also shown and run on its dataset's page.
type RetrievalCheck struct {
	ID        string  `json:"id" gorm:"primaryKey;size:36"`
	SuiteID   string  `json:"suiteId" gorm:"size:36;not null"`
	DatasetID string  `json:"datasetId" gorm:"size:36;not null" validate:"required,max=36"`
	Query     string  `json:"query" gorm:"type:text;not null" validate:"required,max=2000"`
	RecordID  string  `json:"recordId" gorm:"size:36;not null" validate:"required,max=36"`
	TopK      int     `json:"topK" gorm:"not null" validate:"min=1,max=100"`
	MinScore  float64 `json:"minScore" gorm:"not null" validate:"min=0,max=1"`
	// Source names the record (kept from when the check was saved).
	Source    string    `json:"source" gorm:"size:2000;not null" validate:"max=2000"`
	CreatedAt time.Time `json:"createdAt"`
}

// Validate checks the check's fields.
func (r *RetrievalCheck) Validate() error { return Validate(r) }

// Label says the check in words.
func (r *RetrievalCheck) Label() string {
	name := "record " + shortTail(r.RecordID)
	if r.Source != "" {
		name += " (" + r.Source + ")"
	}
	s := fmt.Sprintf("%q finds %s in the top %d", r.Query, name, r.TopK)
	if r.MinScore > 0 {
		s += " with score ≥ " + strconv.FormatFloat(r.MinScore, 'g', -1, 64)
	}
	return s
}

// Run statuses.
const (
	RunQueued      = "queued"
	RunRunning     = "running"
	RunPassed      = "passed"
	RunFailed      = "failed"
	RunCancelled   = "cancelled"
	RunInterrupted = "interrupted"
)

// RunFinished reports whether a run or replay status is final.
func RunFinished(status string) bool {
	switch status {
	case RunQueued, RunRunning:
		return false
	}
	return true
}

// TestRun is one run of a suite against a configuration of its bot: the
// current one (its latest version when the run started), a chosen version,
// or an unsaved draft. Its results are written as its cases finish, so a run
// a restart stopped resumes from its first unfinished case.
type TestRun struct {
	ID      string `json:"id" gorm:"primaryKey;size:36"`
	SuiteID string `json:"suiteId" gorm:"size:36;not null"`
	BotID   string `json:"botId" gorm:"size:36;not null"`
	Target  string `json:"target" gorm:"size:20;not null"`
	// Version is the bot version run against (0 for a draft).
	Version int           `json:"version" gorm:"not null"`
	Pinned  *PinnedConfig `json:"-" gorm:"type:text;serializer:json"`
	Status  string        `json:"status" gorm:"size:20;not null"`
	// Total counts the run's cases and checks; Done those finished.
	Total   int `json:"total" gorm:"not null"`
	Done    int `json:"done" gorm:"not null"`
	Passed  int `json:"passed" gorm:"not null"`
	Failed  int `json:"failed" gorm:"not null"`
	Errored int `json:"errored" gorm:"not null"`
	// Resumed counts the restarts the run survived.
	Resumed         int        `json:"resumed" gorm:"not null"`
	CancelRequested bool       `json:"cancelRequested" gorm:"not null"`
	Error           string     `json:"error,omitempty" gorm:"type:text;not null"`
	StartedBy       string     `json:"startedBy" gorm:"size:254;not null"`
	CreatedAt       time.Time  `json:"createdAt"`
	StartedAt       *time.Time `json:"startedAt,omitempty"`
	FinishedAt      *time.Time `json:"finishedAt,omitempty"`
}

// Percent is how far the run is, 0–100.
func (r *TestRun) Percent() int {
	if r.Total == 0 {
		if RunFinished(r.Status) {
			return 100
		}
		return 0
	}
	return r.Done * 100 / r.Total
}

// PassRate is the share of finished items that passed, 0–100.
func (r *TestRun) PassRate() int {
	if r.Done == 0 {
		return 0
	}
	return r.Passed * 100 / r.Done
}

// TargetLabel says what the run ran against.
func (r *TestRun) TargetLabel() string {
	switch r.Target {
	case TargetDraft:
		return "draft"
	case TargetCurrent:
		return fmt.Sprintf("current (version %d)", r.Version)
	}
	return fmt.Sprintf("version %d", r.Version)
}

// Result statuses.
const (
	ResultPending = "pending"
	ResultPass    = "pass"
	ResultFail    = "fail"
	ResultError   = "error"   // the case could not be run
	ResultSkipped = "skipped" // the run was cancelled first
)

// TestResult is one case's (or retrieval check's) outcome in a run, with each
// assertion's and the scratch conversation whose timeline says why.
type TestResult struct {
	ID      string  `json:"id" gorm:"primaryKey;size:36"`
	RunID   string  `json:"runId" gorm:"size:36;not null"`
	Seq     int     `json:"seq" gorm:"not null"`
	CaseID  *string `json:"caseId,omitempty" gorm:"size:36"`
	CheckID *string `json:"checkId,omitempty" gorm:"size:36"`
	Name    string  `json:"name" gorm:"size:200;not null"`
	Status  string  `json:"status" gorm:"size:20;not null"`
	// Message is why it failed: the first failing assertion's message.
	Message        string            `json:"message,omitempty" gorm:"type:text;not null"`
	ConversationID *string           `json:"conversationId,omitempty" gorm:"size:36"`
	DurationMs     int64             `json:"durationMs" gorm:"not null"`
	Assertions     []AssertionResult `json:"assertions" gorm:"type:text;not null;serializer:json"`
	CreatedAt      time.Time         `json:"createdAt"`
	UpdatedAt      time.Time         `json:"updatedAt"`
}

// Failing reports a result that failed or could not run.
func (r *TestResult) Failing() bool { return r.Status == ResultFail || r.Status == ResultError }

// AssertionResult is one assertion's outcome on a replayed turn.
type AssertionResult struct {
	// Turn is the case's turn (1 = first); 0 for a retrieval check.
	Turn  int    `json:"turn"`
	Kind  string `json:"kind"`
	Label string `json:"label"`
	Pass  bool   `json:"pass"`
	// Message says what was seen: why it failed, or what passed.
	Message string   `json:"message"`
	Score   *float64 `json:"score,omitempty"`
	// Verdict and Rationale are an LLM judge's.
	Verdict   string `json:"verdict,omitempty"`
	Rationale string `json:"rationale,omitempty"`
	// TurnID and MessageID are the replayed turn and its answer.
	TurnID    string `json:"turnId,omitempty"`
	MessageID string `json:"messageId,omitempty"`
}

// Replay is a conversation's user messages sent again, in order, to a
// scratch copy answered by the bot's current configuration or a chosen
// version, for a side-by-side per-turn diff.
type Replay struct {
	ID                   string        `json:"id" gorm:"primaryKey;size:36"`
	SourceConversationID string        `json:"sourceConversationId" gorm:"size:36;not null"`
	ConversationID       *string       `json:"conversationId,omitempty" gorm:"size:36"`
	BotID                string        `json:"botId" gorm:"size:36;not null"`
	Target               string        `json:"target" gorm:"size:20;not null"`
	Version              int           `json:"version" gorm:"not null"`
	Pinned               *PinnedConfig `json:"-" gorm:"type:text;serializer:json"`
	Status               string        `json:"status" gorm:"size:20;not null"`
	Total                int           `json:"total" gorm:"not null"`
	Done                 int           `json:"done" gorm:"not null"`
	Changed              int           `json:"changed" gorm:"not null"`
	Error                string        `json:"error,omitempty" gorm:"type:text;not null"`
	StartedBy            string        `json:"startedBy" gorm:"size:254;not null"`
	CreatedAt            time.Time     `json:"createdAt"`
	FinishedAt           *time.Time    `json:"finishedAt,omitempty"`
}

// Percent is how far the replay is, 0–100.
func (r *Replay) Percent() int {
	if r.Total == 0 {
		return 100
	}
	return r.Done * 100 / r.Total
}

// ReplayTurn pairs one original user message's answer with the replayed one,
// and says what changed.
type ReplayTurn struct {
	ReplayID       string  `json:"-" gorm:"primaryKey;size:36"`
	Seq            int     `json:"seq" gorm:"primaryKey;autoIncrement:false"`
	UserMessageID  string  `json:"userMessageId" gorm:"size:36;not null"`
	Text           string  `json:"text" gorm:"type:text;not null"`
	OriginalTurnID *string `json:"originalTurnId,omitempty" gorm:"size:36"`
	NewTurnID      *string `json:"newTurnId,omitempty" gorm:"size:36"`
	TextChanged    bool    `json:"textChanged" gorm:"not null"`
	RecordsChanged bool    `json:"recordsChanged" gorm:"not null"`
	CallsChanged   bool    `json:"callsChanged" gorm:"not null"`
}

// Changed reports whether anything that decides the answer differs.
func (t *ReplayTurn) Changed() bool { return t.TextChanged || t.RecordsChanged || t.CallsChanged }
