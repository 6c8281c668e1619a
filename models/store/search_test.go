package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// search runs SearchRecords and fails the test on an error.
func search(t *testing.T, s *store.Store, q models.RecordQuery) []models.ScoredRecord {
	t.Helper()
	got, err := s.SearchRecords(t.Context(), q)
	if err != nil {
		t.Fatalf("SearchRecords(%q): %v", q.Text, err)
	}
	if got == nil {
		t.Fatalf("SearchRecords(%q) = nil, want a (possibly empty) slice", q.Text)
	}
	return got
}

// searchIn searches one dataset for text with the default limit and no minimum score.
func searchIn(t *testing.T, s *store.Store, datasetID, text string) []models.ScoredRecord {
	t.Helper()
	return search(t, s, models.RecordQuery{DatasetIDs: []string{datasetID}, Text: text})
}

// foundIDs lists the ids of the records found, best first.
func foundIDs(found []models.ScoredRecord) []string {
	ids := []string{}
	for _, f := range found {
		ids = append(ids, f.Record.ID)
	}
	return ids
}

// describe lists what was found, for failure messages.
func describe(found []models.ScoredRecord) string {
	var b strings.Builder
	for _, f := range found {
		fmt.Fprintf(&b, "\n  %.4f %q", f.Score, f.Record.Text)
	}
	if b.Len() == 0 {
		return " nothing"
	}
	return b.String()
}

// wantScoresRanked fails the test unless the scores are within (0, 1] and strictly decreasing.
func wantScoresRanked(t *testing.T, found []models.ScoredRecord) {
	t.Helper()
	for i, f := range found {
		if f.Score <= 0 || f.Score > 1 {
			t.Errorf("score %d = %v, want within (0, 1]; found:%s", i, f.Score, describe(found))
		}
		if i > 0 && f.Score >= found[i-1].Score {
			t.Errorf("score %d = %v, not below score %d = %v; found:%s", i, f.Score, i-1, found[i-1].Score, describe(found))
		}
	}
}

// faq is a small dataset of questions and answers, the way builders write them.
var faq = []struct{ text, source string }{
	{"Refunds: you can get your money back within 30 days of buying an annual plan. Monthly plans are not refunded.", "https://example.com/help/billing#refunds"},
	{"Our support team answers email Monday to Friday, 9:00 to 17:00 CET.", "https://example.com/help/contact"},
	{"To reset your password, click 'Forgot password' on the sign-in page and follow the link we email you.", "https://example.com/help/account"},
	{"The annual plan costs 120 euros a year; the monthly plan costs 12 euros a month.", "https://example.com/pricing"},
	{"You can export your conversations as CSV or JSON from the settings page.", "https://example.com/help/export"},
	{"We ship to every country in the European Union; delivery takes 3 to 5 working days.", "https://example.com/help/shipping"},
	{"Cancel your subscription at any time from the billing page; it stays active until the end of the period.", "https://example.com/help/billing#cancel"},
}

func mustFAQ(t *testing.T, s *store.Store, name string) (*models.Dataset, []*models.DatasetRecord) {
	t.Helper()
	d := mustDataset(t, s, name)
	var recs []*models.DatasetRecord
	for _, f := range faq {
		r, err := s.CreateRecord(t.Context(), models.DatasetRecord{DatasetID: d.ID, Text: f.text, Source: f.source})
		if err != nil {
			t.Fatalf("CreateRecord: %v", err)
		}
		recs = append(recs, r)
	}
	return d, recs
}

func TestSearchRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("MoreWordsRankFirst", func(t *testing.T) {
			d := mustDataset(t, s, "Ranking")
			three := mustRecord(t, s, d.ID, "Kayak rental includes a paddle and a life jacket.")
			one := mustRecord(t, s, d.ID, "Every kayak is checked before the season starts.")
			two := mustRecord(t, s, d.ID, "A paddle comes with each kayak.")
			mustRecord(t, s, d.ID, "Bicycles can be booked by the hour.")
			found := search(t, s, models.RecordQuery{DatasetIDs: []string{d.ID}, Text: "kayak paddle jacket", Limit: 10})
			if got, want := foundIDs(found), []string{three.ID, two.ID, one.ID}; !slices.Equal(got, want) {
				t.Errorf("found:%s\nwant the record with all three words, then two, then one", describe(found))
			}
			wantScoresRanked(t, found)
		})
		t.Run("QuestionFindsAnswer", func(t *testing.T) {
			d, recs := mustFAQ(t, s, "FAQ")
			for _, tc := range []struct {
				question string
				want     int
			}{
				{"Can I get my money back for the annual plan?", 0},
				{"How do I reset my password?", 2},
				{"how much does it cost per year", 3},
				{"Do you deliver to Germany? How long does shipping take?", 5},
				{"I want to cancel my subscription", 6},
				{"What are your support hours?", 1},
			} {
				found := searchIn(t, s, d.ID, tc.question)
				if len(found) == 0 || found[0].Record.ID != recs[tc.want].ID {
					t.Errorf("%q found:%s\nwant first %q", tc.question, describe(found), recs[tc.want].Text)
				}
				wantScoresRanked(t, found)
			}
		})
		t.Run("StemmedWords", func(t *testing.T) {
			d := mustDataset(t, s, "Stemming")
			r := mustRecord(t, s, d.ID, "We refund cancelled orders.")
			found := searchIn(t, s, d.ID, "refunds for cancelling an order")
			if got := foundIDs(found); !slices.Equal(got, []string{r.ID}) {
				t.Errorf("found:%s\nwant the record, matched by its stems", describe(found))
			}
		})
		t.Run("SourceIsSearched", func(t *testing.T) {
			d := mustDataset(t, s, "Sources")
			r, err := s.CreateRecord(t.Context(), models.DatasetRecord{DatasetID: d.ID, Text: "Opening hours are 9 to 5.", Source: "handbook chapter warehouse"})
			if err != nil {
				t.Fatal(err)
			}
			if got := foundIDs(searchIn(t, s, d.ID, "warehouse")); !slices.Equal(got, []string{r.ID}) {
				t.Errorf("found %v, want the record whose source matches", got)
			}
		})
		t.Run("NewRecordAtOnce", func(t *testing.T) {
			d := mustDataset(t, s, "Fresh")
			if found := searchIn(t, s, d.ID, "zeppelin"); len(found) != 0 {
				t.Fatalf("found before adding:%s", describe(found))
			}
			r := mustRecord(t, s, d.ID, "The zeppelin tour leaves at noon.")
			found := searchIn(t, s, d.ID, "zeppelin")
			if got := foundIDs(found); !slices.Equal(got, []string{r.ID}) {
				t.Fatalf("found %v, want the new record", got)
			}
			got := found[0].Record
			if got.DatasetID != d.ID || got.Text != r.Text || got.Meta == nil || got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
				t.Errorf("found record %+v, want every field of %+v", got, *r)
			}
		})
		t.Run("EditedRecord", func(t *testing.T) {
			d := mustDataset(t, s, "Edits")
			r := mustRecord(t, s, d.ID, "Parking is free for guests of the hotel.")
			r.Text = "Breakfast is served from seven until ten."
			if _, err := s.UpdateRecord(t.Context(), *r); err != nil {
				t.Fatalf("UpdateRecord: %v", err)
			}
			if found := searchIn(t, s, d.ID, "parking guests"); len(found) != 0 {
				t.Errorf("old words still match:%s", describe(found))
			}
			if got := foundIDs(searchIn(t, s, d.ID, "breakfast")); !slices.Equal(got, []string{r.ID}) {
				t.Errorf("new words found %v, want the edited record", got)
			}
			r.Source = "menu card"
			if _, err := s.UpdateRecord(t.Context(), *r); err != nil {
				t.Fatalf("UpdateRecord: %v", err)
			}
			if got := foundIDs(searchIn(t, s, d.ID, "menu")); !slices.Equal(got, []string{r.ID}) {
				t.Errorf("edited source found %v, want the record", got)
			}
		})
		t.Run("DeletedRecord", func(t *testing.T) {
			d := mustDataset(t, s, "Deletes")
			gone := mustRecord(t, s, d.ID, "The sauna opens at six.")
			kept := mustRecord(t, s, d.ID, "The sauna closes at ten.")
			if err := s.DeleteRecord(t.Context(), d.ID, gone.ID); err != nil {
				t.Fatalf("DeleteRecord: %v", err)
			}
			if got := foundIDs(searchIn(t, s, d.ID, "sauna")); !slices.Equal(got, []string{kept.ID}) {
				t.Errorf("found %v, want only the record kept", got)
			}
		})
		t.Run("DeletedDataset", func(t *testing.T) {
			d := mustDataset(t, s, "Deleted dataset")
			mustRecord(t, s, d.ID, "Glacier hikes need a guide.")
			if err := s.DeleteDataset(t.Context(), d.ID); err != nil {
				t.Fatalf("DeleteDataset: %v", err)
			}
			if found := searchIn(t, s, d.ID, "glacier"); len(found) != 0 {
				t.Errorf("found in a deleted dataset:%s", describe(found))
			}
		})
		t.Run("OnlyTheDatasetsAsked", func(t *testing.T) {
			a := mustDataset(t, s, "Lighthouse A")
			b := mustDataset(t, s, "Lighthouse B")
			c := mustDataset(t, s, "Lighthouse C")
			ra := mustRecord(t, s, a.ID, "The lighthouse museum opens in May.")
			rb := mustRecord(t, s, b.ID, "Lighthouse tickets are sold at the harbour.")
			mustRecord(t, s, c.ID, "The lighthouse keeper retired in 1990.")
			if got := foundIDs(searchIn(t, s, a.ID, "lighthouse")); !slices.Equal(got, []string{ra.ID}) {
				t.Errorf("one dataset: found %v, want only %v", got, ra.ID)
			}
			got := foundIDs(search(t, s, models.RecordQuery{DatasetIDs: []string{a.ID, b.ID, a.ID}, Text: "lighthouse", Limit: 10}))
			slices.Sort(got)
			want := []string{ra.ID, rb.ID}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("two datasets: found %v, want %v", got, want)
			}
		})
		t.Run("UnknownDatasets", func(t *testing.T) {
			d := mustDataset(t, s, "Known")
			mustRecord(t, s, d.ID, "Volcano tours run daily.")
			for _, ids := range [][]string{nil, {}, {models.NewID()}, {"not-an-id"}, {"' OR 1=1 --"}, {strings.ToUpper(d.ID) + "x"}} {
				if found := search(t, s, models.RecordQuery{DatasetIDs: ids, Text: "volcano"}); len(found) != 0 {
					t.Errorf("datasets %q: found:%s", ids, describe(found))
				}
			}
		})
		t.Run("NothingToSearch", func(t *testing.T) {
			d := mustDataset(t, s, "Stop words")
			mustRecord(t, s, d.ID, "What is this? It is what it is, and that is all there is to it.")
			for _, text := range []string{"", "   ", "?!", "what is it", "Can you tell me what it is?", "a b c 1 2 3", "🙂👍", "hello, thanks"} {
				if found := searchIn(t, s, d.ID, text); len(found) != 0 {
					t.Errorf("%q found:%s\nwant nothing", text, describe(found))
				}
			}
		})
		t.Run("NoMatch", func(t *testing.T) {
			d := mustDataset(t, s, "No match")
			mustRecord(t, s, d.ID, "Ferries leave every hour.")
			if found := searchIn(t, s, d.ID, "helicopter"); len(found) != 0 {
				t.Errorf("found:%s", describe(found))
			}
		})
		t.Run("MinScore", func(t *testing.T) {
			d, _ := mustFAQ(t, s, "Min score")
			q := models.RecordQuery{DatasetIDs: []string{d.ID}, Text: "annual plan money back refund", Limit: 10}
			all := search(t, s, q)
			if len(all) < 2 {
				t.Fatalf("found:%s\nwant at least two records", describe(all))
			}
			q.MinScore = (all[0].Score + all[1].Score) / 2
			if got := foundIDs(search(t, s, q)); !slices.Equal(got, foundIDs(all[:1])) {
				t.Errorf("MinScore %v: found %v, want only the best %v", q.MinScore, got, foundIDs(all[:1]))
			}
			q.MinScore = all[1].Score
			if got := foundIDs(search(t, s, q)); !slices.Equal(got, foundIDs(all[:2])) {
				t.Errorf("MinScore equal to the second score: found %v, want the two best", got)
			}
			q.MinScore = 1.01
			if found := search(t, s, q); len(found) != 0 {
				t.Errorf("MinScore above 1 found:%s", describe(found))
			}
		})
		t.Run("Limit", func(t *testing.T) {
			d := mustDataset(t, s, "Limit")
			batch := make([]models.DatasetRecord, 0, 120)
			for i := range 120 {
				batch = append(batch, models.DatasetRecord{ID: models.NewID(), DatasetID: d.ID, Text: fmt.Sprintf("Lantern number %d hangs in aisle %d.", i, i%7), Meta: models.Meta{}})
			}
			if err := s.DB().CreateInBatches(batch, 50).Error; err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct{ limit, want int }{{0, models.DefaultSearchLimit}, {-5, models.DefaultSearchLimit}, {1, 1}, {7, 7}, {1000, models.MaxSearchLimit}} {
				found := search(t, s, models.RecordQuery{DatasetIDs: []string{d.ID}, Text: "lantern", Limit: tc.limit})
				if len(found) != tc.want {
					t.Errorf("Limit %d: found %d records, want %d", tc.limit, len(found), tc.want)
				}
			}
		})
		t.Run("HostileInput", func(t *testing.T) {
			d := mustDataset(t, s, "Hostile")
			r := mustRecord(t, s, d.ID, `Quotes "like this", stars * and dashes - are just text; so is NEAR (and OR).`)
			for _, text := range []string{
				`"`, `""`, `"quotes`, `quotes"`, `"quotes" OR "x"`, `quotes" OR 1=1 --`,
				`*`, `quotes*`, `*quotes`, `^quotes`, `NEAR`, `NEAR(quotes stars)`, `NEAR(quotes stars, 2)`,
				`-quotes`, `quotes -stars`, `- - -`, `(`, `)`, `(quotes`, `quotes)`, `((quotes) OR (stars))`,
				`OR`, `quotes OR`, `OR quotes`, `AND NOT quotes`, `text:quotes`, `source:quotes`, `{text source}:quotes`,
				`'; DROP TABLE dataset_records; --`, `quotes'`, `\quotes\`, `%`, `_`, `$1`, `?`, `@p1`, `:name`,
				`!quotes & stars | dashes <-> text`, `quotes:*`, `quotes:A`, "nul\x00byte", "\xff\xfe invalid utf8 quotes", "\u0301\u0301 quotes", "\u0301", "\u200b\u200d quotes",
				strings.Repeat("quotes ", 500), strings.Repeat("x", 5000),
			} {
				if _, err := s.SearchRecords(t.Context(), models.RecordQuery{DatasetIDs: []string{d.ID}, Text: text}); err != nil {
					t.Errorf("%.60q: %v", text, err)
				}
			}
			for _, text := range []string{`"quotes" OR "x"`, `NEAR(quotes stars)`, `-stars`, `(dashes)`, `stars*`, `'; DROP TABLE dataset_records; -- quotes`} {
				if got := foundIDs(searchIn(t, s, d.ID, text)); !slices.Equal(got, []string{r.ID}) {
					t.Errorf("%q found %v, want the record (its words, as text)", text, got)
				}
			}
		})
		t.Run("Unicode", func(t *testing.T) {
			d := mustDataset(t, s, "Unicode")
			de := mustRecord(t, s, d.ID, "Zahlung per Überweisung oder Kreditkarte; die Größe ist egal.")
			ru := mustRecord(t, s, d.ID, "Доставка по всей России занимает неделю.")
			el := mustRecord(t, s, d.ID, "Η παράδοση γίνεται σε τρεις ημέρες.")
			ja := mustRecord(t, s, d.ID, "配送 は 三日 かかります")
			fr := mustRecord(t, s, d.ID, "Le café est offert à l'accueil. 🙂")
			for _, tc := range []struct {
				text string
				want *models.DatasetRecord
			}{
				{"Überweisung", de}, {"überweisung?", de}, {"Größe", de},
				{"доставка", ru}, {"Доставка в России", ru},
				{"παράδοση", el},
				{"配送", ja},
				{"café offert", fr},
			} {
				if got := foundIDs(searchIn(t, s, d.ID, tc.text)); !slices.Equal(got, []string{tc.want.ID}) {
					t.Errorf("%q found %v, want %q", tc.text, got, tc.want.Text)
				}
			}
		})
	})
}

