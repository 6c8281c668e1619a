package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parley/models"
)

// rollupRow is a row of analytics_rollups (migration 17): one day's figures
// for one key, the maps as JSON, the contacts one id a line and the
// histograms as hist.encode bytes.
type rollupRow struct {
	Day           string `gorm:"primaryKey"`
	BotID         string `gorm:"primaryKey"`
	IntegrationID string `gorm:"primaryKey"`
	Kind          string `gorm:"primaryKey"`
	Conversations int64
	Contacts      string
	Messages      int64
	Turns         int64
	DontKnow      int64
	Up            int64
	Down          int64
	NoRecord      string
	Latency       []byte
	TTFT          []byte `gorm:"column:ttft"`
	Tokens        string
	Abilities     string
	Records       string
	Samples       string
}

func (rollupRow) TableName() string { return "analytics_rollups" }

// rollupDayRow records that a day is rolled up (analytics_rollup_days).
type rollupDayRow struct {
	Day        string `gorm:"primaryKey"`
	ComputedAt time.Time
}

func (rollupDayRow) TableName() string { return "analytics_rollup_days" }

// recordJSON is a retrieved record as a rollup row stores it.
type recordJSON struct {
	RecordID  string `json:"r"`
	DatasetID string `json:"d"`
	recordUses
}

