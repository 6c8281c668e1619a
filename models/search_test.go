package models_test

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"parley/models"
)

func TestSearchTerms(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"Empty", "", nil},
		{"Question", "Can I get my money back for the annual plan?", []string{"get", "money", "back", "annual", "plan"}},
		{"StopWordsOnly", "What is it, and how would you do that?", nil},
		{"Contractions", "I don't know why it isn't working", []string{"know", "working"}},
		{"ShortASCIIDropped", "a b 7 x1 v2", []string{"x1", "v2"}},
		{"OnceEachFirstSpellingKept", "Refund refund REFUND refunds", []string{"Refund", "refunds"}},
		{"Punctuation", `"quotes" OR (stars*) -dash NEAR/3 col:umn`, []string{"quotes", "stars", "dash", "NEAR", "col", "umn"}},
		{"Unicode", "Überweisung, Größe; доставка — 配送 é", []string{"Überweisung", "Größe", "доставка", "配送", "é"}},
		{"CombiningMarksKeptInWord", "cafe\u0301 offert", []string{"cafe\u0301", "offert"}},
		{"InvalidUTF8Splits", "pay\xffment", []string{"pay", "ment"}},
		{"LongTokenDropped", strings.Repeat("z", 65) + " ok fine", []string{"fine"}},
		{"Emoji", "🙂 refund 👍", []string{"refund"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := models.SearchTerms(tc.in)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("SearchTerms(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
	t.Run("Bounded", func(t *testing.T) {
		var words []string
		for i := range 100 {
			words = append(words, "word"+strings.Repeat("x", i%50)+string(rune('a'+i%26)))
		}
		if got := models.SearchTerms(strings.Join(words, " ")); len(got) != models.MaxSearchTerms {
			t.Errorf("got %d terms, want %d", len(got), models.MaxSearchTerms)
		}
	})
}

func TestRecordQueryNormalize(t *testing.T) {
	for _, tc := range []struct {
		name         string
		in           models.RecordQuery
		wantLimit    int
		wantMinScore float64
	}{
		{"Defaults", models.RecordQuery{}, models.DefaultSearchLimit, 0},
		{"Kept", models.RecordQuery{Limit: 7, MinScore: 0.4}, 7, 0.4},
		{"NegativeLimit", models.RecordQuery{Limit: -1}, models.DefaultSearchLimit, 0},
		{"LimitClamped", models.RecordQuery{Limit: models.MaxSearchLimit + 1}, models.MaxSearchLimit, 0},
		{"NegativeMinScore", models.RecordQuery{MinScore: -0.5}, models.DefaultSearchLimit, 0},
		{"NaNMinScore", models.RecordQuery{MinScore: math.NaN()}, models.DefaultSearchLimit, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.Normalize()
			if got.Limit != tc.wantLimit || got.MinScore != tc.wantMinScore {
				t.Errorf("Normalize() = limit %d, min score %v; want %d, %v", got.Limit, got.MinScore, tc.wantLimit, tc.wantMinScore)
			}
		})
	}
}
