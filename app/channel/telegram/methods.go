package telegram

import (
	"context"
	"net/url"
	"strings"
	"time"
)

// WebhookInfo is the state of the bot's webhook (getWebhookInfo), shown to
// the operator: where Telegram delivers, how many updates wait, and the
// last delivery error.
type WebhookInfo struct {
	// URL is the webhook's address; empty when none is set.
	URL                  string `json:"url"`
	HasCustomCertificate bool   `json:"has_custom_certificate"`
	// PendingUpdateCount is how many updates wait for delivery.
	PendingUpdateCount int    `json:"pending_update_count"`
	IPAddress          string `json:"ip_address,omitempty"`
	// LastErrorDate is when the last delivery failed (Unix seconds; 0:
	// never), LastErrorMessage why.
	LastErrorDate                int64    `json:"last_error_date,omitempty"`
	LastErrorMessage             string   `json:"last_error_message,omitempty"`
	LastSynchronizationErrorDate int64    `json:"last_synchronization_error_date,omitempty"`
	MaxConnections               int      `json:"max_connections,omitempty"`
	AllowedUpdates               []string `json:"allowed_updates,omitempty"`
}

// LastError is LastErrorDate as a time (zero: no error).
func (w WebhookInfo) LastError() time.Time { return unixTime(w.LastErrorDate) }

// GetMe returns the bot's own user (getMe); its Username is what commands
// such as "/start@Username" name, and a successful call proves the token.
func (c *Client) GetMe(ctx context.Context) (*User, error) {
	var u User
	if err := c.call(ctx, "getMe", struct{}{}, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// SetWebhook makes Telegram POST the bot's updates to webhookURL (setWebhook) with
// secretToken in the X-Telegram-Bot-Api-Secret-Token header (empty: no
// header; otherwise see ValidSecretToken). allowedUpdates lists the update
// types wanted (nil: keep the previous list; empty: Telegram's default);
// dropPending drops the updates waiting for delivery.
func (c *Client) SetWebhook(ctx context.Context, webhookURL, secretToken string, allowedUpdates []string, dropPending bool) error {
	const method = "setWebhook"
	if !validWebhookURL(webhookURL) {
		return invalid(method, "the webhook URL must be an absolute https URL")
	}
	if secretToken != "" && !ValidSecretToken(secretToken) {
		return invalid(method, "the secret token must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
	}
	params := struct {
		URL            string    `json:"url"`
		SecretToken    string    `json:"secret_token,omitempty"`
		AllowedUpdates *[]string `json:"allowed_updates,omitempty"`
		DropPending    bool      `json:"drop_pending_updates,omitempty"`
	}{URL: webhookURL, SecretToken: secretToken, DropPending: dropPending}
	if allowedUpdates != nil {
		params.AllowedUpdates = &allowedUpdates
	}
	return c.call(ctx, method, params, nil)
}

// validWebhookURL refuses what Telegram would refuse anyway: anything but
// an absolute https URL (http passes too, for fakes in tests).
func validWebhookURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http")
}

// DeleteWebhook removes the webhook (deleteWebhook), e.g. when a bot's
// Telegram channel is turned off; dropPending drops the updates waiting.
func (c *Client) DeleteWebhook(ctx context.Context, dropPending bool) error {
	params := struct {
		DropPending bool `json:"drop_pending_updates,omitempty"`
	}{dropPending}
	return c.call(ctx, "deleteWebhook", params, nil)
}

// GetWebhookInfo returns the webhook's state (getWebhookInfo).
func (c *Client) GetWebhookInfo(ctx context.Context) (*WebhookInfo, error) {
	var info WebhookInfo
	if err := c.call(ctx, "getWebhookInfo", struct{}{}, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// SendMessage sends text to a chat (sendMessage) and returns the new
// message's id. threadID is the forum topic (0: none; see
// Message.ThreadID), parseMode "HTML" for FormatHTML's output ("": plain
// text), replyTo the message answered (0: none; a deleted one is not an
// error). text must fit in MaxMessageLength: see Split.
func (c *Client) SendMessage(ctx context.Context, chatID int64, threadID int, text, parseMode string, replyTo int) (int, error) {
	const method = "sendMessage"
	if strings.TrimSpace(text) == "" {
		return 0, invalid(method, "the message text is empty")
	}
	type replyParameters struct {
		MessageID                int  `json:"message_id"`
		AllowSendingWithoutReply bool `json:"allow_sending_without_reply"`
	}
	params := struct {
		ChatID          int64            `json:"chat_id"`
		ThreadID        int              `json:"message_thread_id,omitempty"`
		Text            string           `json:"text"`
		ParseMode       string           `json:"parse_mode,omitempty"`
		ReplyParameters *replyParameters `json:"reply_parameters,omitempty"`
	}{ChatID: chatID, ThreadID: threadID, Text: text, ParseMode: parseMode}
	if replyTo != 0 {
		params.ReplyParameters = &replyParameters{MessageID: replyTo, AllowSendingWithoutReply: true}
	}
	var m struct {
		MessageID int `json:"message_id"`
	}
	if err := c.call(ctx, method, params, &m); err != nil {
		return 0, err
	}
	return m.MessageID, nil
}

// SendChatAction shows the bot doing action (ActionTyping…) in a chat for
// about five seconds or until its next message (sendChatAction).
func (c *Client) SendChatAction(ctx context.Context, chatID int64, threadID int, action string) error {
	params := struct {
		ChatID   int64  `json:"chat_id"`
		ThreadID int    `json:"message_thread_id,omitempty"`
		Action   string `json:"action"`
	}{chatID, threadID, action}
	return c.call(ctx, "sendChatAction", params, nil)
}
