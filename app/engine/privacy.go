package engine

import (
	"context"

	"parley/app/engine/redact"
	"parley/models"
)

// privacyOn reports whether a conversation redacts personal data: its
// pinned configuration's flag, its bot's, or its own when it has no bot.
func privacyOn(c *models.Conversation) bool {
	if c.Pinned != nil {
		return c.Pinned.Snapshot.Privacy
	}
	if c.Bot != nil {
		return c.Bot.Privacy
	}
	return c.Privacy
}

// private returns a user's text as a conversation stores it — with its
// personal data replaced by placeholders when privacy is on — and how many
// items were replaced.
func private(c *models.Conversation, text string) (string, int) {
	if !privacyOn(c) {
		return text, 0
	}
	r := redact.Text(text)
	return r.Text, r.Count()
}

// privateMessage redacts a user message written outside a turn (the API's
// message create and update) when its conversation has privacy on; other
// types are stored as written.
func (e *Engine) privateMessage(ctx context.Context, m models.Message) (models.Message, error) {
	if m.Type != models.MessageUser {
		return m, nil
	}
	conv, err := e.opts.Store.FindConversation(ctx, m.ConversationID)
	if err != nil {
		return m, err
	}
	m.Text, _ = private(conv, m.Text)
	return m, nil
}

// carriedRedactions is the count for a turn that answers a message stored
// before it was queued (a message sent without an answer, a retry): the
// placeholders in the stored text, when the conversation has privacy on.
func carriedRedactions(c *models.Conversation, t *models.Turn, u *models.Message) {
	if t.Redactions == 0 && privacyOn(c) {
		t.Redactions = redact.Placeholders(u.Text)
	}
}
