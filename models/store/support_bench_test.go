package store_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// supportBenchMessages is the default size of the support benchmark;
// PARLEY_BENCH_MESSAGES=1000000 runs it at a million (task bench:support).
const supportBenchMessages = 20_000

// supportBenchSize reads PARLEY_BENCH_MESSAGES.
func supportBenchSize(b *testing.B) int {
	b.Helper()
	n := supportBenchMessages
	if v := os.Getenv("PARLEY_BENCH_MESSAGES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			b.Fatalf("PARLEY_BENCH_MESSAGES=%q: want a number of at least 100", v)
		}
	}
	return n
}

// supportBench is what the generator made, for the queries to use.
type supportBench struct {
	bots    []string
	tags    []string
	ops     []string
	from    time.Time
	to      time.Time
	contact string
}

// keptSupportBench is supportBench as stored in a kept schema's bench_support
// table, so a later run finds the ids the generator made.
type keptSupportBench struct {
	N       int
	Bots    []string
	Tags    []string
	Ops     []string
	From    time.Time
	To      time.Time
	Contact string
}

// openSupportBench returns the store and data of the benchmark. With
// PARLEY_BENCH_SCHEMA=name on PostgreSQL the data lives in that schema and
// is kept: the first run builds it, later runs of the same size reuse it
// (a different size is refused rather than mixed). Otherwise a fresh
// database is built and dropped.
func openSupportBench(b *testing.B, d string, n int) (*store.Store, supportBench) {
	b.Helper()
	schema := os.Getenv("PARLEY_BENCH_SCHEMA")
	if schema == "" || d != store.Postgres {
		s := storetest.Open(b, d)
		start := time.Now()
		f := mustSupportBench(b, s, n)
		b.Logf("%s: %d messages written and indexed in %v", d, n, time.Since(start).Round(time.Millisecond))
		return s, f
	}
	s := storetest.OpenKept(b, schema)
	db := s.DB().WithContext(b.Context())
	if err := db.Exec("CREATE TABLE IF NOT EXISTS bench_support (data text NOT NULL)").Error; err != nil {
		b.Fatal(err)
	}
	var data []string
	if err := db.Raw("SELECT data FROM bench_support").Scan(&data).Error; err != nil {
		b.Fatal(err)
	}
	if len(data) > 0 {
		var k keptSupportBench
		if err := json.Unmarshal([]byte(data[0]), &k); err != nil {
			b.Fatal(err)
		}
		if k.N != n {
			b.Fatalf("schema %s holds %d messages, not %d: drop it or name another", schema, k.N, n)
		}
		b.Logf("%s: reusing %d messages in schema %s", d, n, schema)
		return s, supportBench{bots: k.Bots, tags: k.Tags, ops: k.Ops, from: k.From, to: k.To, contact: k.Contact}
	}
	var bots int64
	if err := db.Table("bots").Count(&bots).Error; err != nil {
		b.Fatal(err)
	}
	if bots > 0 {
		b.Fatalf("schema %s holds an unfinished build: drop it (DROP SCHEMA %s CASCADE) or name another", schema, schema)
	}
	start := time.Now()
	f := mustSupportBench(b, s, n)
	b.Logf("%s: %d messages written and indexed in %v (kept in schema %s)", d, n, time.Since(start).Round(time.Millisecond), schema)
	raw, err := json.Marshal(keptSupportBench{N: n, Bots: f.bots, Tags: f.tags, Ops: f.ops, From: f.from, To: f.to, Contact: f.contact})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Exec("INSERT INTO bench_support (data) VALUES (?)", string(raw)).Error; err != nil {
		b.Fatal(err)
	}
	return s, f
}

