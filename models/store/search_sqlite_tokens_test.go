package store

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"
)

// porterSuffixes are the endings the porter rules look at, and some of
// their combinations, so generated words exercise every rule and condition.
var porterSuffixes = strings.Fields(`s es ies sses ss us is y ey ay e ee ll l
	ed eed ied ated bled ized ing ying eing ating bling izing ating
	ational tional enci anci izer logi bli alli entli eli ousli ization ation ator
	alism iveness fulness ousness aliti iviti biliti icate ative alize iciti ical ful ness
	al ance ence er ic able ible ant ement ment ent ion sion tion ou ism ate iti ous ive ize
	ations izations fulnesses alities ements ously ingly edly izers ers ings ies ied`)

// porterWords are real words, most of which some rule changes.
var porterWords = strings.Fields(`caresses ponies ties caress cats feed agreed plastered bled
	motoring sing conflated troubled sized hopping tanned falling hissing fizzed failing filing
	happy sky relational conditional rational valenci hesitanci digitizer conformabli radicalli
	differentli vileli analogousli vietnamization predication operator feudalism decisiveness
	hopefulness callousness formaliti sensitiviti sensibiliti triplicate formative formalize
	electriciti electrical hopeful goodness revival allowance inference airliner gyroscopic
	adjustable defensible irritant replacement adjustment dependent adoption homologou
	communism activate angulariti homologous effective bowdlerize probate rate cease controll
	roll generalizations oscillators yes eyes says syzygy by fly flies dying lying tying
	order orders ordered ordering delivery delivered delivering deliveries refund refunds
	refunded password passwords subscription subscriptions cancel cancelled canceling cancellation
	invoice invoices invoicing charge charger charging charged anymore battery batteries
	warranty warranties shipping shipped ships country countries premium upgrade upgrading
	member members membership tracking tracked number numbers restore restored restoring
	backup backups cloud storage stored storing configure configuration configured webhook
	integration integrations accept accepted methods method declined decline card cards
	money back long take taking took add added adding team teams bluetooth speaker signal
	parcel address addresses change changed changes export exported data download downloads
	aaa aas abs iiing yyy yys sss ies eed ing ed 2fa 123s mp3 h2o x11 a1b2c3ed`)

// porterCorpus is the words the agreement test checks: porterWords, their
// capitalised forms, and generated words (random stems, letters weighted
// towards vowels and y, with the endings above), n of them.
func porterCorpus(n int) []string {
	rng := rand.New(rand.NewPCG(15, 1))
	words := slices.Clone(porterWords)
	for _, w := range porterWords {
		words = append(words, strings.ToUpper(w[:1])+w[1:], strings.ToUpper(w))
	}
	for n := porterMaxToken - 2; n <= porterMaxToken+2; n++ { // around the longest stemmed
		words = append(words, strings.Repeat("a", n-4)+"ness", strings.Repeat("ab", n)[:n-3]+"ing")
	}
	const letters = "aaeeiioouuyybcdfghjklmnprstvwxzsstll0123456789"
	for range n {
		var b strings.Builder
		for range 1 + rng.IntN(7) {
			b.WriteByte(letters[rng.IntN(len(letters)-10*min(1, rng.IntN(8)))])
		}
		if rng.IntN(10) > 0 {
			b.WriteString(porterSuffixes[rng.IntN(len(porterSuffixes))])
		}
		if rng.IntN(4) == 0 {
			b.WriteString(porterSuffixes[rng.IntN(len(porterSuffixes))])
		}
		w := b.String()
		if rng.IntN(10) == 0 {
			w = strings.ToUpper(w)
		}
		words = append(words, w)
	}
	return words
}