func marshalJSON(v any, empty bool) (string, error) {
	if empty {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// row is f as a rollup row of key k.
func (f *figures) row(k rollupKey) (rollupRow, error) {
	r := rollupRow{Day: k.Day, BotID: k.BotID, IntegrationID: k.IntegrationID, Kind: k.Kind, Conversations: f.Conversations,
		Messages: f.Messages, Turns: f.Turns, DontKnow: f.DontKnow, Up: f.Up, Down: f.Down, Latency: f.Latency.encode(), TTFT: f.TTFT.encode()}
	tokens := make([]models.ModelTokens, 0, len(f.Tokens))
	for _, t := range f.Tokens {
		tokens = append(tokens, *t)
	}
	abilities := make([]models.AbilityErrors, 0, len(f.Abilities))
	for _, e := range f.Abilities {
		abilities = append(abilities, *e)
	}
	contacts := make([]string, 0, len(f.Contacts))
	for c := range f.Contacts {
		contacts = append(contacts, c)
	}
	slices.Sort(contacts)
	r.Contacts = strings.Join(contacts, "\n") // ids: no newline in them
	records := make([]recordJSON, 0, len(f.Records))
	for k, u := range f.Records {
		records = append(records, recordJSON{RecordID: k.RecordID, DatasetID: k.DatasetID, recordUses: *u})
	}
	var err error
	for _, x := range []struct {
		dst   *string
		v     any
		empty bool
	}{
		{&r.NoRecord, f.NoRecord, len(f.NoRecord) == 0}, {&r.Tokens, tokens, len(tokens) == 0},
		{&r.Abilities, abilities, len(abilities) == 0}, {&r.Records, records, len(records) == 0},
		{&r.Samples, f.Samples, len(f.Samples) == 0},
	} {
		if *x.dst, err = marshalJSON(x.v, x.empty); err != nil {
			return r, err
		}
	}
	return r, nil
}

// figures reads a rollup row back (without its samples, read apart; its
// histograms and contacts are decoded by addRaw).
func (r rollupRow) figures() (*figures, error) {
	f := newFigures()
	f.Conversations, f.Messages, f.Turns, f.DontKnow, f.Up, f.Down = r.Conversations, r.Messages, r.Turns, r.DontKnow, r.Up, r.Down
	f.raw = &r
	var tokens []models.ModelTokens
	var abilities []models.AbilityErrors
	var records []recordJSON
	for _, x := range []struct {
		src string
		dst any
	}{{r.NoRecord, &f.NoRecord}, {r.Tokens, &tokens}, {r.Abilities, &abilities}, {r.Records, &records}} {
		if x.src == "" {
			continue
		}
		if err := json.Unmarshal([]byte(x.src), x.dst); err != nil {
			return nil, fmt.Errorf("store: analytics rollup %s: %w", r.Day, err)
		}
	}
	for _, t := range tokens {
		f.Tokens[t.Model] = &t
	}
	for _, e := range abilities {
		f.Abilities[e.Ability] = &e
	}
	for _, x := range records {
		f.Records[recordKey{x.RecordID, x.DatasetID}] = &recordUses{Source: x.Source, Uses: x.Uses}
	}
	return f, nil
}

// addRaw merges into f what o's rollup row holds undecoded (its histograms
// and contacts; nothing for live figures).
func (f *figures) addRaw(o *figures) error {
	r := o.raw
	if r == nil {
		return nil
	}
	if err := f.Latency.decode(r.Latency); err != nil {
		return err
	}
	if err := f.TTFT.decode(r.TTFT); err != nil {
		return err
	}
	if r.Contacts != "" {
		for c := range strings.SplitSeq(r.Contacts, "\n") {
			f.Contacts[c] = true
		}
	}
	return nil
}

// rollupScope keeps the rollup rows of a's bot and, unless IncludeTests, of
// real conversations.
func rollupScope(q *gorm.DB, a models.AnalyticsQuery) *gorm.DB {
	if !a.IncludeTests {
		q = q.Where("kind = ?", models.ConversationChat)
	}
	if a.BotID != "" {
		q = q.Where("bot_id = ?", a.BotID)
	}
	return q
}

// readRollups reads the rollups of the days [from, to) in a's scope.
func (s *Store) readRollups(ctx context.Context, a models.AnalyticsQuery, from, to time.Time) (map[rollupKey]*figures, error) {
	var rows []rollupRow
	q := s.db.WithContext(ctx).Model(&rollupRow{}).Omit("samples").
		Select("day, bot_id, integration_id, kind, conversations, contacts, messages, turns, dont_know, up, down, no_record, latency, ttft, tokens, abilities, records").
		Where("day >= ? AND day < ?", from.Format(time.DateOnly), to.Format(time.DateOnly))
	if err := rollupScope(q, a).Find(&rows).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	out := make(map[rollupKey]*figures, len(rows))
	for _, r := range rows {
		f, err := r.figures()
		if err != nil {
			return nil, err
		}
		out[rollupKey{r.Day, r.BotID, r.IntegrationID, r.Kind}] = f
	}
	return out, nil
}

// readRollupSamples reads the unanswered samples of the rolled-up days
// [from, to) in a's scope, one day at a time from the most recent, keeping
// those eligible keeps, and stops after a day for which enough says the
// earlier days can no longer be among the most recent.
func (s *Store) readRollupSamples(ctx context.Context, a models.AnalyticsQuery, from, to time.Time,
	enough func(dayStart time.Time, ss []questionSample) bool, eligible func([]questionSample) []questionSample) ([]questionSample, error) {
	var out []questionSample
	for d := to.AddDate(0, 0, -1); !d.Before(from); d = d.AddDate(0, 0, -1) {
		var js []string
		q := s.db.WithContext(ctx).Model(&rollupRow{}).Where("day = ? AND samples <> ''", d.Format(time.DateOnly))
		if err := rollupScope(q, a).Pluck("samples", &js).Error; err != nil {
			return nil, translate(err, "analytics")
		}
		for _, j := range js {
			var ss []questionSample
			if err := json.Unmarshal([]byte(j), &ss); err != nil {
				return nil, fmt.Errorf("store: analytics rollup %s samples: %w", d.Format(time.DateOnly), err)
			}
			out = append(out, eligible(ss)...)
		}
		if enough(d, out) {
			break
		}
	}
	return out, nil
}

// staleDays are the days of [from, to) that are not rolled up or are marked
// dirty, oldest first.
func (s *Store) staleDays(ctx context.Context, from, to time.Time) ([]string, error) {
	db := s.db.WithContext(ctx)
	lo, hi := from.Format(time.DateOnly), to.Format(time.DateOnly)
	var done, dirty []string
	if err := db.Model(&rollupDayRow{}).Where("day >= ? AND day < ?", lo, hi).Pluck("day", &done).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	if err := db.Table("analytics_dirty_days").Where("day >= ? AND day < ?", lo, hi).Pluck("day", &dirty).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	ok := map[string]bool{}
	for _, d := range done {
		ok[d] = true
	}
	for _, d := range dirty {
		ok[d] = false
	}
	var out []string
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		if k := d.Format(time.DateOnly); !ok[k] {
			out = append(out, k)
		}
	}
	return out, nil
}

// rollupBatchDays bounds how many consecutive days one computation rolls
// up: the live queries read each day's rows once either way, but the
// conversations they join are read once per computation, not per day.
const rollupBatchDays = 31

// ensureRollups rolls up the days of [from, to) that are missing or dirty,
// consecutive ones together (at most rollupBatchDays at once).
func (s *Store) ensureRollups(ctx context.Context, from, to time.Time) error {
	days, err := s.staleDays(ctx, from, to)
	if err != nil {
		return err
	}
	return s.rollupDays(ctx, days)
}

// rollupDays rolls up the given days (sorted), in runs of consecutive days.
func (s *Store) rollupDays(ctx context.Context, days []string) error {
	for len(days) > 0 {
		n := 1
		for n < len(days) && n < rollupBatchDays && nextDay(days[n-1]) == days[n] {
			n++
		}
		if err := s.rollupRun(ctx, days[:n]); err != nil {
			return err
		}
		days = days[n:]
	}
	return nil
}

func nextDay(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, 1).Format(time.DateOnly)
}

