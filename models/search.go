package models

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Search limits: a retrieval returns a few records, never an unbounded list.
const (
	DefaultSearchLimit = 3
	MaxSearchLimit     = 100
	// MaxSearchTerms bounds how many words of a question are searched for, so
	// a pasted essay costs no more than a long question.
	MaxSearchTerms = 32
	// maxTermRunes drops "words" longer than this (hashes, base64, runs of
	// symbols-free garbage): no record is usefully found by them.
	maxTermRunes = 64
)

// RecordQuery asks which records of some datasets best answer a text, such as
// a user's question: it is what retrieval runs for every bot turn.
type RecordQuery struct {
	// DatasetIDs are the datasets searched; unknown or malformed ids match nothing.
	DatasetIDs []string
	// Text is the question, in natural language; its meaningful words are
	// searched for, any of them (see SearchTerms).
	Text string
	// Limit is the most records returned: DefaultSearchLimit when 0 or less,
	// at most MaxSearchLimit.
	Limit int
	// MinScore drops records scoring below it (0..1).
	MinScore float64
}

// Normalize fills the default limit and clamps limit and minimum score to their ranges.
func (q RecordQuery) Normalize() RecordQuery {
	if q.Limit <= 0 {
		q.Limit = DefaultSearchLimit
	}
	if q.Limit > MaxSearchLimit {
		q.Limit = MaxSearchLimit
	}
	if math.IsNaN(q.MinScore) || q.MinScore < 0 {
		q.MinScore = 0
	}
	return q
}

// ScoredRecord is a record found by a search with how well it matches, so the
// workbench can show why the bot used it.
type ScoredRecord struct {
	Record DatasetRecord `json:"record"`
	// Score is 0..1, higher is better, and means the same on both databases:
	// half of it is the share of the question's words the record contains, the
	// other half the database's relevance rank squashed to 0..1.
	Score float64 `json:"score"`
}

// SearchTerms returns the words of a question worth searching for: split on
// anything that is not a letter, digit or combining mark, without English stop
// words and one-character ASCII tokens, each once (compared case-insensitively;
// the first spelling is kept, since each database folds case itself), in order,
// at most MaxSearchTerms. The result contains letters, digits and marks only,
// so it can never carry query syntax.
func SearchTerms(text string) []string {
	var (
		terms []string
		seen  = map[string]bool{}
	)
	for w := range strings.FieldsFuncSeq(text, notWordRune) {
		if len(terms) == MaxSearchTerms {
			break
		}
		n := utf8.RuneCountInString(w)
		if n > maxTermRunes || (n == 1 && w[0] < utf8.RuneSelf) {
			continue
		}
		key := strings.ToLower(w)
		if stopWords[key] || seen[key] {
			continue
		}
		seen[key] = true
		terms = append(terms, w)
	}
	return terms
}

func notWordRune(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Mc, r)
}

// stopWords are words too common to tell records apart. The list contains
// PostgreSQL's English stop words (tsearch_data/english.stop, so no searched
// term is one PostgreSQL would silently drop), the remains of contractions
// ("don't" splits into "don" and "t"), and the politeness and modal verbs of
// questions put to a chatbot.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
		she her hers herself it its itself they them their theirs themselves what which who whom
		this that these those am is are was were be been being have has had having do does did
		doing a an the and but if or because as until while of at by for with about against
		between into through during before after above below to from up down in out on off over
		under again further then once here there when where why how all any both each few more
		most other some such no nor not only own same so than too very s t can will just don
		should now
		ll ve re aren couldn didn doesn hadn hasn haven isn mustn needn shan shouldn wasn weren
		won wouldn
		would could shall might must also please thanks thank hi hello hey ok okay yes`) {
		m[w] = true
	}
	return m
}()
