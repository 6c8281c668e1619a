package store_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// benchRecords is the size of the benchmark's dataset.
const benchRecords = 100_000

// BenchmarkSearchRecords measures one retrieval (a user's question, default
// limit) in a dataset of 100,000 records, on each database. Building the
// dataset is not timed. Run it with:
//
//	go test ./models/store -run '^$' -bench SearchRecords -benchtime 200x
//
// (with TEST_DATABASE_URL set for PostgreSQL).
func BenchmarkSearchRecords(b *testing.B) {
	if testing.Short() {
		b.Skip("builds 100,000 records; skipped with -short")
	}
	for _, d := range storetest.Dialects(b) {
		b.Run(d, func(b *testing.B) {
			s := storetest.Open(b, d)
			start := time.Now()
			ds := mustBenchDataset(b, s, benchRecords)
			b.Logf("%s: %d records written and indexed in %v", d, benchRecords, time.Since(start).Round(time.Millisecond))
			questions := benchQuestions()
			found := 0
			b.ResetTimer()
			i := 0
			for b.Loop() {
				got, err := s.SearchRecords(b.Context(), models.RecordQuery{DatasetIDs: []string{ds.ID}, Text: questions[i%len(questions)]})
				if err != nil {
					b.Fatal(err)
				}
				found += len(got)
				i++
			}
			b.ReportMetric(float64(found)/float64(i), "records/op")
		})
	}
}

// mustBenchDataset writes a dataset of n records of varied, realistic text,
// the same every run: 1,000 records per INSERT, all in one transaction.
func mustBenchDataset(b *testing.B, s *store.Store, n int) *models.Dataset {
	b.Helper()
	d, err := s.CreateDataset(b.Context(), models.Dataset{Name: "Benchmark"})
	if err != nil {
		b.Fatal(err)
	}
	gen := newTextGen()
	now := time.Now().UTC().Truncate(time.Microsecond)
	err = s.DB().WithContext(b.Context()).Transaction(func(tx *gorm.DB) error {
		batch := make([]models.DatasetRecord, 0, 1000)
		for i := range n {
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
	return d
}

// benchQuestions are what users ask: common words, rare ones, and both.
func benchQuestions() []string {
	g := newTextGen()
	rare := func(i int) string { return g.words[len(g.words)/2+i*97] }
	return []string{
		"Can I get my money back for the annual plan?",
		"How do I reset my password?",
		"When will my order be delivered?",
		"Is there a warranty on the battery?",
		"How do I cancel my subscription and get a refund?",
		"What payment methods do you accept?",
		"Where can I download the invoice for my last order?",
		"My device does not charge, what should I do?",
		"Does the " + rare(1) + " work with the " + rare(2) + "?",
		"What is " + rare(3) + "?",
		"How to configure " + rare(4) + " on the account settings page",
		"shipping cost to " + rare(5),
	}
}

// textGen writes deterministic text whose word frequencies follow Zipf's law,
// like real documentation: a few hundred words everywhere, a long tail of
// product names and jargon that each appear in a handful of records.
type textGen struct {
	rng   *rand.Rand
	zipf  *rand.Zipf
	words []string
}

// benchCommon are the frequent words, most frequent first.
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
	money back accept methods work configure cost charge serial firmware`)

func newTextGen() *textGen {
	rng := rand.New(rand.NewPCG(2031, 3))
	words := append([]string{}, benchCommon...)
	syllables := strings.Fields("ka lo mi ren tar vel qui zan dor pel sa tu fen gri mox lin bra cor del sto")
	seen := map[string]bool{}
	for _, w := range words {
		seen[w] = true
	}
	for len(words) < 20_000 {
		var w strings.Builder
		for range 2 + rng.IntN(3) {
			w.WriteString(syllables[rng.IntN(len(syllables))])
		}
		if !seen[w.String()] {
			seen[w.String()] = true
			words = append(words, w.String())
		}
	}
	return &textGen{rng: rng, zipf: rand.NewZipf(rng, 1.1, 50, uint64(len(words)-1)), words: words}
}

func (g *textGen) word() string { return g.words[g.zipf.Uint64()] }

// record is a few sentences, 20 to 90 words in all.
func (g *textGen) record() string {
	glue := []string{"the", "a", "to", "for", "with", "your", "is", "and", "of", "on", "in", "can", "you", "we"}
	var b strings.Builder
	for range 2 + g.rng.IntN(4) {
		n := 6 + g.rng.IntN(12)
		for j := range n {
			w := g.word()
			if j == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			} else {
				b.WriteByte(' ')
				if g.rng.IntN(3) == 0 {
					b.WriteString(glue[g.rng.IntN(len(glue))])
					b.WriteByte(' ')
				}
			}
			b.WriteString(w)
		}
		b.WriteString(". ")
	}
	return strings.TrimSpace(b.String())
}

func (g *textGen) source(i int) string {
	return fmt.Sprintf("https://docs.example.com/%s/%s-%d", g.words[i%40], g.word(), i)
}
