package store_test

import (
	"testing"
	"time"

	"gorm.io/gorm"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
	"parley/seed"
)

// relevanceFiller is how many generated records pad the seed FAQ dataset in
// TestSearchRelevance, so that ranking matters: the generator's words include
// the FAQ's common ones (plan, file, storage, password…).
const relevanceFiller = 20_000

// relevanceBaseline is, per database, how many of relevanceQuestions found
// their record in the top 3 with the search as it was before term statistics
// (every record matching any word ranked): the search must never do worse.
var relevanceBaseline = map[string]int{store.SQLite: 19, store.Postgres: 18}

// relevanceQuestions are paraphrases of the seed FAQ records' questions, by
// the record's source path under https://help.northwind.example/.
var relevanceQuestions = map[string]string{
	"billing/plans":          "How much does the Team plan cost each month?",
	"billing/refunds":        "Can I get my money back after paying for a year?",
	"billing/change-plan":    "How do I upgrade or downgrade my plan?",
	"storage/limits":         "What happens when I go over my storage limit?",
	"storage/file-size":      "What is the largest file I can upload?",
	"sharing/links":          "How do I share a folder with a link?",
	"account/password-reset": "I forgot my password, how do I sign in again?",
	"security/two-factor":    "Can I protect my login with an authenticator app?",
	"account/delete":         "How do I close my account for good?",
	"account/export":         "How can I get a ZIP of all my data?",
	"apps/platforms":         "Does the desktop app run on Linux?",
	"sync/conflicts":         "Why do I see a conflicted copy of my file?",
	"sync/offline":           "Can I keep files available offline on my phone?",
	"teams/roles":            "What can a team admin do that a member cannot?",
	"billing/invoices":       "Where can I get a PDF invoice?",
	"security/data-regions":  "Can my files be stored in the EU?",
	"legal/sla":              "Do you guarantee uptime, and what credit do I get?",
	"support/contact":        "When is support staffed and how fast do they reply?",
	"files/version-history":  "How do I restore an older version of a document?",
	"files/trash":            "How long do deleted files stay in the trash?",
}

// TestSearchRelevance is the relevance check: in the seed FAQ dataset padded
// with relevanceFiller generated records, a paraphrased question about each
// FAQ record finds it in the top 3, at least as often as relevanceBaseline.
func TestSearchRelevance(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 20,000 records; skipped with -short")
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		res, err := seed.Run(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		mustFiller(t, s, res.DatasetID, relevanceFiller)
		// As is, most questions' words are few enough on 20,000 records to
		// rank every record holding any of them; with the planner's bounds
		// scaled by 20,000/1,000,000 the search plans as it would on a
		// million records, ranking only the rare words' records.
		for _, c := range []struct {
			name  string
			scale float64
		}{{"bounds as is", 1}, {"bounds as at 1,000,000 records", float64(relevanceFiller) / 1_000_000}} {
			restore := store.ScaleSearchBounds(c.scale)
			passed := 0
			for path, question := range relevanceQuestions {
				source := "https://help.northwind.example/" + path
				found := searchIn(t, s, res.DatasetID, question)
				ok := false
				for _, f := range found {
					ok = ok || f.Record.Source == source
				}
				if ok {
					passed++
				} else {
					t.Logf("%s: %s: %q did not find it in the top 3:%s", c.name, path, question, describe(found))
				}
			}
			restore()
			t.Logf("relevance, %s: %d of %d paraphrased questions found their FAQ record in the top 3 among %d records", c.name, passed, len(relevanceQuestions), relevanceFiller+len(relevanceQuestions))
			if want := relevanceBaseline[s.Dialect()]; passed < want {
				t.Errorf("relevance, %s: %d of %d found their record, want at least %d (the search before term statistics)", c.name, passed, len(relevanceQuestions), want)
			}
		}
	})
}

// mustFiller adds n generated records (the benchmark's generator) to a dataset.
func mustFiller(t *testing.T, s *store.Store, datasetID string, n int) {
	t.Helper()
	gen := newTextGen()
	now := time.Now().UTC().Truncate(time.Microsecond)
	err := s.DB().WithContext(t.Context()).Transaction(func(tx *gorm.DB) error {
		batch := make([]models.DatasetRecord, 0, 1000)
		for i := range n {
			batch = append(batch, models.DatasetRecord{
				ID: models.NewID(), DatasetID: datasetID, Text: gen.record(), Source: gen.source(i),
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
		t.Fatalf("write %d filler records: %v", n, err)
	}
}