// mustSupportBench writes n messages in n/10 conversations the way real
// traffic looks, the same every run (seeded): five bots (three with a
// dataset), 5% test conversations, half with a contact, dates spread over 90
// days; each conversation five turns of a user message and a bot answer
// (with a record retrieved for 80% of them, 2% failing, 5% answering "I
// don't know"); votes on 5% of the answers, tags on 2%; review statuses and
// assignees on a few. Rows go in 1,000 per INSERT, in one transaction.
func mustSupportBench(b *testing.B, s *store.Store, n int) supportBench {
	b.Helper()
	ctx := b.Context()
	rng := rand.New(rand.NewPCG(2026, 12))
	gen := newTextGen()
	var out supportBench
	ds, err := s.CreateDataset(ctx, models.Dataset{Name: "Bench FAQ"})
	if err != nil {
		b.Fatal(err)
	}
	rec, err := s.CreateRecord(ctx, models.DatasetRecord{DatasetID: ds.ID, Text: "Refunds are paid within five days."})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 5 {
		in := store.BotInput{Bot: models.Bot{Name: fmt.Sprintf("Bench bot %d", i), Model: "local"}}
		if i < 3 {
			in.DatasetIDs = []string{ds.ID}
		}
		bot, err := s.CreateBot(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		out.bots = append(out.bots, bot.ID)
		for j := range 3 {
			t, err := s.CreateTag(ctx, models.Tag{BotID: bot.ID, Name: fmt.Sprintf("tag %d", j), Color: "red"})
			if err != nil {
				b.Fatal(err)
			}
			out.tags = append(out.tags, t.ID)
		}
	}
	for i := range 3 {
		op, err := s.CreateOperator(ctx, models.Operator{Email: fmt.Sprintf("bench%d@example.com", i), Role: models.RoleSupport}, testPassword)
		if err != nil {
			b.Fatal(err)
		}
		out.ops = append(out.ops, op.ID)
	}
	convs := max(1, n/10)
	base := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	span := 90 * 24 * time.Hour
	out.from, out.to = base.Add(30*24*time.Hour), base.Add(37*24*time.Hour)
	w := &benchWriter{rng: rng, gen: gen, bots: out.bots, tags: out.tags, ops: out.ops, recordID: rec.ID, datasetID: ds.ID, contacts: convs/4 + 1}
	err = s.DB().WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for i := range convs {
			w.conversation(base.Add(span/time.Duration(convs)*time.Duration(i)), "")
			if err := w.flush(tx, false); err != nil {
				return err
			}
		}
		return w.finish(tx)
	})
	out.contact = w.firstContact
	if err != nil {
		b.Fatalf("write %d messages: %v", n, err)
	}
	if s.Dialect() == store.Postgres {
		if err := s.DB().WithContext(ctx).Exec("VACUUM ANALYZE").Error; err != nil {
			b.Fatal(err)
		}
	}
	return out
}

// benchWriter makes the benchmark's conversations (see mustSupportBench)
// and writes them in batches.
type benchWriter struct {
	rng                 *rand.Rand
	gen                 *textGen
	bots, tags, ops     []string
	recordID, datasetID string
	contacts            int    // how many distinct contacts there are
	firstContact        string // the first real conversation's contact
	cs                  []models.Conversation
	reviews             []struct{ id, status, assignee string }
	ms                  []models.Message
	ts                  []models.Turn
	trs                 []models.TurnRecord
	rs                  []models.Rating
	mts                 []models.MessageTag
}

