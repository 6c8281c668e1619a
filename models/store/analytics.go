package store

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"parley/models"
)

// analyticsTopN is how many rows each ranking of the Analytics page keeps.
const analyticsTopN = 10

// unansweredSample bounds how many unanswered questions are grouped.
const unansweredSample = 2000

// analyticsParallel is how many of the Analytics page's queries run at once
// (each holds a pooled connection meanwhile).
const analyticsParallel = 4

// convScope keeps, in q, the rows whose conversation (alias c) the analytics
// query counts: the bot, real conversations unless IncludeTests.
func convScope(q *gorm.DB, a models.AnalyticsQuery) *gorm.DB {
	if !a.IncludeTests {
		q = q.Where("c.kind = ?", models.ConversationChat)
	}
	if a.BotID != "" {
		q = q.Where("c.bot_id = ?", a.BotID)
	}
	return q
}

// timeScope keeps the rows of col within the query's dates.
func timeScope(q *gorm.DB, col string, a models.AnalyticsQuery) *gorm.DB {
	if !a.Since.IsZero() {
		q = q.Where(col+" >= ?", a.Since.UTC())
	}
	if !a.Until.IsZero() {
		q = q.Where(col+" < ?", a.Until.UTC())
	}
	return q
}

// dontKnowSQL is true for a message whose text begins by saying the bot did
// not know (dontKnowPatterns), written out so that it is word for word the
// predicate of migration 14's partial index idx_messages_dont_know.
var dontKnowSQL = func() string {
	var b strings.Builder
	b.WriteString("(")
	for i, p := range dontKnowPatterns {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("text LIKE '" + strings.ReplaceAll(p, "'", "''") + "'")
	}
	b.WriteString(")")
	return b.String()
}()

// rollupGrace is how long after a UTC day or hour ends it is rolled up:
// until then it is counted live, so that writes still in flight at its end
// (whose triggers saw it as current) are in its rollup.
const rollupGrace = 10 * time.Minute