// ftsTestStore opens an empty migrated SQLite store with a scratch FTS5
// table tokenized as dataset_records_fts is, and an fts5vocab table listing
// the tokens of each of its rows.
func ftsTestStore(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "tokens.db"), Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var tokenize string
	if err := s.db.Raw(`SELECT sql FROM sqlite_schema WHERE name = 'dataset_records_fts'`).Scan(&tokenize).Error; err != nil {
		t.Fatal(err)
	}
	// The scratch table must tokenize exactly as the records' index does.
	if !strings.Contains(tokenize, "tokenize='porter unicode61'") {
		t.Fatalf("dataset_records_fts is no longer tokenize='porter unicode61' (%s): update search_sqlite_tokens.go", tokenize)
	}
	for _, q := range []string{
		`CREATE VIRTUAL TABLE tok USING fts5(a, b, tokenize='porter unicode61')`,
		`CREATE VIRTUAL TABLE tok_v USING fts5vocab(tok, instance)`,
	} {
		if err := s.db.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// ftsIndexed indexes each of the texts (pairs of columns) as one row and
// returns the tokens FTS5 indexed for each, as a sorted set.
func ftsIndexed(t *testing.T, s *Store, texts [][2]string) [][]string {
	t.Helper()
	err := s.db.Transaction(func(tx *gorm.DB) error {
		for i, x := range texts {
			if err := tx.Exec(`INSERT INTO tok(rowid, a, b) VALUES (?, ?, ?)`, i+1, x[0], x[1]).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Term string
		Doc  int
	}
	if err := s.db.Raw(`SELECT DISTINCT term, doc FROM tok_v`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	got := make([][]string, len(texts))
	for _, r := range rows {
		got[r.Doc-1] = append(got[r.Doc-1], r.Term)
	}
	for i := range got {
		slices.Sort(got[i])
	}
	return got
}

// goTokens is the sorted set of tokens ftsEachToken finds in the texts.
func goTokens(texts ...string) []string {
	var out []string
	var buf []byte
	for _, x := range texts {
		buf = ftsEachToken(x, buf, nil, func(tok []byte) {
			if !slices.Contains(out, string(tok)) {
				out = append(out, string(tok))
			}
		})
	}
	slices.Sort(out)
	return out
}

// TestFTSTokensAgree checks that the Go tokenizer (search_sqlite_tokens.go)
// stems every word as FTS5's porter unicode61 tokenizer does, and splits
// ASCII text into the same tokens.
func TestFTSTokensAgree(t *testing.T) {
	s := ftsTestStore(t)
	n := 60_000
	if testing.Short() {
		n = 5_000
	}
	words := porterCorpus(n)
	rng := rand.New(rand.NewPCG(15, 2))
	// Texts: words joined by separators of every kind of ASCII, over two
	// columns, as a record's text and source are.
	var texts [][2]string
	for len(texts) < 2_000 {
		var col [2]string
		for c := range col {
			var b strings.Builder
			for range rng.IntN(12) {
				b.WriteString(words[rng.IntN(len(words))])
				for range 1 + rng.IntN(2) {
					b.WriteByte(byte(1 + rng.IntN(127)))
				}
			}
			col[c] = b.String()
		}
		texts = append(texts, col)
	}
	all := make([][2]string, 0, len(words)+len(texts))
	for _, w := range words {
		all = append(all, [2]string{w, ""})
	}
	all = append(all, texts...)
	got := ftsIndexed(t, s, all)
	bad := 0
	for i, x := range all {
		want := goTokens(x[0], x[1])
		if !slices.Equal(got[i], want) {
			bad++
			if bad <= 20 {
				t.Errorf("%q %q: FTS5 indexes %q, the Go tokenizer %q", x[0], x[1], got[i], want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d texts tokenized differently", bad, len(all))
	}
	// What searchSQLiteMatched relies on to skip stemming most words: a
	// stem is never longer than its word and starts with the same letter.
	for _, w := range words {
		folded := []byte(strings.ToLower(w))
		stem := porterStem(slices.Clone(folded))
		if len(stem) > len(folded) || stem[0] != folded[0] {
			t.Errorf("%q stems to %q: longer, or another first letter", w, stem)
		}
	}
	// Each single-token ASCII word as a search term stands for its stem.
	for _, w := range words[:200] {
		tok, ok := ftsTerm(w)
		if want := goTokens(w); !ok || len(want) != 1 || tok != want[0] {
			t.Errorf("ftsTerm(%q) = %q, %v; want %q, true", w, tok, ok, want)
		}
	}
	for _, w := range []string{"", "café", "a-b", "two words"} {
		if tok, ok := ftsTerm(w); ok {
			t.Errorf("ftsTerm(%q) = %q, true; want false", w, tok)
		}
	}
}