// conversation adds a conversation created at created, named name, with five
// turns over the next minutes.
func (w *benchWriter) conversation(created time.Time, name string) {
	rng, gen := w.rng, w.gen
	botIdx := rng.IntN(len(w.bots))
	c := models.Conversation{ID: models.NewID(), BotID: &w.bots[botIdx], Name: name, Meta: models.Meta{}, Kind: models.ConversationChat,
		CreatedAt: created, UpdatedAt: created}
	if rng.IntN(20) == 0 {
		c.Kind = models.ConversationTest
	}
	if rng.IntN(2) == 0 {
		c.ContactID = ptr(fmt.Sprintf("contact-%d", rng.IntN(w.contacts)))
		if w.firstContact == "" && c.Kind == models.ConversationChat {
			w.firstContact = *c.ContactID
		}
	}
	w.cs = append(w.cs, c)
	if rng.IntN(10) == 0 {
		statuses := []string{models.ReviewInReview, models.ReviewNeedsFix, models.ReviewResolved}
		rv := struct{ id, status, assignee string }{c.ID, statuses[rng.IntN(len(statuses))], ""}
		if rng.IntN(2) == 0 {
			rv.assignee = w.ops[rng.IntN(len(w.ops))]
		}
		w.reviews = append(w.reviews, rv)
	}
	at := created
	for range 5 {
		at = at.Add(time.Duration(10+rng.IntN(200)) * time.Second)
		u := models.Message{ID: models.NewID(), ConversationID: c.ID, Type: models.MessageUser, Text: userLine(gen), Meta: models.Meta{}, CreatedAt: at, UpdatedAt: at}
		at = at.Add(time.Duration(1+rng.IntN(5)) * time.Second)
		turnID := models.NewID()
		answer := gen.record()
		if rng.IntN(20) == 0 {
			answer = "I don't know: nothing in my knowledge base covers that."
		}
		bm := models.Message{ID: models.NewID(), ConversationID: c.ID, Type: models.MessageBot, Text: answer, TurnID: &turnID, Meta: models.Meta{}, CreatedAt: at, UpdatedAt: at}
		t := models.Turn{ID: turnID, ConversationID: c.ID, UserMessageID: &u.ID, BotMessageID: &bm.ID, Status: models.TurnDone, BotID: c.BotID,
			Provider: "local", Model: "local", QueuedAt: at, LatencyMs: int64(100 + rng.IntN(900)), EndReason: models.EndStop, CreatedAt: at, UpdatedAt: at}
		if rng.IntN(50) == 0 {
			bm.Type, bm.Text = models.MessageActivity, "The model is unavailable."
			t.Status, t.BotMessageID, t.ErrorMessageID, t.EndReason, t.ErrorStage, t.Error = models.TurnFailed, nil, &bm.ID, models.EndError, "model", "unavailable"
		}
		w.ms = append(w.ms, u, bm)
		w.ts = append(w.ts, t)
		if rng.IntN(5) != 0 && t.Status == models.TurnDone {
			w.trs = append(w.trs, models.TurnRecord{TurnID: turnID, Rank: 1, RecordID: w.recordID, DatasetID: w.datasetID, Score: 0.5})
		}
		if rng.IntN(20) == 0 && bm.Type == models.MessageBot {
			kind, key := models.RaterOperator, "operator:"+w.ops[0]
			if rng.IntN(2) == 0 {
				kind, key = models.RaterEndUser, "session:"+c.ID
			}
			v := 1.0
			if rng.IntN(3) == 0 {
				v = -1
			}
			w.rs = append(w.rs, models.Rating{ID: models.NewID(), ConversationID: c.ID, MessageID: bm.ID, Rater: key, RaterKind: kind, RaterName: "bench", Value: v, CreatedAt: at, UpdatedAt: at})
		}
		if rng.IntN(50) == 0 && bm.Type == models.MessageBot {
			w.mts = append(w.mts, models.MessageTag{MessageID: bm.ID, TagID: w.tags[botIdx*3+rng.IntN(3)], ConversationID: c.ID, CreatedBy: "bench", CreatedAt: at})
		}
	}
}

// flush writes what is pending once there are 1,000 messages (all of it if
// final), each table after those it refers to.
func (w *benchWriter) flush(tx *gorm.DB, final bool) error {
	if len(w.ms) < 1000 && (!final || len(w.ms) == 0) {
		return nil
	}
	// Conversations first: their messages refer to them.
	if len(w.cs) > 0 {
		if err := tx.Omit(clause.Associations).CreateInBatches(w.cs, 1000).Error; err != nil {
			return err
		}
		w.cs = w.cs[:0]
	}
	if err := tx.CreateInBatches(w.ms, 1000).Error; err != nil {
		return err
	}
	w.ms = w.ms[:0]
	// Turns refer to their messages: written after them.
	if len(w.ts) > 0 {
		if err := tx.Omit(clause.Associations).CreateInBatches(w.ts, 500).Error; err != nil {
			return err
		}
		w.ts = w.ts[:0]
	}
	if len(w.trs) > 0 {
		if err := tx.CreateInBatches(w.trs, 1000).Error; err != nil {
			return err
		}
		w.trs = w.trs[:0]
	}
	if len(w.rs) > 0 {
		if err := tx.CreateInBatches(w.rs, 1000).Error; err != nil {
			return err
		}
		w.rs = w.rs[:0]
	}
	if len(w.mts) > 0 {
		if err := tx.Omit(clause.Associations).CreateInBatches(w.mts, 1000).Error; err != nil {
			return err
		}
		w.mts = w.mts[:0]
	}
	return nil
}

// finish writes the rest and the review statuses and assignees.
func (w *benchWriter) finish(tx *gorm.DB) error {
	if err := w.flush(tx, true); err != nil {
		return err
	}
	for _, rv := range w.reviews {
		up := map[string]any{"review_status": rv.status}
		if rv.assignee != "" {
			up["assignee_id"] = rv.assignee
		}
		if err := tx.Table("conversations").Where("id = ?", rv.id).Updates(up).Error; err != nil {
			return err
		}
	}
	w.reviews = w.reviews[:0]
	return nil
}

// benchTodayName names the conversations mustBenchToday adds.
const benchTodayName = "bench today"

