package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"parley/models"
)

// period is what rollups are kept per: a UTC day (migration 17) or hour
// (migration 18). Each has its rollup rows, the periods rolled up and the
// periods marked dirty since, in tables whose key column is named for it.
type period struct {
	name   string // "day" or "hour": the key column
	rows   string // the rollup rows' table
	done   string // the periods rolled up
	dirty  string // the periods changed since their rollup (triggers)
	layout string // the key's format
	length time.Duration
	// batch bounds how many consecutive periods one computation rolls up:
	// the live queries read each period's rows once either way, but the
	// conversations they join are read once per computation.
	batch int
	// samples is how much of a range of these periods one query reads the
	// unanswered samples of (readRollupSamples).
	samples time.Duration
}

var (
	dayPeriod = period{name: "day", rows: "analytics_rollups", done: "analytics_rollup_days", dirty: "analytics_dirty_days",
		layout: time.DateOnly, length: 24 * time.Hour, batch: 31, samples: 24 * time.Hour}
	hourPeriod = period{name: "hour", rows: "analytics_hour_rollups", done: "analytics_rollup_hours", dirty: "analytics_dirty_hours",
		layout: "2006-01-02T15", length: time.Hour, batch: 48, samples: 48 * time.Hour}
)

// key is the period's key of t.
func (p period) key(t time.Time) string { return t.UTC().Format(p.layout) }

// start is the start of the period t is in.
func (p period) start(t time.Time) time.Time { return t.UTC().Truncate(p.length) }

// parse is the start of the period of a key.
func (p period) parse(key string) (time.Time, error) {
	t, err := time.Parse(p.layout, key)
	if err != nil {
		return t, fmt.Errorf("store: rollup %s %q: %w", p.name, key, err)
	}
	return t, nil
}

