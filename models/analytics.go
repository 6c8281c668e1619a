package models

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// AnalyticsQuery is the Analytics page's range: a bot (or all), a date
// range (Until exclusive), and whether test data counts.
type AnalyticsQuery struct {
	BotID        string
	Since, Until time.Time
	IncludeTests bool
}

// DayCount is one day's conversations and messages on one channel.
type DayCount struct {
	Day           string // YYYY-MM-DD, UTC
	Channel       string // an integration type, or "api" for the API and dashboard
	Conversations int64
	Messages      int64
}

// ModelTokens is the tokens one model used.
type ModelTokens struct {
	Model        string
	Turns        int64
	InputTokens  int64
	OutputTokens int64
}

// AbilityErrors counts an ability's calls and failed calls.
type AbilityErrors struct {
	Ability string
	Calls   int64
	Errors  int64
}

// RecordUse is how often a record was retrieved.
type RecordUse struct {
	RecordID  string
	DatasetID string
	Source    string
	Text      string
	Uses      int64
}

// QuestionGroup is user messages the bot could not answer, grouped by
// similar wording, with (some of) their conversations.
type QuestionGroup struct {
	Example         string
	Count           int
	ConversationIDs []string
}

// Analytics is what the Analytics page shows.
type Analytics struct {
	Days           []DayCount
	Conversations  int64
	Messages       int64
	ActiveContacts int64
	Up, Down       int64
	Turns          int64 // finished turns
	Unanswered     int64
	LatencyP50     int64
	LatencyP95     int64
	TTFTP50        int64
	TTFTP95        int64
	TTFTTurns      int64
	Tokens         []ModelTokens
	Abilities      []AbilityErrors
	TopUnanswered  []QuestionGroup
	MostRetrieved  []RecordUse
	LeastRetrieved []RecordUse
}

// Satisfaction is the share of upvotes among votes (0..1; 0 without votes).
func (a Analytics) Satisfaction() float64 {
	if a.Up+a.Down == 0 {
		return 0
	}
	return float64(a.Up) / float64(a.Up+a.Down)
}

// UnansweredRate is the share of finished turns that could not answer.
func (a Analytics) UnansweredRate() float64 {
	if a.Turns == 0 {
		return 0
	}
	return float64(a.Unanswered) / float64(a.Turns)
}

// questionStop are words left out when comparing questions' wording.
var questionStop = map[string]bool{"a": true, "an": true, "the": true, "is": true, "are": true, "i": true, "my": true, "me": true,
	"to": true, "do": true, "does": true, "can": true, "you": true, "your": true, "of": true, "for": true, "in": true, "on": true,
	"it": true, "and": true, "or": true, "what": true, "how": true, "where": true, "when": true, "why": true, "please": true,
	"hi": true, "hello": true, "there": true, "with": true, "be": true, "this": true, "that": true, "have": true, "we": true}

// QuestionTokens is a question's wording as compared: its words, lower-case,
// without common words and a plural s, each once, sorted.
func QuestionTokens(q string) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range MessageSearchTerms(strings.ToLower(q)) {
		if questionStop[w] {
			continue
		}
		if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") {
			w = w[:len(w)-1]
		}
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}

// maxGroupCandidates bounds how many groups sharing a word one question is
// compared with, so grouping stays linear in the questions.
const maxGroupCandidates = 200

// UnansweredQuestion is a user message the bot could not answer.
type UnansweredQuestion struct {
	ConversationID string
	Text           string
}

// maxGroupConversations is how many conversations a group links to.
const maxGroupConversations = 5

// GroupQuestions groups questions by similar wording (greedily, in order:
// each joins the earliest group it is similar to among those sharing one of
// its words), largest groups first, at most limit of them. Words are
// numbered as they come, so comparing a question with a group is a walk of
// the group's words against the question's, marked in a slice.
func GroupQuestions(qs []UnansweredQuestion, limit int) []QuestionGroup {
	type group struct {
		QuestionGroup
		order   int
		words   []int // the first question's words (its token set)
		checked int   // 1 + the index of the question last compared with it
		seen    map[string]bool
	}
	var groups []*group
	ids := map[string]int{}
	var byWord [][]*group // by word id: the groups whose first question has the word
	var inQuestion []int  // by word id: 1 + the index of the last question with the word
	var empty *group      // questions with no words left
	toks := []int{}
	for qi, q := range qs {
		stamp := qi + 1
		toks = toks[:0]
		for _, w := range QuestionTokens(q.Text) {
			id, ok := ids[w]
			if !ok {
				id = len(ids)
				ids[w] = id
				byWord = append(byWord, nil)
				inQuestion = append(inQuestion, 0)
			}
			inQuestion[id] = stamp
			toks = append(toks, id)
		}
		var g *group
		if len(toks) == 0 {
			g = empty
		} else {
			checked := 0
		find:
			for _, w := range toks {
				for _, c := range byWord[w] {
					if c.checked == stamp {
						continue
					}
					c.checked = stamp
					checked++
					common := 0
					for _, cw := range c.words {
						if inQuestion[cw] == stamp {
							common++
						}
					}
					// Jaccard ≥ 0.5, as similar computes it.
					if float64(common)/float64(len(c.words)+len(toks)-common) >= 0.5 && (g == nil || c.order < g.order) {
						g = c
					}
					if checked >= maxGroupCandidates {
						break find
					}
				}
			}
		}
		if g == nil {
			g = &group{QuestionGroup: QuestionGroup{Example: q.Text}, order: len(groups), words: slices.Clone(toks), seen: map[string]bool{}}
			for _, w := range toks {
				byWord[w] = append(byWord[w], g)
			}
			if len(toks) == 0 {
				empty = g
			}
			groups = append(groups, g)
		}
		g.Count++
		if !g.seen[q.ConversationID] && len(g.ConversationIDs) < maxGroupConversations {
			g.seen[q.ConversationID] = true
			g.ConversationIDs = append(g.ConversationIDs, q.ConversationID)
		}
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].Count > groups[j].Count })
	out := make([]QuestionGroup, 0, min(limit, len(groups)))
	for i := 0; i < len(groups) && i < limit; i++ {
		out = append(out, groups[i].QuestionGroup)
	}
	return out
}
