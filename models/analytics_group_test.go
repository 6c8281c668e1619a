package models

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// groupQuestionsByMaps is GroupQuestions as first written (word sets as
// maps, a map of the groups compared): the reference the faster one must
// match.
func groupQuestionsByMaps(qs []UnansweredQuestion, limit int) []QuestionGroup {
	type group struct {
		QuestionGroup
		order int
		set   map[string]bool
		seen  map[string]bool
	}
	similar := func(set map[string]bool, toks []string) bool {
		common := 0
		for _, w := range toks {
			if set[w] {
				common++
			}
		}
		return float64(common)/float64(len(set)+len(toks)-common) >= 0.5
	}
	var groups []*group
	byWord := map[string][]*group{}
	var empty *group
	for _, q := range qs {
		toks := QuestionTokens(q.Text)
		var g *group
		if len(toks) == 0 {
			g = empty
		} else {
			checked := map[*group]bool{}
		find:
			for _, w := range toks {
				for _, c := range byWord[w] {
					if checked[c] {
						continue
					}
					checked[c] = true
					if similar(c.set, toks) && (g == nil || c.order < g.order) {
						g = c
					}
					if len(checked) >= maxGroupCandidates {
						break find
					}
				}
			}
		}
		if g == nil {
			g = &group{QuestionGroup: QuestionGroup{Example: q.Text}, order: len(groups), set: map[string]bool{}, seen: map[string]bool{}}
			for _, w := range toks {
				g.set[w] = true
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

// TestGroupQuestionsMatchesMaps compares GroupQuestions with the map-based
// reference on random questions over a small vocabulary (many overlaps, and
// more than maxGroupCandidates groups sharing a word).
func TestGroupQuestionsMatchesMaps(t *testing.T) {
	words := []string{"refund", "parcel", "order", "late", "cheque", "pay", "card", "address", "change", "cancel", "delivery", "invoice", "the", "my", "?"}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		var qs []UnansweredQuestion
		for i := range 3000 {
			text := ""
			for range rng.IntN(7) {
				text += words[rng.IntN(len(words))] + " "
			}
			qs = append(qs, UnansweredQuestion{ConversationID: fmt.Sprint(i % 700), Text: text})
		}
		if diff := cmp.Diff(groupQuestionsByMaps(qs, 10), GroupQuestions(qs, 10)); diff != "" {
			t.Fatalf("round %d: (-maps +GroupQuestions):\n%s", round, diff)
		}
	}
}
