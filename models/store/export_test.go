package store

import (
	"context"
	"time"

	"parley/models"
)

// Translate exposes translate to the store's tests, so they can show how a
// database error is mapped without a method that produces it.
var Translate = translate

// MigrateTo applies the migrations up to and including version, so a test can
// put data in an older schema and then migrate the rest.
func MigrateTo(s *Store, version int) error {
	saved := migrations
	defer func() { migrations = saved }()
	var upTo []migration
	for _, m := range migrations {
		if m.version <= version {
			upTo = append(upTo, m)
		}
	}
	migrations = upTo
	_, err := s.Migrate(context.Background())
	return err
}

// MigrationCount is how many migrations there are: versions may have gaps
// (numbers reserved for work on other branches), so it can be less than
// LatestSchemaVersion.
func MigrationCount() int { return len(migrations) }

// LockKey exposes the advisory lock key of a name, so a test can find the
// lock in pg_locks.
var LockKey = lockKey

// SearchEstimate is searchEstimate for tests: how many messages the term
// statistics say have every word of text.
func SearchEstimate(ctx context.Context, s *Store, text string) (float64, bool) {
	return s.searchEstimate(ctx, models.MessageSearchTerms(text))
}

// SearchIndexFirstRows is searchIndexFirstRows for tests.
const SearchIndexFirstRows = searchIndexFirstRows

// FindAnalyticsLive is FindAnalytics counted live over the whole range, with
// no rollups: what the rollups must equal.
func (s *Store) FindAnalyticsLive(ctx context.Context, a models.AnalyticsQuery) (*models.Analytics, error) {
	return s.findAnalyticsLive(ctx, a)
}

// PlanSpan is a part of an analytics plan, for tests.
type PlanSpan struct{ From, To time.Time }

// AnalyticsPlan is planAnalytics for tests: the spans read from day rollups
// and hour rollups, counted live, and the complete days rolled up for their
// hours.
func AnalyticsPlan(lo, hi, done time.Time) (days, hours, live, ensure []PlanSpan) {
	p := planAnalytics(lo, hi, done)
	conv := func(ss []rollupSpan) []PlanSpan {
		var out []PlanSpan
		for _, s := range ss {
			out = append(out, PlanSpan{s.from, s.to})
		}
		return out
	}
	return conv(p.days), conv(p.hours), conv(p.live), conv(p.ensure)
}

// RollupGrace is rollupGrace for tests.
const RollupGrace = rollupGrace

// UnfinishedTurnPredicate is migration 19's index predicate.
const UnfinishedTurnPredicate = unfinishedTurn

// Fields FindConversation scans by hand (conversation_scan.go).
const (
	ConversationScannedFields = conversationScannedFields
	BotScannedFields          = botScannedFields
)

// DialoguePredicate is migration 20's index predicate.
const DialoguePredicate = dialogueMessage

// DialogueSQL is the history read RecentDialogue runs (? for the conversation).
func (s *Store) DialogueSQL(limit int) string { return s.dialogueSQL(limit, "?") }
