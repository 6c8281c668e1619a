package qa

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"parley/models"
	"parley/models/store"
)

// Proposal is a test case proposed from a transcript: a copy of its user
// messages and, for each turn, assertions drawn from what happened, which the
// author edits before saving.
type Proposal struct {
	Name                 string
	SourceConversationID string
	// BotID is the transcript's bot ("" for an inline configuration), to
	// offer its suites first.
	BotID string
	Turns []ProposedTurn
	// Truncated says the transcript had more user messages than a case holds.
	Truncated bool
}

// ProposedTurn is one user message and the assertions proposed for its answer.
type ProposedTurn struct {
	User    string
	Options []Option
}

// Option is a proposed assertion; Keep says whether the form checks it: the
// robust ones (what was retrieved and cited, which abilities ran) are, the
// ones that vary with the model (similarity, latency, tokens) are offered
// unchecked.
type Option struct {
	models.Assertion
	Keep bool
}

// Propose makes a proposal from a conversation: every user message (at most
// MaxCaseTurns) or, with turnID, those up to the one that turn answered, with
// assertions proposed for that turn only (the ones before set the scene).
// Errors: not_found (the conversation or turn), invalid (no user message).
func Propose(ctx context.Context, st *store.Store, convID, turnID string) (*Proposal, error) {
	conv, err := st.FindConversation(ctx, convID)
	if err != nil {
		return nil, err
	}
	var upTo string // the user message the chosen turn answered
	if turnID != "" {
		t, err := st.FindTurn(ctx, turnID)
		if err != nil || t.ConversationID != conv.ID || t.UserMessageID == nil {
			return nil, models.Errorf(models.CodeNotFound, "That turn is not in this conversation.")
		}
		upTo = *t.UserMessageID
	}
	title := conv.Name
	if title == "" {
		title = "conversation " + conv.ID[len(conv.ID)-8:]
	}
	p := &Proposal{Name: models.TruncateUTF8("From "+title, 200), SourceConversationID: conv.ID}
	if conv.BotID != nil {
		p.BotID = *conv.BotID
	}
	var (
		users   []models.Message
		others  = map[string]models.Message{} // bot answers by id
		turnIDs []string
		cursor  string
	)
read:
	for {
		msgs, next, err := st.FindMessages(ctx, conv.ID, models.Page{Cursor: cursor, Limit: models.MaxPageSize, Order: models.OrderAsc})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			switch {
			case m.Type == models.MessageUser:
				if len(users) == models.MaxCaseTurns {
					p.Truncated = true
					break read
				}
				users = append(users, m)
			case m.TurnID != nil:
				if m.Type == models.MessageBot {
					others[m.ID] = m
				}
				if !slices.Contains(turnIDs, *m.TurnID) {
					turnIDs = append(turnIDs, *m.TurnID)
				}
			}
			if upTo != "" && m.ID > upTo && m.Type == models.MessageUser {
				users = users[:len(users)-1]
				break read
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if upTo != "" {
		for i, u := range users {
			if u.ID == upTo {
				users = users[:i+1]
				p.Name = models.TruncateUTF8(fmt.Sprintf("From %s, turn %d", title, i+1), 200)
				break
			}
		}
	}
	if len(users) == 0 {
		return nil, models.Errorf(models.CodeInvalid, "This conversation has no user message to make a test from.")
	}
	turns, err := st.FindTurns(ctx, turnIDs)
	if err != nil {
		return nil, err
	}
	answer := map[string]*models.Turn{} // user message → the turn that answered it last (done first)
	for _, id := range turnIDs {
		t := turns[id]
		if t == nil || t.UserMessageID == nil {
			continue
		}
		if better(answer[*t.UserMessageID], t) {
			answer[*t.UserMessageID] = t
		}
	}
	for i, u := range users {
		pt := ProposedTurn{User: u.Text}
		if upTo == "" || i == len(users)-1 {
			if t := answer[u.ID]; t != nil {
				text := ""
				if t.BotMessageID != nil {
					text = others[*t.BotMessageID].Text
				}
				pt.Options = proposeFor(t, text)
			}
		}
		p.Turns = append(p.Turns, pt)
	}
	return p, nil
}

// proposeFor proposes assertions for a turn from what it did.
func proposeFor(t *models.Turn, text string) []Option {
	if t.Status != models.TurnDone {
		return nil // it failed then: the case expects an answer now (every turn must answer without error)
	}
	var out []Option
	cited := urlPattern.FindAllString(text, 20)
	citedSet := map[string]bool{}
	for _, u := range cited {
		citedSet[u] = true
	}
	topK := len(t.Records)
	var grounded []models.TurnRecord
	for _, x := range t.Records {
		if x.Source != "" && citedSet[x.Source] {
			grounded = append(grounded, x)
		}
	}
	if len(grounded) == 0 && len(t.Records) > 0 {
		grounded = t.Records[:1]
	}
	for _, x := range grounded {
		out = append(out, Option{Keep: true, Assertion: models.Assertion{Kind: models.AssertRetrieved, Record: x.RecordID, Source: x.Source, TopK: topK}})
	}
	if len(t.Records) == 0 {
		out = append(out, Option{Keep: true, Assertion: models.Assertion{Kind: models.AssertNoRetrieval}})
	}
	seen := map[string]bool{}
	for _, u := range cited {
		if !seen[u] {
			seen[u] = true
			out = append(out, Option{Keep: true, Assertion: models.Assertion{Kind: models.AssertCites, Text: u}})
		}
	}
	seen = map[string]bool{}
	for _, c := range t.Calls {
		if seen[c.Ability] {
			continue
		}
		seen[c.Ability] = true
		out = append(out, Option{Keep: true, Assertion: models.Assertion{Kind: models.AssertCalled, Ability: c.Ability}})
		if strings.TrimSpace(c.Input) != "" && strings.TrimSpace(c.Input) != "{}" {
			out = append(out, Option{Assertion: models.Assertion{Kind: models.AssertCalled, Ability: c.Ability, Args: c.Input}})
		}
	}
	if t.EndReason != "" && t.EndReason != models.EndStop {
		out = append(out, Option{Keep: true, Assertion: models.Assertion{Kind: models.AssertEndReason, Text: t.EndReason}})
	}
	if strings.TrimSpace(text) != "" {
		out = append(out, Option{Assertion: models.Assertion{Kind: models.AssertSimilar, Text: text, Threshold: 0.6}})
	}
	out = append(out,
		Option{Assertion: models.Assertion{Kind: models.AssertLatency, Max: max(2000, 3*t.LatencyMs)}},
		Option{Assertion: models.Assertion{Kind: models.AssertOutputTokens, Max: max(2*t.OutputTokens, t.OutputTokens+50)}})
	return out
}

// Case turns the proposal into a case, keeping the checked options.
func (p *Proposal) Case() models.TestCase {
	c := models.TestCase{Name: p.Name, SourceConversationID: &p.SourceConversationID}
	for _, t := range p.Turns {
		ct := models.CaseTurn{User: t.User}
		for _, o := range t.Options {
			if o.Keep {
				ct.Expect = append(ct.Expect, o.Assertion)
			}
		}
		c.Turns = append(c.Turns, ct)
	}
	return c
}
