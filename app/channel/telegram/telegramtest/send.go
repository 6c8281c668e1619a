package telegramtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parley/app/channel/telegram"
)

// Send posts update to a webhook as Telegram does: JSON, with the secret in
// the X-Telegram-Bot-Api-Secret-Token header (none when secret is empty).
// The response's body is read in full, so the caller need not close it.
func Send(t testing.TB, webhookURL, secret string, update telegram.Update) *http.Response {
	t.Helper()
	body, err := json.Marshal(update)
	if err != nil {
		t.Fatalf("telegramtest: encode the update: %v", err)
	}
	req, err := http.NewRequest(http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("telegramtest: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(telegram.SecretHeader, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("telegramtest: post the update: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("telegramtest: read the webhook's response: %v", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return resp
}

var lastUpdateID, lastMessageID atomic.Int64

// TestUser is the user TextUpdate's messages come from (in a private chat,
// the user whose id is the chat's).
var TestUser = telegram.User{ID: 5000001, FirstName: "Ada", LastName: "Lovelace", Username: "ada", LanguageCode: "en"}

// TextUpdate makes an update with a text message, as Telegram would send
// it: in a private chat when chatID is positive (from the user chatID), in
// a supergroup when it is negative, in the forum topic threadID when that is
// not 0. A text starting with a command gets its bot_command entity. Update
// and message ids increase with each call.
func TextUpdate(chatID int64, threadID int, text string) telegram.Update {
	from := TestUser
	chat := chatOf(chatID)
	if chatID > 0 {
		from.ID = chatID
		chat.FirstName, chat.LastName, chat.Username = from.FirstName, from.LastName, from.Username
	} else {
		chat = telegram.Chat{ID: chatID, Type: telegram.ChatSupergroup, Title: "Test Supergroup", IsForum: threadID != 0}
	}
	m := &telegram.Message{
		MessageID: int(lastMessageID.Add(1)),
		From:      &from,
		Chat:      chat,
		Date:      time.Now().Unix(),
		Text:      text,
	}
	if threadID != 0 {
		m.MessageThreadID, m.IsTopicMessage = threadID, true
	}
	if cmd, ok := telegram.ParseCommand(text); ok {
		lead := len(text) - len(strings.TrimLeft(text, " \t"))
		n := 1 + len(cmd.Name)
		if cmd.Bot != "" {
			n += 1 + len(cmd.Bot)
		}
		m.Entities = []telegram.MessageEntity{{Type: "bot_command", Offset: lead, Length: n}}
	}
	return telegram.Update{UpdateID: lastUpdateID.Add(1), Message: m}
}
