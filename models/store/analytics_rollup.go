package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parley/models"
)

// rollupRow is a row of analytics_rollups (migration 17): one day's figures
// for one key, the maps as JSON and the histograms as hist.encode bytes.
type rollupRow struct {
	Day           string `gorm:"primaryKey"`
	BotID         string `gorm:"primaryKey"`
	IntegrationID string `gorm:"primaryKey"`
	Kind          string `gorm:"primaryKey"`
	Conversations int64
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

// figures reads a rollup row back (without its samples, read apart).
func (r rollupRow) figures() (*figures, error) {
	f := newFigures()
	f.Conversations, f.Messages, f.Turns, f.DontKnow, f.Up, f.Down = r.Conversations, r.Messages, r.Turns, r.DontKnow, r.Up, r.Down
	if err := f.Latency.decode(r.Latency); err != nil {
		return nil, err
	}
	if err := f.TTFT.decode(r.TTFT); err != nil {
		return nil, err
	}
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
		Select("day, bot_id, integration_id, kind, conversations, messages, turns, dont_know, up, down, no_record, latency, ttft, tokens, abilities, records").
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
// [from, to) in a's scope, most recent day first, keeping those eligible
// keeps, and stops after a day for which enough says the earlier days can
// no longer be among the most recent.
func (s *Store) readRollupSamples(ctx context.Context, a models.AnalyticsQuery, from, to time.Time,
	enough func(dayStart time.Time, ss []questionSample) bool, eligible func([]questionSample) []questionSample) ([]questionSample, error) {
	q := s.db.WithContext(ctx).Model(&rollupRow{}).Select("day, samples").
		Where("day >= ? AND day < ? AND samples <> ''", from.Format(time.DateOnly), to.Format(time.DateOnly)).Order("day DESC")
	rows, err := rollupScope(q, a).Rows()
	if err != nil {
		return nil, translate(err, "analytics")
	}
	defer rows.Close()
	var out, day []questionSample
	current := ""
	flush := func() bool { // the current day is read: enough?
		if current == "" {
			return false
		}
		start, _ := time.Parse(time.DateOnly, current)
		stop := enough(start, append(out[:len(out):len(out)], day...))
		out = append(out, day...)
		day = nil
		return stop
	}
	for rows.Next() {
		var d, js string
		if err := rows.Scan(&d, &js); err != nil {
			return nil, translate(err, "analytics")
		}
		if d != current {
			if flush() {
				return out, nil
			}
			current = d
		}
		var ss []questionSample
		if err := json.Unmarshal([]byte(js), &ss); err != nil {
			return nil, fmt.Errorf("store: analytics rollup %s samples: %w", d, err)
		}
		day = append(day, eligible(ss)...)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err, "analytics")
	}
	flush()
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

// ensureRollups rolls up the days of [from, to) that are missing or dirty.
func (s *Store) ensureRollups(ctx context.Context, from, to time.Time) error {
	days, err := s.staleDays(ctx, from, to)
	if err != nil {
		return err
	}
	for _, d := range days {
		if err := s.rollupDay(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// rollupDay (re)computes one past day's rollup rows from the live queries.
// It holds the day's lock (another instance computing it meanwhile is
// waited for, and the day not computed again), removes the day's dirty
// mark and its "rolled up" row before reading (a write committed after
// the read marks it again: see migrate0017), and writes the rows and the
// day row in one transaction.
func (s *Store) rollupDay(ctx context.Context, day string) error {
	start, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return fmt.Errorf("store: rollup day %q: %w", day, err)
	}
	release, err := s.Lock(ctx, "analytics-rollup:"+day)
	if err != nil {
		return err
	}
	defer release()
	stale, err := s.staleDays(ctx, start, start.AddDate(0, 0, 1))
	if err != nil || len(stale) == 0 {
		return err // rolled up meanwhile
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM analytics_dirty_days WHERE day = ?", day).Error; err != nil {
			return err
		}
		return tx.Exec("DELETE FROM analytics_rollup_days WHERE day = ?", day).Error
	})
	if err != nil {
		return translate(err, "analytics rollup")
	}
	figs, err := s.liveFigures(ctx, models.AnalyticsQuery{Since: start, Until: start.AddDate(0, 0, 1), IncludeTests: true})
	if err != nil {
		return err
	}
	rows := make([]rollupRow, 0, len(figs))
	for k, f := range figs {
		r, err := f.row(k)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM analytics_rollups WHERE day = ?", day).Error; err != nil {
			return err
		}
		if len(rows) > 0 {
			if err := tx.CreateInBatches(rows, 100).Error; err != nil {
				return err
			}
		}
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&rollupDayRow{Day: day, ComputedAt: s.now()}).Error
	})
	return translate(err, "analytics rollup")
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
	n := 0
	for _, d := range append(days, dirty...) {
		if seen[d] {
			continue
		}
		seen[d] = true
		if err := s.rollupDay(ctx, d); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
