package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"parley/app/provider"
	"parley/models"
)

// Refusal is the bot's answer to a message moderation flagged.
const Refusal = "Sorry, I can't help with that message."

// WordList flags messages that contain one of its words or phrases, as a
// whole word and whatever the case: the moderation check for providers that
// have no moderation endpoint (config.ModerationWords).
type WordList struct {
	words []string
	re    *regexp.Regexp // one group per word, in the order of words
}

// NewWordList compiles a word list; spaces inside a phrase match any run of
// spaces. An empty list flags nothing.
func NewWordList(words []string) *WordList {
	w := &WordList{}
	var alts []string
	for _, word := range words {
		fields := strings.Fields(word)
		if len(fields) == 0 {
			continue
		}
		for i := range fields {
			fields[i] = regexp.QuoteMeta(fields[i])
		}
		w.words = append(w.words, strings.Join(strings.Fields(word), " "))
		alts = append(alts, "("+strings.Join(fields, `\s+`)+")")
	}
	if len(alts) > 0 {
		w.re = regexp.MustCompile(`(?i)` + strings.Join(alts, "|"))
		w.re.Longest()
	}
	return w
}

// Match returns the listed words and phrases text contains as whole words,
// each once, in the order they first appear.
func (w *WordList) Match(text string) []string {
	if w == nil || w.re == nil {
		return nil
	}
	var found []string
	for pos := 0; pos < len(text); {
		loc := w.re.FindStringSubmatchIndex(text[pos:])
		if loc == nil {
			break
		}
		start, end := pos+loc[0], pos+loc[1]
		before, _ := utf8.DecodeLastRuneInString(text[:start])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if (start > 0 && isWordRune(before)) || (end < len(text) && isWordRune(after)) || end == start {
			_, size := utf8.DecodeRuneInString(text[start:])
			pos = start + max(size, 1) // inside a longer word: look again from the next letter
			continue
		}
		for i := range w.words {
			if loc[2+2*i] >= 0 && !slices.Contains(found, w.words[i]) {
				found = append(found, w.words[i])
				break
			}
		}
		pos = end
	}
	return found
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// verdict is what screening a message found.
type verdict struct {
	flagged bool
	// check names what screened it: "the openai moderation endpoint", "the word list".
	check string
	// reasons are the categories (endpoint) or the words (word list) flagged.
	reasons []string
}

// screen asks the provider's moderation endpoint when it has one, and the
// word list otherwise — also when the endpoint turns out to have no
// moderation route. Any other failure of the endpoint is returned: the
// caller fails closed.
func (e *Engine) screen(ctx context.Context, prov provider.Provider, text string) (verdict, error) {
	if m, ok := prov.(provider.Moderator); ok {
		flagged, cats, err := m.Moderate(ctx, text)
		if err == nil {
			return verdict{flagged: flagged, check: "the " + prov.Name() + " moderation endpoint", reasons: cats}, nil
		}
		if !errors.Is(err, provider.ErrNoModeration) {
			return verdict{}, err
		}
	}
	words := e.words.Match(text)
	return verdict{flagged: len(words) > 0, check: "the word list", reasons: words}, nil
}

// moderate is the moderation step of a turn, before the model is called:
// with moderation on, the user's message is screened (screen); a flagged
// message ends the turn with an activity entry that says which check flagged
// it and why, and the refusal as the bot's answer (Moderated, end reason
// moderated) — the model is not called. A failing moderation endpoint fails
// closed: the turn fails at the moderation stage and its activity entry says
// the message was not sent to the model. It returns nil, nil when the turn
// goes on.
func (e *Engine) moderate(ctx context.Context, sc scope, cfg config, prov provider.Provider, res *Result, ev func(Event)) (*Result, error) {
	if !cfg.moderation {
		return nil, nil
	}
	v, err := e.screen(ctx, prov, res.User.Text)
	if err != nil {
		return e.fail(ctx, sc, res, ev, "moderation", &provider.Error{Err: err, Message: fmt.Sprintf(
			"the moderation check failed (%s), so the message was not sent to the model: moderation fails closed. Retry the last turn once the endpoint answers",
			userMessageOf(err))})
	}
	if !v.flagged {
		return nil, nil
	}
	t := res.Turn
	why := "Moderation: the message was flagged by " + v.check
	switch {
	case len(v.reasons) == 0:
	case v.check == "the word list":
		why += " (matched: " + quoteAll(v.reasons) + ")"
	default:
		why += " (categories: " + strings.Join(v.reasons, ", ") + ")"
	}
	why += ", so the model was not called."
	e.opts.Logger.Info("message flagged by moderation", "conversation_id", sc.convID, "turn_id", t.ID, "check", v.check, "reasons", v.reasons)
	held := t.HeldContext != nil
	act, err := sc.add(ctx, t, models.Message{Type: models.MessageActivity, Text: storable(why)}, nil)
	if err != nil {
		return nil, err
	}
	announceContext(res, held, ev)
	ev(Event{Type: EventMessage, Message: act})
	t.Status, t.Moderated, t.EndReason = models.TurnDone, true, models.EndModerated
	t.LatencyMs = e.opts.Now().Sub(*t.StartedAt).Milliseconds()
	return e.answered(ctx, sc, res, ev, Refusal)
}

func quoteAll(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = fmt.Sprintf("%q", w)
	}
	return strings.Join(q, ", ")
}
