package store_test

import (
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"parley/models"
	"parley/models/store"
)

func TestMain(m *testing.M) {
	// bcrypt's default cost makes every operator test take a tenth of a second.
	store.BcryptCost = bcrypt.MinCost
	os.Exit(m.Run())
}

// testPassword is the password every operator made by mustOperator has.
const testPassword = "correct horse battery"

// ptr returns a pointer to v, for the optional fields of the models.
func ptr[T any](v T) *T { return &v }

// clock is a settable time source for Store.Now, so tests move time without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// useClock replaces the store's clock with one stopped at a fixed instant.
func useClock(s *store.Store) *clock {
	c := &clock{t: time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)}
	s.Now = c.Now
	return c
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// wantCode fails the test unless err carries the domain error code want.
func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := models.ErrorCode(err); got != want {
		t.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
	}
}

// wantFieldErrors fails the test unless err is an invalid-input error with a
// non-empty message for each of the fields (and no others).
func wantFieldErrors(t *testing.T, err error, fields ...string) {
	t.Helper()
	wantCode(t, err, models.CodeInvalid)
	got := models.ErrorFields(err)
	for _, f := range fields {
		if got[f] == "" {
			t.Errorf("Fields[%q] is empty; Fields = %v", f, got)
		}
	}
	if len(got) != len(fields) {
		t.Errorf("Fields = %v, want messages for exactly %v", got, fields)
	}
	if models.ErrorMessage(err) == "" {
		t.Error("error message is empty")
	}
}

// count counts the rows of table matching where (a SQL condition with ? placeholders).
func count(t *testing.T, s *store.Store, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := s.DB().Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// wantUTC checks, in a subtest named TimestampsUTC, that timestamps read back
// from the database are in UTC. On PostgreSQL they come back in time.Local: a
// known bug, skipped with its description until it is fixed.
func wantUTC(t *testing.T, s *store.Store, times map[string]time.Time) {
	t.Helper()
	t.Run("TimestampsUTC", func(t *testing.T) {
		var bad []string
		for name, tm := range times {
			if tm.IsZero() {
				t.Errorf("%s is zero", name)
				continue
			}
			if tm.Location() != time.UTC {
				bad = append(bad, name+" in "+tm.Location().String())
			}
		}
		if len(bad) == 0 {
			return
		}
		slices.Sort(bad)
		if s.Dialect() == store.Postgres {
			t.Skipf("BUG: pgx scans timestamptz into time.Local, not UTC (store/open.go): %s", strings.Join(bad, ", "))
		}
		t.Errorf("timestamps not in UTC: %s", strings.Join(bad, ", "))
	})
}

func mustDataset(t *testing.T, s *store.Store, name string) *models.Dataset {
	t.Helper()
	d := models.NewDataset()
	d.Name = name
	out, err := s.CreateDataset(t.Context(), d)
	if err != nil {
		t.Fatalf("CreateDataset(%q): %v", name, err)
	}
	return out
}

func mustRecord(t *testing.T, s *store.Store, datasetID, text string) *models.DatasetRecord {
	t.Helper()
	out, err := s.CreateRecord(t.Context(), models.DatasetRecord{DatasetID: datasetID, Text: text})
	if err != nil {
		t.Fatalf("CreateRecord(%q): %v", text, err)
	}
	return out
}

func mustSkillset(t *testing.T, s *store.Store, name string) *models.Skillset {
	t.Helper()
	out, err := s.CreateSkillset(t.Context(), models.Skillset{Name: name})
	if err != nil {
		t.Fatalf("CreateSkillset(%q): %v", name, err)
	}
	return out
}

func mustAbility(t *testing.T, s *store.Store, skillsetID, name string) *models.Ability {
	t.Helper()
	out, err := s.CreateAbility(t.Context(), models.Ability{SkillsetID: skillsetID, Name: name})
	if err != nil {
		t.Fatalf("CreateAbility(%q): %v", name, err)
	}
	return out
}

func mustBot(t *testing.T, s *store.Store, in store.BotInput) *models.Bot {
	t.Helper()
	out, err := s.CreateBot(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateBot(%q): %v", in.Bot.Name, err)
	}
	return out
}

func mustConversation(t *testing.T, s *store.Store, c models.Conversation, msgs ...models.Message) *models.Conversation {
	t.Helper()
	out, err := s.CreateConversation(t.Context(), c, msgs)
	if err != nil {
		t.Fatalf("CreateConversation(%q): %v", c.Name, err)
	}
	return out
}

func mustMessage(t *testing.T, s *store.Store, conversationID, typ, text string) *models.Message {
	t.Helper()
	out, err := s.CreateMessage(t.Context(), models.Message{ConversationID: conversationID, Type: typ, Text: text})
	if err != nil {
		t.Fatalf("CreateMessage(%q): %v", text, err)
	}
	return out
}

func mustOperator(t *testing.T, s *store.Store, email, role string) *models.Operator {
	t.Helper()
	out, err := s.CreateOperator(t.Context(), models.Operator{Email: email, Role: role}, testPassword)
	if err != nil {
		t.Fatalf("CreateOperator(%q): %v", email, err)
	}
	return out
}

func mustSession(t *testing.T, s *store.Store, operatorID string) string {
	t.Helper()
	token, _, err := s.CreateSession(t.Context(), operatorID, "127.0.0.1", "test-agent")
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return token
}

func mustSecret(t *testing.T, s *store.Store, name string, createdByID *string) (*models.APISecret, string) {
	t.Helper()
	sec, raw, err := s.CreateSecret(t.Context(), name, createdByID)
	if err != nil {
		t.Fatalf("CreateSecret(%q): %v", name, err)
	}
	return sec, raw
}

// datasetIDs returns the ids of a bot's datasets, in the order FindBot gives them.
func datasetIDs(b *models.Bot) []string {
	ids := []string{}
	for _, d := range b.Datasets {
		ids = append(ids, d.ID)
	}
	return ids
}

// skillsetIDs returns the ids of a bot's skillsets, in the order FindBot gives them.
func skillsetIDs(b *models.Bot) []string {
	ids := []string{}
	for _, k := range b.Skillsets {
		ids = append(ids, k.ID)
	}
	return ids
}
