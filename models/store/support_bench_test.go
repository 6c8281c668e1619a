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
	var (
		cs      []models.Conversation
		reviews []struct{ id, status, assignee string }
		ms      []models.Message
		ts      []models.Turn
		trs     []models.TurnRecord
		rs      []models.Rating
		mts     []models.MessageTag
	)
	flush := func(tx *gorm.DB, final bool) error {
		if len(ms) >= 1000 || (final && len(ms) > 0) {
			// Conversations first: their messages refer to them.
			if len(cs) > 0 {
				if err := tx.Omit(clause.Associations).CreateInBatches(cs, 1000).Error; err != nil {
					return err
				}
				cs = cs[:0]
			}
			if err := tx.CreateInBatches(ms, 1000).Error; err != nil {
				return err
			}
			ms = ms[:0]
			// Turns refer to their messages: written after them.
			if len(ts) > 0 {
				if err := tx.Omit(clause.Associations).CreateInBatches(ts, 500).Error; err != nil {
					return err
				}
				ts = ts[:0]
			}
			if len(trs) > 0 {
				if err := tx.CreateInBatches(trs, 1000).Error; err != nil {
					return err
				}
				trs = trs[:0]
			}
			if len(rs) > 0 {
				if err := tx.CreateInBatches(rs, 1000).Error; err != nil {
					return err
				}
				rs = rs[:0]
			}
			if len(mts) > 0 {
				if err := tx.Omit(clause.Associations).CreateInBatches(mts, 1000).Error; err != nil {
					return err
				}
				mts = mts[:0]
			}
		}
		return nil
	}
	statuses := []string{models.ReviewInReview, models.ReviewNeedsFix, models.ReviewResolved}
	err = s.DB().WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for i := range convs {
			created := base.Add(span / time.Duration(convs) * time.Duration(i))
			botIdx := rng.IntN(len(out.bots))
			c := models.Conversation{ID: models.NewID(), BotID: &out.bots[botIdx], Name: "", Meta: models.Meta{}, Kind: models.ConversationChat,
				CreatedAt: created, UpdatedAt: created}
			if rng.IntN(20) == 0 {
				c.Kind = models.ConversationTest
			}
			if rng.IntN(2) == 0 {
				c.ContactID = ptr(fmt.Sprintf("contact-%d", rng.IntN(convs/4+1)))
				if out.contact == "" && c.Kind == models.ConversationChat {
					out.contact = *c.ContactID
				}
			}
			cs = append(cs, c)
			if rng.IntN(10) == 0 {
				rv := struct{ id, status, assignee string }{c.ID, statuses[rng.IntN(len(statuses))], ""}
				if rng.IntN(2) == 0 {
					rv.assignee = out.ops[rng.IntN(len(out.ops))]
				}
				reviews = append(reviews, rv)
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
				ms = append(ms, u, bm)
				ts = append(ts, t)
				if rng.IntN(5) != 0 && t.Status == models.TurnDone {
					trs = append(trs, models.TurnRecord{TurnID: turnID, Rank: 1, RecordID: rec.ID, DatasetID: ds.ID, Score: 0.5})
				}
				if rng.IntN(20) == 0 && bm.Type == models.MessageBot {
					kind, key := models.RaterOperator, "operator:"+out.ops[0]
					if rng.IntN(2) == 0 {
						kind, key = models.RaterEndUser, "session:"+c.ID
					}
					v := 1.0
					if rng.IntN(3) == 0 {
						v = -1
					}
					rs = append(rs, models.Rating{ID: models.NewID(), ConversationID: c.ID, MessageID: bm.ID, Rater: key, RaterKind: kind, RaterName: "bench", Value: v, CreatedAt: at, UpdatedAt: at})
				}
				if rng.IntN(50) == 0 && bm.Type == models.MessageBot {
					mts = append(mts, models.MessageTag{MessageID: bm.ID, TagID: out.tags[botIdx*3+rng.IntN(3)], ConversationID: c.ID, CreatedBy: "bench", CreatedAt: at})
				}
			}
			if err := flush(tx, false); err != nil {
				return err
			}
		}
		if err := flush(tx, true); err != nil {
			return err
		}
		for _, rv := range reviews {
			up := map[string]any{"review_status": rv.status}
			if rv.assignee != "" {
				up["assignee_id"] = rv.assignee
			}
			if err := tx.Table("conversations").Where("id = ?", rv.id).Updates(up).Error; err != nil {
				return err
			}
		}
		return nil
	})
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