// mustBenchToday adds today's traffic to the benchmark's data (which is in
// the past): a typical day's share of the n messages (n/90, as the generator
// spreads them over 90 days), made like the rest (benchWriter), in
// conversations spread evenly over today's hours so far, the last started 20
// minutes ago so that all of its messages are in the past. What an earlier
// run added is removed first, and this at the end of the benchmark, so the
// other cases' data stays as built. It returns the start of today (UTC).
func mustBenchToday(b *testing.B, s *store.Store, f supportBench, n int) time.Time {
	b.Helper()
	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	last := now.Add(-20 * time.Minute)
	if last.Sub(today) < 10*time.Minute {
		b.Skip("today's traffic needs half an hour of today: run after 00:30 UTC")
	}
	remove := func() {
		if err := s.DB().Exec("DELETE FROM conversations WHERE name = ?", benchTodayName).Error; err != nil {
			b.Error(err)
		}
	}
	remove()
	b.Cleanup(remove)
	db := s.DB().WithContext(b.Context())
	var rec struct{ ID, DatasetID string }
	if err := db.Raw("SELECT r.id, r.dataset_id FROM dataset_records AS r JOIN datasets AS d ON d.id = r.dataset_id WHERE d.name = 'Bench FAQ'").
		Scan(&rec).Error; err != nil || rec.ID == "" {
		b.Fatalf("the benchmark's record: %v", err)
	}
	w := &benchWriter{rng: rand.New(rand.NewPCG(2026, 13)), gen: newTextGen(), bots: f.bots, tags: f.tags, ops: f.ops,
		recordID: rec.ID, datasetID: rec.DatasetID, contacts: n/40 + 1}
	convs := max(1, n/900)
	err := db.Transaction(func(tx *gorm.DB) error {
		for i := range convs {
			w.conversation(today.Add(last.Sub(today)/time.Duration(convs)*time.Duration(i)), benchTodayName)
			if err := w.flush(tx, false); err != nil {
				return err
			}
		}
		return w.finish(tx)
	})
	if err != nil {
		b.Fatalf("write today's %d conversations: %v", convs, err)
	}
	b.Logf("today: %d messages in %d conversations from 00:00 to %s UTC", convs*10, convs, last.Format("15:04"))
	return today
}

// userLine is a user's message: one short sentence.
func userLine(g *textGen) string {
	r := g.record()
	for i, ch := range r {
		if ch == '.' && i > 20 {
			return r[:i+1]
		}
	}
	return r
}

