package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// benchGenVersion names the generator: a cached benchmark dataset is reused
// only when it was written by the same version (and has the same size).
// Change it whenever textGen, benchCommon or the records' shape change.
const benchGenVersion = "g2"

// benchDefaultRecords is the benchmark's dataset size unless
// PARLEY_BENCH_RECORDS says otherwise.
const benchDefaultRecords = 100_000

// benchRecords is the benchmark's dataset size: PARLEY_BENCH_RECORDS, or 100,000.
func benchRecords(b *testing.B) int {
	v := os.Getenv("PARLEY_BENCH_RECORDS")
	if v == "" {
		return benchDefaultRecords
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil || n < 1 {
		b.Fatalf("PARLEY_BENCH_RECORDS=%q: want a positive number of records", v)
	}
	return n
}

// BenchmarkSearchRecords measures one retrieval (one of 20 customer
// questions, in turn, default limit) in a dataset of PARLEY_BENCH_RECORDS
// records (100,000 by default), on each database, and reports the latency's
// p50, p95 and max in milliseconds. Building the dataset is not timed, and
// the dataset is cached between runs (see benchStore). Run it with:
//
//	go test ./models/store -run '^$' -bench SearchRecords -benchtime 200x
//
// (with TEST_DATABASE_URL set for PostgreSQL; `task bench:search` runs it at
// 1,000,000 records).
func BenchmarkSearchRecords(b *testing.B) {
	if testing.Short() {
		b.Skip("builds 100,000 records; skipped with -short")
	}
	n := benchRecords(b)
	for _, d := range storetest.Dialects(b) {
		b.Run(fmt.Sprintf("%s/records=%d", d, n), func(b *testing.B) {
			s, ds := benchStore(b, d, n)
			questions := benchQuestions()
			// An untimed round compares the results with the exhaustive
			// search's (every record with any word ranked, as before term
			// statistics: the planner's bounds made limitless), which also
			// warms the caches, as a running server's are.
			agree, want := 0, 0
			for _, q := range questions {
				rq := models.RecordQuery{DatasetIDs: []string{ds.ID}, Text: q}
				restore := store.ScaleSearchBounds(1e12)
				exact, err := s.SearchRecords(b.Context(), rq)
				restore()
				if err != nil {
					b.Fatal(err)
				}
				got, err := s.SearchRecords(b.Context(), rq)
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range exact {
					want++
					for _, g := range got {
						if g.Record.ID == e.Record.ID {
							agree++
						}
					}
				}
			}
			found := 0
			var took []time.Duration
			b.ResetTimer()
			i := 0
			for b.Loop() {
				start := time.Now()
				got, err := s.SearchRecords(b.Context(), models.RecordQuery{DatasetIDs: []string{ds.ID}, Text: questions[i%len(questions)]})
				took = append(took, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				found += len(got)
				i++
			}
			b.ReportMetric(float64(found)/float64(i), "records/op")
			if want > 0 {
				b.ReportMetric(float64(agree)/float64(want), "top3-as-exhaustive")
			}
			reportLatency(b, took)
		})
	}
}

// reportLatency reports p50, p95 and max of the durations, in milliseconds.
func reportLatency(b *testing.B, took []time.Duration) {
	b.Helper()
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	at := func(p float64) time.Duration {
		i := int(p*float64(len(took))+0.5) - 1
		return took[min(max(i, 0), len(took)-1)]
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(at(0.50)), "p50-ms")
	b.ReportMetric(ms(at(0.95)), "p95-ms")
	b.ReportMetric(ms(took[len(took)-1]), "max-ms")
}

// benchStore returns a store holding the benchmark dataset of n records.
// The dataset is cached, since writing a million records takes minutes: on
// SQLite in os.TempDir()/parley-bench-search-<n>.db, on PostgreSQL in the
// database parley_bench_search_<n> of TEST_DATABASE_URL's server (created
// when missing). It is reused when it holds exactly one dataset, named for
// the generator version and n, with n records; otherwise it is emptied and
// written again. Opening it migrates it, as a deployment would.
func benchStore(b *testing.B, dialect string, n int) (*store.Store, *models.Dataset) {
	b.Helper()
	ctx := context.Background()
	var dsn string
	switch dialect {
	case store.SQLite:
		dsn = "sqlite:" + filepath.Join(os.TempDir(), fmt.Sprintf("parley-bench-search-%d.db", n))
	case store.Postgres:
		dsn = benchPostgresDB(b, fmt.Sprintf("parley_bench_search_%d", n))
	}
	s, err := store.Open(ctx, dsn, store.Options{MaxOpenConns: 4})
	if err != nil {
		b.Fatalf("open %s: %v", dsn, err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatalf("migrate %s: %v", dsn, err)
	}
	name := fmt.Sprintf("Benchmark %s n=%d", benchGenVersion, n)
	all, err := s.AllDatasetNames(ctx, 10)
	if err != nil {
		b.Fatal(err)
	}
	if len(all) == 1 && all[0].Name == name {
		if c, err := s.CountRecords(ctx, all[0].ID); err == nil && c == int64(n) {
			ds, err := s.FindDataset(ctx, all[0].ID)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: reusing the cached %d records of %s", dialect, n, dsn)
			return s, ds
		}
	}
	for _, d := range all {
		if err := s.DeleteDataset(ctx, d.ID); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	ds := mustBenchDataset(b, s, name, n)
	if dialect == store.Postgres {
		if err := s.DB().Exec("VACUUM ANALYZE dataset_records").Error; err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s: %d records written and indexed in %v (cached in %s)", dialect, n, time.Since(start).Round(time.Millisecond), dsn)
	return s, ds
}

// benchPostgresDB returns the URL of the database name on TEST_DATABASE_URL's
// server, creating it when missing.
func benchPostgresDB(b *testing.B, name string) string {
	b.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	admin, err := store.Open(context.Background(), base, store.Options{MaxOpenConns: 1})
	if err != nil {
		b.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer admin.Close()
	var exists int64
	if err := admin.DB().Raw("SELECT count(*) FROM pg_database WHERE datname = ?", name).Scan(&exists).Error; err != nil {
		b.Fatal(err)
	}
	if exists == 0 {
		if err := admin.DB().Exec("CREATE DATABASE " + name).Error; err != nil {
			b.Fatalf("create database %s: %v", name, err)
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// mustBenchDataset writes a dataset of n generated records, the same every
// run: 1,000 records per INSERT, 50 INSERTs per transaction.
func mustBenchDataset(b *testing.B, s *store.Store, name string, n int) *models.Dataset {
	b.Helper()
	d, err := s.CreateDataset(b.Context(), models.Dataset{Name: name})
	if err != nil {
		b.Fatal(err)
	}
	gen := newTextGen()
	now := time.Now().UTC().Truncate(time.Microsecond)
	const perTx = 50_000
	for from := 0; from < n; from += perTx {
		err = s.DB().WithContext(b.Context()).Transaction(func(tx *gorm.DB) error {
			batch := make([]models.DatasetRecord, 0, 1000)
			for i := from; i < min(from+perTx, n); i++ {
				batch = append(batch, models.DatasetRecord{
					ID: models.NewID(), DatasetID: d.ID, Text: gen.record(), Source: gen.source(i),
					Meta: models.Meta{}, CreatedAt: now, UpdatedAt: now,
				})
				if len(batch) == cap(batch) || i == n-1 {
					if err := tx.CreateInBatches(batch, len(batch)).Error; err != nil {
						return err
					}
					batch = batch[:0]
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("write %d records: %v", n, err)
		}
	}
	return d
}

// benchQuestions are 20 customer questions of 4 to 8 words, all from the FAQ
// vocabulary, so their words range from very common to rare.
func benchQuestions() []string {
	return []string{
		"Can I get my money back?",
		"How do I reset my password?",
		"When will my order be delivered?",
		"Is there a warranty on the battery?",
		"How do I cancel my subscription?",
		"What payment methods do you accept?",
		"Where can I download my invoice?",
		"My device does not charge anymore",
		"Does the charger work with the adapter?",
		"How to configure the webhook integration",
		"What does shipping cost to my country?",
		"How do I export my data?",
		"Can I change the delivery address?",
		"Why was my card payment declined?",
		"How long does a refund take?",
		"Can I upgrade to the premium plan?",
		"How do I add a team member?",
		"The bluetooth speaker has no signal",
		"Where is my parcel tracking number?",
		"How to restore a backup from cloud storage",
	}
}

// textGen writes deterministic text drawn Zipf-like, as the issue describes:
// a vocabulary of 20,000 filler words plus the FAQ vocabulary (benchCommon,
// spread evenly over ranks 1 to 1,750), the word of rank r drawn with
// probability proportional to 1/r; a record is 60 such words.
type textGen struct {
	rng   *rand.Rand
	cum   []float64 // cum[r] = sum of 1/(i+1) for i <= r
	words []string  // by rank, most frequent first
}

// benchCommon is the FAQ vocabulary, spread over ranks 1 to 1,750 in this order.
var benchCommon = strings.Fields(`
	order account plan payment delivery refund support product device battery price subscription
	invoice shipping settings password email customer warranty return annual monthly page
	app team days card bank cancel update upgrade download install charge screen cable store
	address phone country tax discount coupon trial free premium business user profile login
	security data export import report dashboard notification message chat bot answer question
	help contact hours week month year time date number code error problem issue fix reset
	replace repair service center office manager staff member access permission role key
	secret token link button menu option feature version release note guide manual step
	model size color weight package box label tracking carrier courier parcel pickup locker
	window door light sensor camera speaker microphone headphone charger adapter port plug
	network wifi bluetooth signal range speed storage memory file folder photo video music
	backup restore sync cloud server database api integration webhook channel widget
	money back accept methods work configure cost serial firmware delivered declined long
	take add anymore change get`)

// benchFiller is how many filler words the vocabulary has besides benchCommon.
const benchFiller = 20_000

func newTextGen() *textGen {
	rng := rand.New(rand.NewPCG(2031, 3))
	syllables := strings.Fields("ka lo mi ren tar vel qui zan dor pel sa tu fen gri mox lin bra cor del sto")
	seen := map[string]bool{}
	for _, w := range benchCommon {
		seen[w] = true
	}
	filler := make([]string, 0, benchFiller)
	for len(filler) < benchFiller {
		var w strings.Builder
		for range 2 + rng.IntN(3) {
			w.WriteString(syllables[rng.IntN(len(syllables))])
		}
		if !seen[w.String()] {
			seen[w.String()] = true
			filler = append(filler, w.String())
		}
	}
	total := benchFiller + len(benchCommon)
	words := make([]string, total)
	for i, w := range benchCommon { // rank 1 + i*1749/(len-1), 0-based below
		words[i*1749/(len(benchCommon)-1)] = w
	}
	f := 0
	for r := range words {
		if words[r] == "" {
			words[r] = filler[f]
			f++
		}
	}
	cum := make([]float64, total)
	sum := 0.0
	for r := range cum {
		sum += 1 / float64(r+1)
		cum[r] = sum
	}
	return &textGen{rng: rng, cum: cum, words: words}
}

// word draws one word: rank r with probability ∝ 1/r.
func (g *textGen) word() string {
	u := g.rng.Float64() * g.cum[len(g.cum)-1]
	return g.words[sort.SearchFloat64s(g.cum, u)]
}

// benchRecordWords is how many words a generated record has.
const benchRecordWords = 60

// record is 60 words in sentences of 6 to 15.
func (g *textGen) record() string {
	var b strings.Builder
	left := 0
	for i := range benchRecordWords {
		w := g.word()
		if left == 0 {
			if i > 0 {
				b.WriteString(". ")
			}
			w = strings.ToUpper(w[:1]) + w[1:]
			left = 6 + g.rng.IntN(10)
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(w)
		left--
	}
	b.WriteByte('.')
	return b.String()
}

func (g *textGen) source(i int) string {
	return fmt.Sprintf("https://docs.example.com/%s/%s-%d", g.words[i%40], g.word(), i)
}