// FindAnalytics computes the Analytics page for a range: volumes per day and
// channel, contacts, satisfaction, unanswered rate, latency and time to
// first token percentiles, tokens by model, ability errors, the top
// unanswered questions grouped by wording (among the most recent
// unansweredSample), and the most and least retrieved records (least: only
// for one bot, among its datasets' records). Complete past days are read from
// their rollups (analytics_rollups), the complete hours of the rest of the
// range (today, yesterday during rollupGrace, a partial first or last day)
// from theirs (analytics_hour_rollups); periods missing or marked dirty are
// rolled up first, consecutive ones together, each under its day's lock
// (ensureRollups). Only what is left (the current hour, the last one during
// rollupGrace, and the unaligned ends of a range) is counted live, with the
// same queries (see planAnalytics). Active contacts are the union of the
// periods' contact sets. Latency and TTFT percentiles come from merged
// histograms (see hist).
func (s *Store) FindAnalytics(ctx context.Context, a models.AnalyticsQuery) (*models.Analytics, error) {
	if a.BotID != "" && !models.ValidID(a.BotID) {
		return &models.Analytics{}, nil
	}
	a.Since, a.Until = a.Since.UTC(), a.Until.UTC()
	lo := a.Since
	if lo.IsZero() {
		// Nothing is earlier than the first activity: its day counts whole.
		first, err := s.firstActivity(ctx)
		if err != nil {
			return nil, err
		}
		if !first.IsZero() {
			lo = utcDay(first)
		}
	}
	plan := analyticsPlan{live: []rollupSpan{{from: a.Since, to: a.Until}}}
	if !lo.IsZero() {
		// Judged by the store's clock and the process's, whichever is
		// earlier (the triggers use the database's).
		plan = planAnalytics(lo, a.Until, s.rollupNow().Add(-rollupGrace))
	}
	// Days first: a complete day's hours count only while it is rolled up.
	for _, sp := range slices.Concat(plan.days, plan.ensure, plan.hours) {
		if err := s.ensureRollups(ctx, sp); err != nil {
			return nil, err
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	rolled := slices.Concat(plan.days, plan.hours)
	parts := make([]map[rollupKey]*figures, len(plan.live)+len(rolled))
	for i, sp := range plan.live {
		g.Go(func() error {
			var err error
			parts[i], err = s.liveFigures(gctx, models.AnalyticsQuery{BotID: a.BotID, IncludeTests: a.IncludeTests, Since: sp.from, Until: sp.to}, dayPeriod)
			return err
		})
	}
	for i, sp := range rolled {
		g.Go(func() error {
			var err error
			parts[len(plan.live)+i], err = s.readRollups(gctx, a, sp)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return s.finishAnalytics(ctx, a, parts, rolled)
}

// analyticsPlan is how FindAnalytics reads a range: complete days from their
// rollups, complete hours from theirs, the rest live; ensure are the
// complete days whose hours are read (rolled up first, see rollupRun).
type analyticsPlan struct {
	days, hours, live, ensure []rollupSpan
}

// planAnalytics splits [lo, hi) (hi zero: no end) into the complete days
// (a period is complete once it has ended by done), the complete hours of
// the rest, and what is left to count live: at most the unaligned part of
// an hour at each end and the time from the last complete hour on.
func planAnalytics(lo, hi, done time.Time) analyticsPlan {
	var plan analyticsPlan
	// ceil is the start of the first period of p at or after t; end is
	// where the complete periods of p before t end: the start of t's
	// period or of done's, whichever is earlier (t zero: done's).
	ceil := func(p period, t time.Time) time.Time {
		if s := p.start(t); s.Before(t) {
			return s.Add(p.length)
		}
		return t
	}
	end := func(p period, t time.Time) time.Time {
		e := p.start(done)
		if !t.IsZero() && p.start(t).Before(e) {
			e = p.start(t)
		}
		return e
	}
	rest := []rollupSpan{{from: lo, to: hi}}
	if from, to := ceil(dayPeriod, lo), end(dayPeriod, hi); from.Before(to) {
		plan.days = []rollupSpan{{p: dayPeriod, from: from, to: to}}
		rest = nil
		if lo.Before(from) {
			rest = append(rest, rollupSpan{from: lo, to: from})
		}
		if hi.IsZero() || to.Before(hi) {
			rest = append(rest, rollupSpan{from: to, to: hi})
		}
	}
	live := func(from, to time.Time) {
		if to.IsZero() || from.Before(to) {
			plan.live = append(plan.live, rollupSpan{p: dayPeriod, from: from, to: to})
		}
	}
	for _, r := range rest {
		from, to := ceil(hourPeriod, r.from), end(hourPeriod, r.to)
		if !from.Before(to) {
			live(r.from, r.to)
			continue
		}
		live(r.from, from)
		plan.hours = append(plan.hours, rollupSpan{p: hourPeriod, from: from, to: to})
		for d := utcDay(from); d.Before(to) && d.Before(dayPeriod.start(done)); d = d.AddDate(0, 0, 1) {
			plan.ensure = append(plan.ensure, rollupSpan{p: dayPeriod, from: d, to: d.AddDate(0, 0, 1)})
		}
		live(to, r.to)
	}
	return plan
}

// findAnalyticsLive is FindAnalytics without rollups: every figure counted
// live over the whole range (what a period's rollup must equal; the tests
// compare the two).
func (s *Store) findAnalyticsLive(ctx context.Context, a models.AnalyticsQuery) (*models.Analytics, error) {
	if a.BotID != "" && !models.ValidID(a.BotID) {
		return &models.Analytics{}, nil
	}
	a.Since, a.Until = a.Since.UTC(), a.Until.UTC()
	part, err := s.liveFigures(ctx, a, dayPeriod)
	if err != nil {
		return nil, err
	}
	return s.finishAnalytics(ctx, a, []map[rollupKey]*figures{part}, nil)
}

// utcDay is the start of t's UTC day.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// firstActivity is the time of the earliest conversation, message, turn or
// rating (zero without any), where a range with no start begins.
func (s *Store) firstActivity(ctx context.Context) (time.Time, error) {
	db := s.db.WithContext(ctx)
	var first time.Time
	for _, q := range []struct{ table, col string }{
		{"conversations", "created_at"}, {"messages", "created_at"}, {"turns", "created_at"}, {"ratings", "updated_at"},
	} {
		var ts []time.Time
		if err := db.Table(q.table).Order(q.col).Limit(1).Pluck(q.col, &ts).Error; err != nil {
			return time.Time{}, translate(err, "analytics")
		}
		if len(ts) > 0 && (first.IsZero() || ts[0].Before(first)) {
			first = ts[0].UTC()
		}
	}
	return first, nil
}

// liveFigures counts the figures of a's range (its bot, test data unless
// IncludeTests) per period p and key, with queries that read each message
// and turn of the range: what a period's rollup stores, and what the page
// counts for the current hour. The queries run side by side (at most
// analyticsParallel at once).
func (s *Store) liveFigures(ctx context.Context, a models.AnalyticsQuery, p period) (map[rollupKey]*figures, error) {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(analyticsParallel)
	db := s.db.WithContext(ctx)
	key, format := periodExprs(s.dialect, p)
	keyOf := func(col string) (sel, group string) {
		return format(key(col)) + " AS period, COALESCE(c.bot_id, '') AS bot_id, COALESCE(c.integration_id, '') AS integration_id, c.kind AS kind",
			key(col) + ", c.bot_id, c.integration_id, c.kind"
	}
	type Keyed struct {
		Period, BotID, IntegrationID, Kind string
	}
	var mu sync.Mutex
	out := map[rollupKey]*figures{}
	fig := func(k Keyed) *figures { // under mu
		rk := rollupKey(k)
		f := out[rk]
		if f == nil {
			f = newFigures()
			out[rk] = f
		}
		return f
	}
	run := func(f func() error) {
		g.Go(func() error {
			if err := f(); err != nil {
				return translate(err, "analytics")
			}
			return nil
		})
	}
	turns := func() *gorm.DB {
		q := db.Table("turns AS t").Joins("JOIN conversations AS c ON c.id = t.conversation_id")
		return timeScope(convScope(q, a), "t.created_at", a)
	}
	tsel, tgroup := keyOf("t.created_at")
	// Whether a turn's answer did not know and whether it retrieved nothing:
	// for a day or two, a lookup per turn; for longer ranges (several days
	// rolled up at once) joins with the answers that did not know (the
	// partial index) and the turns that retrieved a record.
	dontKnow := "EXISTS (SELECT 1 FROM messages AS dk WHERE dk.id = t.bot_message_id AND " + dontKnowSQL + ")"
	noRecord := "NOT EXISTS (SELECT 1 FROM turn_records AS ur WHERE ur.turn_id = t.id)"
	unanswered := func(q *gorm.DB) *gorm.DB { return q }
	if a.Since.IsZero() || a.Until.IsZero() || a.Until.Sub(a.Since) > 48*time.Hour {
		dontKnow, noRecord = "dk.id IS NOT NULL", "ur.turn_id IS NULL"
		unanswered = func(q *gorm.DB) *gorm.DB {
			return q.Joins("LEFT JOIN (SELECT id FROM messages WHERE " + dontKnowSQL + ") AS dk ON dk.id = t.bot_message_id").
				Joins("LEFT JOIN (SELECT DISTINCT turn_id FROM turn_records) AS ur ON ur.turn_id = t.id")
		}
	}
	finished := []string{models.TurnDone, models.TurnFailed, models.TurnInterrupted}

	run(func() error {
		sel, group := keyOf("c.created_at")
		var rows []struct {
			Keyed
			Contact string
			N       int64
		}
		// Per contact too (from idx_conversations_created's columns).
		q := db.Table("conversations AS c").Select(sel + ", COALESCE(c.contact_id, '') AS contact, COUNT(*) AS n").Group(group + ", c.contact_id")
		if err := timeScope(convScope(q, a), "c.created_at", a).Scan(&rows).Error; err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			f := fig(r.Keyed)
			f.Conversations += r.N
			if r.Contact != "" {
				f.Contacts[r.Contact] = true
			}
		}
		return nil
	})
	run(func() error {
		sel, group := keyOf("m.created_at")
		var rows []struct {
			Keyed
			N int64
		}
		q := db.Table("messages AS m").Select(sel+", COUNT(*) AS n").Joins("JOIN conversations AS c ON c.id = m.conversation_id").
			Where("m.type IN ?", []string{models.MessageUser, models.MessageBot}).Group(group)
		if err := timeScope(convScope(q, a), "m.created_at", a).Scan(&rows).Error; err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			fig(r.Keyed).Messages += r.N
		}
		return nil
	})
	run(func() error {
		sel, group := keyOf("r.updated_at")
		var rows []struct {
			Keyed
			Up, Down int64
		}
		q := db.Table("ratings AS r").Joins("JOIN conversations AS c ON c.id = r.conversation_id").Group(group).
			Select(sel + ", SUM(CASE WHEN r.value > 0 THEN 1 ELSE 0 END) AS up, SUM(CASE WHEN r.value < 0 THEN 1 ELSE 0 END) AS down")
		if err := timeScope(convScope(q, a), "r.updated_at", a).Scan(&rows).Error; err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			f := fig(r.Keyed)
			f.Up += r.Up
			f.Down += r.Down
		}
		return nil
	})
	run(func() error {
		var rows []struct {
			Keyed
			TurnBot                   string
			Turns, DontKnow, NoRecord int64
		}
		err := unanswered(turns()).Select(tsel+", COALESCE(t.bot_id, '') AS turn_bot, "+
			"SUM(CASE WHEN t.status IN ? THEN 1 ELSE 0 END) AS turns, "+
			"SUM(CASE WHEN t.status = 'done' AND "+dontKnow+" THEN 1 ELSE 0 END) AS dont_know, "+
			"SUM(CASE WHEN t.status = 'done' AND NOT "+dontKnow+" AND "+noRecord+" THEN 1 ELSE 0 END) AS no_record", finished).
			Group(tgroup + ", t.bot_id").Scan(&rows).Error
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			f := fig(r.Keyed)
			f.Turns += r.Turns
			f.DontKnow += r.DontKnow
			if r.NoRecord > 0 {
				f.NoRecord[r.TurnBot] += r.NoRecord
			}
		}
		return nil
	})
	for _, h := range []struct {
		col   string
		where string
		get   func(*figures) hist
	}{
		{"t.latency_ms", "t.status = 'done'", func(f *figures) hist { return f.Latency }},
		{"t.ttft_ms", "t.status = 'done' AND t.ttft_ms IS NOT NULL", func(f *figures) hist { return f.TTFT }},
	} {
		run(func() error {
			var rows []struct {
				Keyed
				V, N int64
			}
			if err := turns().Select(tsel + ", " + h.col + " AS v, COUNT(*) AS n").Where(h.where).Group(tgroup + ", " + h.col).Scan(&rows).Error; err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rows {
				h.get(fig(r.Keyed)).addValue(r.V, r.N)
			}
			return nil
		})
	}
	run(func() error {
		var rows []struct {
			Keyed
			models.ModelTokens
		}
		err := turns().Select(tsel + ", t.model, COUNT(*) AS turns, SUM(t.input_tokens) AS input_tokens, SUM(t.output_tokens) AS output_tokens").
			Where("t.model <> ''").Group(tgroup + ", t.model").Scan(&rows).Error
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			fig(r.Keyed).add(&figures{Tokens: map[string]*models.ModelTokens{r.Model: &r.ModelTokens}})
		}
		return nil
	})
	run(func() error {
		var rows []struct {
			Keyed
			models.AbilityErrors
		}
		err := turns().Joins("JOIN turn_calls AS k ON k.turn_id = t.id").
			Select(tsel + ", k.ability, COUNT(*) AS calls, SUM(CASE WHEN k.error <> '' THEN 1 ELSE 0 END) AS errors").
			Group(tgroup + ", k.ability").Scan(&rows).Error
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			fig(r.Keyed).add(&figures{Abilities: map[string]*models.AbilityErrors{r.Ability: &r.AbilityErrors}})
		}
		return nil
	})
	run(func() error {
		var rows []struct {
			Keyed
			RecordID, DatasetID, Source string
			Uses                        int64
		}
		source := "MAX(tr.source)"
		if s.dialect == Postgres {
			source = `MAX(tr.source COLLATE "C")` // the greatest byte-wise, as merging days takes it
		}
		err := turns().Joins("JOIN turn_records AS tr ON tr.turn_id = t.id").
			Select(tsel + ", tr.record_id, tr.dataset_id, " + source + " AS source, COUNT(*) AS uses").
			Group(tgroup + ", tr.record_id, tr.dataset_id").Scan(&rows).Error
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			fig(r.Keyed).add(&figures{Records: map[recordKey]*recordUses{{r.RecordID, r.DatasetID}: {Source: r.Source, Uses: r.Uses}}})
		}
		return nil
	})
	run(func() error {
		// The candidates for the top unanswered questions (those with their
		// question still there); capped per key below.
		var rows []struct {
			Keyed
			ID, ConversationID string
			CreatedAt          time.Time
			TurnBot, Text      string
			NoRecord           int
		}
		err := unanswered(turns()).Joins("CROSS JOIN messages AS u").Where("u.id = t.user_message_id").
			Select(tsel + ", t.id, t.conversation_id, t.created_at, COALESCE(t.bot_id, '') AS turn_bot, u.text, " +
				"CASE WHEN " + dontKnow + " THEN 0 ELSE 1 END AS no_record").
			Where("t.status = 'done' AND (" + dontKnow + " OR " + noRecord + ")").Scan(&rows).Error
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			f := fig(r.Keyed)
			f.Samples = append(f.Samples, questionSample{At: r.CreatedAt.UTC(), TurnID: r.ID, BotID: r.TurnBot,
				NoRecord: r.NoRecord == 1, ConversationID: r.ConversationID, Text: r.Text})
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, f := range out {
		f.Samples = capSamples(f.Samples)
	}
	return out, nil
}

// finishAnalytics turns the figures of the range's parts (and, for the
// rolled-up spans, their samples, read most recent first until enough) into
// the page: it reads the integrations' types, which bots have a
// dataset, the unanswered questions' text and the records' text, and ranks.
func (s *Store) finishAnalytics(ctx context.Context, a models.AnalyticsQuery, parts []map[rollupKey]*figures, rolled []rollupSpan) (*models.Analytics, error) {
	db := s.db.WithContext(ctx)
	out := &models.Analytics{}
	total := newFigures()
	type dayChannel struct{ day, integration string }
	days := map[dayChannel]*models.DayCount{}
	integrations := map[string]string{}
	for _, p := range parts {
		for k, f := range p {
			total.add(f)
			if err := total.addRaw(f); err != nil {
				return nil, err
			}
			if f.Conversations == 0 && f.Messages == 0 {
				continue
			}
			dc := dayChannel{k.day(), k.IntegrationID}
			d := days[dc]
			if d == nil {
				d = &models.DayCount{Day: dc.day}
				days[dc] = d
			}
			d.Conversations += f.Conversations
			d.Messages += f.Messages
			if k.IntegrationID != "" {
				integrations[k.IntegrationID] = "api"
			}
		}
	}
	if len(integrations) > 0 {
		var rows []struct{ ID, Type string }
		if err := db.Table("integrations").Select("id, type").Where("id IN ?", slices.Collect(maps.Keys(integrations))).Scan(&rows).Error; err != nil {
			return nil, translate(err, "analytics")
		}
		for _, r := range rows {
			integrations[r.ID] = r.Type
		}
	}
	// Days per channel: an integration's type, or "api" (none, or deleted).
	byChannel := map[[2]string]*models.DayCount{}
	for dc, d := range days {
		ch := "api"
		if dc.integration != "" {
			ch = integrations[dc.integration]
		}
		k := [2]string{dc.day, ch}
		if byChannel[k] == nil {
			byChannel[k] = &models.DayCount{Day: dc.day, Channel: ch}
		}
		byChannel[k].Conversations += d.Conversations
		byChannel[k].Messages += d.Messages
	}
	for _, d := range byChannel {
		out.Days = append(out.Days, *d)
		out.Conversations += d.Conversations
		out.Messages += d.Messages
	}
	sortDays(out.Days)

	var withDataset []string
	if err := db.Table("bot_datasets").Distinct("bot_id").Pluck("bot_id", &withDataset).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	hasDataset := map[string]bool{}
	for _, b := range withDataset {
		hasDataset[b] = true
	}
	out.ActiveContacts = int64(len(total.Contacts))
	out.Up, out.Down, out.Turns, out.Unanswered = total.Up, total.Down, total.Turns, total.DontKnow
	for b, n := range total.NoRecord {
		if hasDataset[b] {
			out.Unanswered += n
		}
	}
	out.LatencyP50, out.LatencyP95, _ = total.Latency.percentiles()
	out.TTFTP50, out.TTFTP95, out.TTFTTurns = total.TTFT.percentiles()
	for _, t := range total.Tokens {
		out.Tokens = append(out.Tokens, *t)
	}
	slices.SortFunc(out.Tokens, func(x, y models.ModelTokens) int {
		return cmp.Or(cmp.Compare(y.OutputTokens, x.OutputTokens), cmp.Compare(x.Model, y.Model))
	})
	out.Tokens = out.Tokens[:min(len(out.Tokens), analyticsTopN)]
	for _, e := range total.Abilities {
		out.Abilities = append(out.Abilities, *e)
	}
	slices.SortFunc(out.Abilities, func(x, y models.AbilityErrors) int {
		return cmp.Or(cmp.Compare(y.Errors, x.Errors), cmp.Compare(y.Calls, x.Calls), cmp.Compare(x.Ability, y.Ability))
	})
	out.Abilities = out.Abilities[:min(len(out.Abilities), analyticsTopN)]

	var err error
	if out.TopUnanswered, err = s.topUnanswered(ctx, a, total.Samples, hasDataset, rolled); err != nil {
		return nil, err
	}
	if out.MostRetrieved, err = s.mostRetrieved(ctx, total.Records); err != nil {
		return nil, err
	}
	if a.BotID != "" {
		if out.LeastRetrieved, err = s.leastRetrieved(ctx, a.BotID, total.Records); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// topUnanswered groups the most recent unansweredSample questions that could
// not answer: the live parts' samples, and the rolled-up spans' read most
// recent first until enough are later than the next piece to read.
func (s *Store) topUnanswered(ctx context.Context, a models.AnalyticsQuery, samples []questionSample, hasDataset map[string]bool,
	rolled []rollupSpan) ([]models.QuestionGroup, error) {
	eligible := func(ss []questionSample) []questionSample {
		var out []questionSample
		for _, x := range ss {
			if !x.NoRecord || hasDataset[x.BotID] {
				out = append(out, x)
			}
		}
		return out
	}
	picked := eligible(samples)
	if len(rolled) > 0 {
		more, err := s.readRollupSamples(ctx, a, rolled, func(start time.Time, ss []questionSample) bool {
			later := 0
			for _, x := range picked {
				if !x.At.Before(start) {
					later++
				}
			}
			return later+len(eligible(ss)) >= unansweredSample
		}, eligible)
		if err != nil {
			return nil, err
		}
		picked = append(picked, more...)
	}
	slices.SortFunc(picked, sampleOrder)
	picked = picked[:min(len(picked), unansweredSample)]
	if len(picked) == 0 {
		return nil, nil
	}
	qs := make([]models.UnansweredQuestion, len(picked))
	for i, x := range picked {
		qs[i] = models.UnansweredQuestion{ConversationID: x.ConversationID, Text: x.Text}
	}
	return models.GroupQuestions(qs, analyticsTopN), nil
}

// mostRetrieved ranks the retrieved records (most uses first) and reads the
// first analyticsTopN's text.
func (s *Store) mostRetrieved(ctx context.Context, recs map[recordKey]*recordUses) ([]models.RecordUse, error) {
	var out []models.RecordUse
	for k, r := range recs {
		out = append(out, models.RecordUse{RecordID: k.RecordID, DatasetID: k.DatasetID, Source: r.Source, Uses: r.Uses})
	}
	slices.SortFunc(out, func(x, y models.RecordUse) int {
		return cmp.Or(cmp.Compare(y.Uses, x.Uses), cmp.Compare(x.RecordID, y.RecordID), cmp.Compare(x.DatasetID, y.DatasetID))
	})
	out = out[:min(len(out), analyticsTopN)]
	if len(out) == 0 {
		return nil, nil
	}
	ids := make([]string, len(out))
	for i, r := range out {
		ids[i] = r.RecordID
	}
	var texts []struct{ ID, Text string }
	if err := s.db.WithContext(ctx).Table("dataset_records").Select("id, SUBSTR(text, 1, 200) AS text").Where("id IN ?", ids).Scan(&texts).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	byID := map[string]string{}
	for _, t := range texts {
		byID[t.ID] = t.Text
	}
	for i := range out {
		out[i].Text = byID[out[i].RecordID]
	}
	return out, nil
}

// leastRetrieved is the bot's datasets' records used least in the range
// (uses, then id): the bot's first records by id, skipping those used, are
// read until analyticsTopN unused ones are found or all are read.
func (s *Store) leastRetrieved(ctx context.Context, botID string, recs map[recordKey]*recordUses) ([]models.RecordUse, error) {
	used := map[string]int64{}
	for k, r := range recs {
		used[k.RecordID] += r.Uses
	}
	db := s.db.WithContext(ctx)
	order := "d.id"
	if s.dialect == Postgres {
		order = `d.id COLLATE "C"` // byte-wise, as the ranking below compares
	}
	limit := len(used) + analyticsTopN
	var ids []string
	if err := db.Table("dataset_records AS d").Joins("JOIN bot_datasets AS bd ON bd.dataset_id = d.dataset_id AND bd.bot_id = ?", botID).
		Order(order).Limit(limit).Pluck("d.id", &ids).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	var pick []string
	if len(ids) < limit { // every record: rank them all
		slices.SortFunc(ids, func(x, y string) int { return cmp.Or(cmp.Compare(used[x], used[y]), cmp.Compare(x, y)) })
		pick = ids[:min(len(ids), analyticsTopN)]
	} else { // at least analyticsTopN unused: the first of them
		for _, id := range ids {
			if used[id] == 0 && len(pick) < analyticsTopN {
				pick = append(pick, id)
			}
		}
	}
	if len(pick) == 0 {
		return nil, nil
	}
	var rows []models.RecordUse
	if err := db.Table("dataset_records").Select("id AS record_id, dataset_id, source, SUBSTR(text, 1, 200) AS text").
		Where("id IN ?", pick).Scan(&rows).Error; err != nil {
		return nil, translate(err, "analytics")
	}
	byID := map[string]models.RecordUse{}
	for _, r := range rows {
		r.Uses = used[r.RecordID]
		byID[r.RecordID] = r
	}
	out := make([]models.RecordUse, 0, len(pick))
	for _, id := range pick {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func sortDays(ds []models.DayCount) {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Day != ds[j].Day {
			return ds[i].Day < ds[j].Day
		}
		return ds[i].Channel < ds[j].Channel
	})
}