// rollupCols are a rollup row's columns but its period: the rest of its key
// and the figures, the maps as JSON, the contacts one id a line and the
// histograms as hist.encode bytes.
type rollupCols struct {
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

// rollupRow is a row of analytics_rollups (migration 17): one day's figures
// for one key; read from analytics_hour_rollups too, its hour as Day.
type rollupRow struct {
	Day  string     `gorm:"primaryKey"`
	Cols rollupCols `gorm:"embedded"`
}

func (rollupRow) TableName() string { return "analytics_rollups" }

// hourRollupRow is a row of analytics_hour_rollups (migration 18): one hour's
// figures for one key.
type hourRollupRow struct {
	Hour string     `gorm:"primaryKey"`
	Cols rollupCols `gorm:"embedded"`
}

func (hourRollupRow) TableName() string { return "analytics_hour_rollups" }

// create writes rows (Day holding the period's key) into p's table.
func (p period) create(tx *gorm.DB, rows []rollupRow) error {
	if p == dayPeriod {
		return tx.CreateInBatches(rows, 100).Error
	}
	hours := make([]hourRollupRow, len(rows))
	for i, r := range rows {
		hours[i] = hourRollupRow{Hour: r.Day, Cols: r.Cols}
	}
	return tx.CreateInBatches(hours, 100).Error
}

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

// row is f as a rollup row of key k (its period as Day).
func (f *figures) row(k rollupKey) (rollupRow, error) {
	r := rollupRow{Day: k.Period, Cols: rollupCols{BotID: k.BotID, IntegrationID: k.IntegrationID, Kind: k.Kind, Conversations: f.Conversations,
		Messages: f.Messages, Turns: f.Turns, DontKnow: f.DontKnow, Up: f.Up, Down: f.Down, Latency: f.Latency.encode(), TTFT: f.TTFT.encode()}}
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
	r.Cols.Contacts = strings.Join(contacts, "\n") // ids: no newline in them
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
		{&r.Cols.NoRecord, f.NoRecord, len(f.NoRecord) == 0}, {&r.Cols.Tokens, tokens, len(tokens) == 0},
		{&r.Cols.Abilities, abilities, len(abilities) == 0}, {&r.Cols.Records, records, len(records) == 0},
		{&r.Cols.Samples, f.Samples, len(f.Samples) == 0},
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
	f.Conversations, f.Messages, f.Turns, f.DontKnow, f.Up, f.Down = r.Cols.Conversations, r.Cols.Messages, r.Cols.Turns, r.Cols.DontKnow, r.Cols.Up, r.Cols.Down
	f.raw = &r
	var tokens []models.ModelTokens
	var abilities []models.AbilityErrors
	var records []recordJSON
	for _, x := range []struct {
		src string
		dst any
	}{{r.Cols.NoRecord, &f.NoRecord}, {r.Cols.Tokens, &tokens}, {r.Cols.Abilities, &abilities}, {r.Cols.Records, &records}} {
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
	if err := f.Latency.decode(r.Cols.Latency); err != nil {
		return err
	}
	if err := f.TTFT.decode(r.Cols.TTFT); err != nil {
		return err
	}
	if r.Cols.Contacts != "" {
		for c := range strings.SplitSeq(r.Cols.Contacts, "\n") {
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

// rollupSpan is a part of a range read from rollups: the periods of p in
// [from, to).
type rollupSpan struct {
	p        period
	from, to time.Time
}

// rollupSelect are the columns readRollups reads (all but the samples), the
// period as day.
const rollupSelect = "bot_id, integration_id, kind, conversations, contacts, messages, turns, dont_know, up, down, no_record, latency, ttft, tokens, abilities, records"

// readRollups reads the rollups of sp's periods in a's scope, keyed by
// period.
func (s *Store) readRollups(ctx context.Context, a models.AnalyticsQuery, sp rollupSpan) (map[rollupKey]*figures, error) {
	var rows []rollupRow
	col := sp.p.name
	q := s.db.WithContext(ctx).Table(sp.p.rows).Select(col+" AS day, "+rollupSelect).
		Where(col+" >= ? AND "+col+" < ?", sp.p.key(sp.from), sp.p.key(sp.to))
	if err := rollupScope(q, a).Find(&rows).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	out := make(map[rollupKey]*figures, len(rows))
	for _, r := range rows {
		f, err := r.figures()
		if err != nil {
			return nil, err
		}
		out[rollupKey{r.Day, r.Cols.BotID, r.Cols.IntegrationID, r.Cols.Kind}] = f
	}
	return out, nil
}

// readRollupSamples reads the unanswered samples of the rolled-up spans in
// a's scope, most recent first (a day at a time, a span of hours at once),
// keeping those eligible keeps, and stops after a piece for which enough
// says what starts earlier can no longer be among the most recent.
func (s *Store) readRollupSamples(ctx context.Context, a models.AnalyticsQuery, spans []rollupSpan,
	enough func(start time.Time, ss []questionSample) bool, eligible func([]questionSample) []questionSample) ([]questionSample, error) {
	spans = slices.Clone(spans)
	slices.SortFunc(spans, func(x, y rollupSpan) int { return y.from.Compare(x.from) })
	var out []questionSample
	for _, sp := range spans {
		col := sp.p.name
		for to := sp.to; to.After(sp.from); {
			from := to.Add(-sp.p.samples)
			if from.Before(sp.from) {
				from = sp.from
			}
			var js []string
			q := s.db.WithContext(ctx).Table(sp.p.rows).Where(col+" >= ? AND "+col+" < ? AND samples <> ''", sp.p.key(from), sp.p.key(to))
			if err := rollupScope(q, a).Pluck("samples", &js).Error; err != nil {
				return nil, translate(err, "analytics")
			}
			for _, j := range js {
				var ss []questionSample
				if err := json.Unmarshal([]byte(j), &ss); err != nil {
					return nil, fmt.Errorf("store: analytics rollup %s samples: %w", sp.p.key(from), err)
				}
				out = append(out, eligible(ss)...)
			}
			if enough(from, out) {
				return out, nil
			}
			to = from
		}
	}
	return out, nil
}

// stalePeriods are the periods of p in [from, to) that are not rolled up or
// are marked dirty, oldest first.
func (s *Store) stalePeriods(ctx context.Context, p period, from, to time.Time) ([]string, error) {
	db := s.db.WithContext(ctx)
	lo, hi := p.key(from), p.key(to)
	var done, dirty []string
	if err := db.Table(p.done).Where(p.name+" >= ? AND "+p.name+" < ?", lo, hi).Pluck(p.name, &done).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	if err := db.Table(p.dirty).Where(p.name+" >= ? AND "+p.name+" < ?", lo, hi).Pluck(p.name, &dirty).Error; err != nil {
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
	for t := from; t.Before(to); t = t.Add(p.length) {
		if k := p.key(t); !ok[k] {
			out = append(out, k)
		}
	}
	return out, nil
}

// ensureRollups rolls up the periods of sp that are missing or dirty,
// consecutive ones together (at most p.batch at once).
func (s *Store) ensureRollups(ctx context.Context, sp rollupSpan) error {
	keys, err := s.stalePeriods(ctx, sp.p, sp.from, sp.to)
	if err != nil {
		return err
	}
	return s.rollupPeriods(ctx, sp.p, keys)
}

// rollupPeriods rolls up the given periods of p (sorted), in runs of
// consecutive ones.
func (s *Store) rollupPeriods(ctx context.Context, p period, keys []string) error {
	for len(keys) > 0 {
		n := 1
		for n < len(keys) && n < p.batch && p.next(keys[n-1]) == keys[n] {
			n++
		}
		if err := s.rollupRun(ctx, p, keys[:n]); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// next is the key of the period after key's ("" if key is not one).
func (p period) next(key string) string {
	t, err := p.parse(key)
	if err != nil {
		return ""
	}
	return p.key(t.Add(p.length))
}

// rollupRun (re)computes consecutive periods' rollup rows from the live
// queries. It holds the lock of each day the periods are in (another
// instance computing one meanwhile is waited for, and the period not
// computed again), removes the periods' dirty marks and "rolled up" rows
// before reading (a write committed after the read marks its period again:
// see migrate0017), and writes each period's rows and "rolled up" row in one
// transaction.
//
// Hours take their day's lock, not one of their own, because a day's rollup
// also drops the day's hours (their rows, "rolled up" rows and marks): the
// triggers mark only the hours of today and yesterday, so an older day's
// hours are kept only while the day stays rolled up and clean (a write to
// the day marks the day, whose next rollup drops them), and computing one of
// its hours must not straddle the day's rollup.
func (s *Store) rollupRun(ctx context.Context, p period, keys []string) error {
	start, err := p.parse(keys[0])
	if err != nil {
		return err
	}
	end, err := p.parse(keys[len(keys)-1])
	if err != nil {
		return err
	}
	end = end.Add(p.length)
	var days []string
	for _, k := range keys {
		if d := k[:len(time.DateOnly)]; !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	for _, d := range days {
		release, err := s.Lock(ctx, "analytics-rollup:"+d)
		if err != nil {
			return err
		}
		defer release()
	}
	stale, err := s.stalePeriods(ctx, p, start, end)
	if err != nil || len(stale) == 0 {
		return err // rolled up meanwhile
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		for _, t := range []string{p.dirty, p.done} {
			if err := tx.Exec("DELETE FROM "+t+" WHERE "+p.name+" IN ?", stale).Error; err != nil {
				return err
			}
		}
		if p != dayPeriod {
			return nil
		}
		for _, t := range []string{hourPeriod.done, hourPeriod.dirty, hourPeriod.rows} {
			if err := tx.Exec("DELETE FROM "+t+" WHERE substr(hour, 1, 10) IN ?", stale).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return translate(err, "analytics rollup")
	}
	figs, err := s.liveFigures(ctx, models.AnalyticsQuery{Since: start, Until: end, IncludeTests: true}, p)
	if err != nil {
		return err
	}
	rows := map[string][]rollupRow{}
	for k, f := range figs {
		r, err := f.row(k)
		if err != nil {
			return err
		}
		rows[k.Period] = append(rows[k.Period], r)
	}
	for _, key := range stale {
		err = s.tx(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec("DELETE FROM "+p.rows+" WHERE "+p.name+" = ?", key).Error; err != nil {
				return err
			}
			if len(rows[key]) > 0 {
				if err := p.create(tx, rows[key]); err != nil {
					return err
				}
			}
			return tx.Exec("INSERT INTO "+p.done+" ("+p.name+", computed_at) VALUES (?, ?) ON CONFLICT ("+p.name+") DO UPDATE SET computed_at = excluded.computed_at",
				key, s.now()).Error
		})
		if err != nil {
			return translate(err, "analytics rollup")
		}
	}
	return nil
}

// rollupNow is the time rollups are judged by: the store's clock or the
// process's, whichever is earlier (the triggers judge "today" and "the
// current hour" by the database's; a test clock set in the future must not
// roll up periods the database still calls current or later).
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
// are not yet (yesterday, once rollupGrace has passed), every day marked
// dirty since its rollup, and the complete hours of the days that are not
// complete yet (today's, and yesterday's during the grace), so the Analytics
// page rarely computes a period itself. It returns how many days and hours
// it computed; safe to run on several instances at once (each period is
// computed under its day's lock, once).
func (s *Store) RollupAnalytics(ctx context.Context) (days, hours int, err error) {
	done := s.rollupNow().Add(-rollupGrace)
	to := utcDay(done)
	stale, err := s.stalePeriods(ctx, dayPeriod, to.AddDate(0, 0, -rollupBackfillDays), to)
	if err != nil {
		return 0, 0, err
	}
	var dirty []string
	if err := s.db.WithContext(ctx).Table(dayPeriod.dirty).Where("day < ?", dayPeriod.key(to)).
		Order("day").Pluck("day", &dirty).Error; err != nil {
		return 0, 0, translate(err, "analytics")
	}
	seen := map[string]bool{}
	var all []string
	for _, d := range append(stale, dirty...) {
		if !seen[d] {
			seen[d] = true
			all = append(all, d)
		}
	}
	slices.Sort(all)
	if err := s.rollupPeriods(ctx, dayPeriod, all); err != nil {
		return 0, 0, err
	}
	hs, err := s.stalePeriods(ctx, hourPeriod, to, hourPeriod.start(done))
	if err != nil {
		return len(all), 0, err
	}
	if err := s.rollupPeriods(ctx, hourPeriod, hs); err != nil {
		return len(all), 0, err
	}
	return len(all), len(hs), nil
}