// BenchmarkSupportList measures the conversation list's common filters,
// message search and the Analytics page's figures on n messages (PARLEY_BENCH_MESSAGES; 20,000 by default,
// task bench:support runs 1,000,000 on PostgreSQL), reporting each query's
// p95 in milliseconds besides ns/op. Building the data is not timed.
func BenchmarkSupportList(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a large conversation set; skipped with -short")
	}
	n := supportBenchSize(b)
	for _, d := range storetest.Dialects(b) {
		b.Run(d, func(b *testing.B) {
			s, f := openSupportBench(b, d, n)
			page := models.Page{Limit: models.DefaultPageSize}
			cf := func(mod func(*models.ConversationQuery)) models.ConversationQuery {
				q := models.ConversationQuery{ConversationFilter: models.ConversationFilter{Page: page}}
				mod(&q)
				return q
			}
			lists := []struct {
				name string
				q    models.ConversationQuery
			}{
				{"list/default", cf(func(*models.ConversationQuery) {})},
				{"list/bot", cf(func(q *models.ConversationQuery) { q.BotID = f.bots[1] })},
				{"list/bot+dates", cf(func(q *models.ConversationQuery) { q.BotID, q.Since, q.Until = f.bots[1], f.from, f.to })},
				{"list/contact", cf(func(q *models.ConversationQuery) { q.ContactID = f.contact })},
				{"list/needs-fix", cf(func(q *models.ConversationQuery) { q.ReviewStatus = models.ReviewNeedsFix })},
				{"list/assignee", cf(func(q *models.ConversationQuery) { q.AssigneeID = f.ops[1] })},
				{"list/rating-down", cf(func(q *models.ConversationQuery) { q.Rating = models.RatingDown })},
				{"list/rating-down-end-user", cf(func(q *models.ConversationQuery) { q.Rating, q.RaterKind = models.RatingDown, models.RaterEndUser })},
				{"list/tag", cf(func(q *models.ConversationQuery) { q.TagID = f.tags[4] })},
				{"list/has-error", cf(func(q *models.ConversationQuery) { q.HasError = true })},
				{"list/unanswered", cf(func(q *models.ConversationQuery) { q.Unanswered = true })},
				{"list/bot+rating-up+dates", cf(func(q *models.ConversationQuery) {
					q.BotID, q.Rating, q.Since, q.Until = f.bots[2], models.RatingUp, f.from, f.to
				})},
			}
			for _, l := range lists {
				b.Run(l.name, func(b *testing.B) {
					benchP95(b, func() int {
						rows, _, err := s.FindConversationRows(b.Context(), l.q)
						if err != nil {
							b.Fatal(err)
						}
						return len(rows)
					})
				})
			}
			analytics := []struct {
				name string
				q    models.AnalyticsQuery
			}{
				{"analytics/all-90-days", models.AnalyticsQuery{Since: f.from.AddDate(0, -1, 0), Until: f.from.AddDate(0, 2, 0)}},
				{"analytics/bot-week", models.AnalyticsQuery{BotID: f.bots[0], Since: f.from, Until: f.to}},
			}
			for _, an := range analytics {
				find := func() int {
					a, err := s.FindAnalytics(b.Context(), an.q)
					if err != nil {
						b.Fatal(err)
					}
					return int(a.Conversations)
				}
				// Cold: no day rolled up yet, the page computes them (the
				// rollups are dropped, untimed, before each run). Warm: the
				// days are rolled up, as the background job keeps them.
				b.Run(an.name+"/cold", func(b *testing.B) {
					benchP95Setup(b, func() {
						if err := s.DB().Exec("DELETE FROM analytics_rollup_days").Error; err != nil {
							b.Fatal(err)
						}
					}, find)
				})
				b.Run(an.name+"/warm", func(b *testing.B) { benchP95(b, find) })
			}
			// The page's default view, the last 30 days, today included:
			// today holds a typical day's messages (mustBenchToday). Warm:
			// past days and today's complete hours rolled up; cold-hours:
			// today's hours not (dropped, untimed, before each run), as on
			// a first view before the background job has run.
			b.Run("analytics/last-30-days", func(b *testing.B) {
				today := mustBenchToday(b, s, f, n)
				q := models.AnalyticsQuery{Since: today.AddDate(0, 0, -29), Until: today.AddDate(0, 0, 1)}
				find := func() int {
					a, err := s.FindAnalytics(b.Context(), q)
					if err != nil {
						b.Fatal(err)
					}
					return int(a.Conversations)
				}
				find() // rolls up what is complete, untimed
				b.Run("warm", func(b *testing.B) { benchP95(b, find) })
				b.Run("cold-hours", func(b *testing.B) {
					benchP95Setup(b, func() {
						if err := s.DB().Exec("DELETE FROM analytics_rollup_hours").Error; err != nil {
							b.Fatal(err)
						}
					}, find)
				})
			})
			g := newTextGen()
			searches := []struct {
				name string
				q    models.MessageSearch
			}{
				{"search/common", models.MessageSearch{Text: "order"}},
				{"search/two-words", models.MessageSearch{Text: "refund payment"}},
				{"search/rare", models.MessageSearch{Text: g.words[len(g.words)/2]}},
				{"search/none", models.MessageSearch{Text: "zzyzx"}},
				{"search/common+bot", models.MessageSearch{Text: "order", ConversationQuery: models.ConversationQuery{ConversationFilter: models.ConversationFilter{BotID: f.bots[3]}}}},
			}
			for _, sc := range searches {
				sc.q.Page = page
				b.Run(sc.name, func(b *testing.B) {
					benchP95(b, func() int {
						hits, _, err := s.SearchMessages(b.Context(), sc.q)
						if err != nil {
							b.Fatal(err)
						}
						return len(hits)
					})
				})
			}
		})
	}
}

// benchP95 runs op b.N times and reports the p50 and p95 of its durations in
// milliseconds (p50-ms, p95-ms) and the rows it returned (rows/op).
func benchP95(b *testing.B, op func() int) {
	b.Helper()
	benchP95Setup(b, nil, op)
}

// benchP95Setup is benchP95 with setup run, untimed, before each op.
func benchP95Setup(b *testing.B, setup func(), op func() int) {
	b.Helper()
	var ds []time.Duration
	rows := 0
	for b.Loop() {
		if setup != nil {
			b.StopTimer()
			setup()
			b.StartTimer()
		}
		t := time.Now()
		rows += op()
		ds = append(ds, time.Since(t))
	}
	slices.Sort(ds)
	p50 := ds[min(len(ds)-1, len(ds)/2)]
	p95 := ds[min(len(ds)-1, len(ds)*95/100)]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(rows)/float64(len(ds)), "rows/op")
}