// TestMigrateIndexesExistingRecords takes a database back to schema version 1
// (migration 2 undone by hand), writes records there, and migrates: the
// records written before the index existed must be searchable, and later
// writes too.
func TestMigrateIndexesExistingRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		d := mustDataset(t, s, "Old records")
		before := mustRecord(t, s, d.ID, "The observatory opens after sunset.")
		undo := []string{`DELETE FROM schema_migrations WHERE version = 2`}
		if s.Dialect() == store.Postgres {
			// Migration 9's term statistics read the column: undone too.
			undo = append(undo, `DELETE FROM schema_migrations WHERE version = 9`,
				`DROP TRIGGER dataset_terms_insert ON dataset_records`, `DROP TRIGGER dataset_terms_update ON dataset_records`,
				`DROP TRIGGER dataset_terms_delete ON dataset_records`, `DROP FUNCTION dataset_terms_apply()`,
				`DROP FUNCTION dataset_terms_update()`, `DROP TABLE dataset_terms`,
				`ALTER TABLE dataset_records DROP COLUMN search`)
		} else {
			undo = append(undo, `DROP TRIGGER dataset_records_fts_insert`, `DROP TRIGGER dataset_records_fts_update`,
				`DROP TRIGGER dataset_records_fts_delete`, `DROP TABLE dataset_records_fts`)
		}
		for _, q := range undo {
			if err := s.DB().Exec(q).Error; err != nil {
				t.Fatalf("undo migration 2: %s: %v", q, err)
			}
		}
		var n int64
		if err := s.DB().Table("schema_migrations").Where("version = 2").Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("migration 2 still recorded (%d rows, %v)", n, err)
		}
		atV1 := mustRecord(t, s, d.ID, "Telescope nights are on Fridays at the observatory.")
		edited := mustRecord(t, s, d.ID, "Draft text.")
		edited.Text = "Planetarium shows start on the hour."
		if _, err := s.UpdateRecord(ctx, *edited); err != nil {
			t.Fatal(err)
		}

		applied, err := s.Migrate(ctx)
		if err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		want := []string{"0002 full-text search on dataset records"}
		if s.Dialect() == store.Postgres {
			want = append(want, "0009 term statistics for dataset search")
		}
		if !slices.Equal(applied, want) {
			t.Errorf("applied %v, want %v", applied, want)
		}
		got := foundIDs(search(t, s, models.RecordQuery{DatasetIDs: []string{d.ID}, Text: "observatory", Limit: 10}))
		slices.Sort(got)
		want = []string{before.ID, atV1.ID}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("observatory: found %v, want the records written before migrating %v", got, want)
		}
		if got := foundIDs(searchIn(t, s, d.ID, "planetarium")); !slices.Equal(got, []string{edited.ID}) {
			t.Errorf("planetarium: found %v, want the record edited at version 1", got)
		}
		if found := searchIn(t, s, d.ID, "draft"); len(found) != 0 {
			t.Errorf("draft: found the text replaced at version 1:%s", describe(found))
		}
		after := mustRecord(t, s, d.ID, "Meteor showers peak in August.")
		if got := foundIDs(searchIn(t, s, d.ID, "meteor")); !slices.Equal(got, []string{after.ID}) {
			t.Errorf("meteor: found %v, want the record added after migrating", got)
		}
	})
}