// rollupRun (re)computes consecutive past days' rollup rows from the live
// queries. It holds each day's lock (another instance computing one
// meanwhile is waited for, and the day not computed again), removes the
// days' dirty marks and "rolled up" rows before reading (a write committed
// after the read marks its day again: see migrate0017), and writes each
// day's rows and day row in one transaction.
func (s *Store) rollupRun(ctx context.Context, days []string) error {
	start, err := time.Parse(time.DateOnly, days[0])
	if err != nil {
		return fmt.Errorf("store: rollup day %q: %w", days[0], err)
	}
	end, err := time.Parse(time.DateOnly, days[len(days)-1])
	if err != nil {
		return fmt.Errorf("store: rollup day %q: %w", days[len(days)-1], err)
	}
	end = end.AddDate(0, 0, 1)
	for _, d := range days {
		release, err := s.Lock(ctx, "analytics-rollup:"+d)
		if err != nil {
			return err
		}
		defer release()
	}
	stale, err := s.staleDays(ctx, start, end)
	if err != nil || len(stale) == 0 {
		return err // rolled up meanwhile
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM analytics_dirty_days WHERE day IN ?", stale).Error; err != nil {
			return err
		}
		return tx.Exec("DELETE FROM analytics_rollup_days WHERE day IN ?", stale).Error
	})
	if err != nil {
		return translate(err, "analytics rollup")
	}
	figs, err := s.liveFigures(ctx, models.AnalyticsQuery{Since: start, Until: end, IncludeTests: true})
	if err != nil {
		return err
	}
	rows := map[string][]rollupRow{}
	for k, f := range figs {
		r, err := f.row(k)
		if err != nil {
			return err
		}
		rows[k.Day] = append(rows[k.Day], r)
	}
	for _, day := range stale {
		err = s.tx(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec("DELETE FROM analytics_rollups WHERE day = ?", day).Error; err != nil {
				return err
			}
			if len(rows[day]) > 0 {
				if err := tx.CreateInBatches(rows[day], 100).Error; err != nil {
					return err
				}
			}
			return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&rollupDayRow{Day: day, ComputedAt: s.now()}).Error
		})
		if err != nil {
			return translate(err, "analytics rollup")
		}
	}
	return nil
}

// rollupNow is the time rollups are judged by: the store's clock or the
// process's, whichever is earlier (the triggers judge "today" by the
// database's; a test clock set in the future must not roll up days the
// database still calls today or later).
func (s *Store) rollupNow() time.Time {
	now, real := s.now(), time.Now().UTC()
	if real.Before(now) {
		return real
	}
	return now
}

// rollupBackfillDays is how many complete days before today RollupAnalytics
// keeps rolled up (the page's default range is the last 30 days).
const rollupBackfillDays = 31

// RollupAnalytics rolls up, in the background, the recent complete days that
// are not yet (yesterday, once rollupGrace has passed) and every day marked
// dirty since its rollup, so the Analytics page rarely computes a day
// itself. It returns how many days it computed; safe to run on several
// instances at once (each day is computed under its lock, once).
func (s *Store) RollupAnalytics(ctx context.Context) (int, error) {
	now := s.rollupNow()
	to := utcDay(now.Add(-rollupGrace))
	days, err := s.staleDays(ctx, to.AddDate(0, 0, -rollupBackfillDays), to)
	if err != nil {
		return 0, err
	}
	var dirty []string
	if err := s.db.WithContext(ctx).Table("analytics_dirty_days").Where("day < ?", to.Format(time.DateOnly)).
		Order("day").Pluck("day", &dirty).Error; err != nil {
		return 0, translate(err, "analytics")
	}
	seen := map[string]bool{}
	var all []string
	for _, d := range append(days, dirty...) {
		if !seen[d] {
			seen[d] = true
			all = append(all, d)
		}
	}
	slices.Sort(all)
	if err := s.rollupDays(ctx, all); err != nil {
		return 0, err
	}
	n := len(all)
	return n, nil
}
