package telegram

import "context"

// SendMessageDraft streams a partial answer into a private chat while it is
// being written (sendMessageDraft, Bot API 9.x): Telegram shows it as an
// ephemeral preview, animating each change of the draft with the same
// draftID, until the final text is sent with SendMessage (which the caller
// must do: a draft is not kept). draftID must be non-zero; one answer keeps
// one draftID. threadID is the topic (0: none), parseMode as SendMessage's.
//
// The method is new and only for private chats; it is kept apart here so
// that a change of its shape touches this file alone.
func (c *Client) SendMessageDraft(ctx context.Context, chatID int64, threadID, draftID int, text, parseMode string) error {
	const method = "sendMessageDraft"
	if draftID == 0 {
		return invalid(method, "the draft id must be non-zero")
	}
	params := struct {
		ChatID    int64  `json:"chat_id"`
		ThreadID  int    `json:"message_thread_id,omitempty"`
		DraftID   int    `json:"draft_id"`
		Text      string `json:"text"`
		ParseMode string `json:"parse_mode,omitempty"`
	}{chatID, threadID, draftID, text, parseMode}
	return c.call(ctx, method, params, nil)
}
