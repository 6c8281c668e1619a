package channel

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"parley/app/channel/telegram"
	"parley/app/channel/webhook"
	"parley/models"
)

// Commands the Telegram channel runs itself; any other command is text for
// the bot.
const (
	CommandStart = "start"
	CommandNew   = "new"
)

// ReceiveTelegram records a Telegram update posted to the integration's
// webhook: the secret token must match (compared in constant time), or
// nothing is stored (unauthorized). The update is classified at once: text
// and commands are queued for processing; other kinds are recorded as
// ignored with the reason. A repeated update_id is counted, not processed
// again. Errors: not_found (no such Telegram integration), unauthorized,
// bad_request (not an update), unavailable (the database or queue).
func (s *Service) ReceiveTelegram(ctx context.Context, integrationID, secretToken string, body []byte) (*Receipt, error) {
	it, sec, err := s.authIntegration(ctx, integrationID, models.IntegrationTelegram)
	if err != nil {
		return nil, err
	}
	if !telegram.CheckSecret(secretToken, sec.SecretToken) {
		return nil, errUnauthorized
	}
	var u telegram.Update
	if err := json.Unmarshal(body, &u); err != nil || u.UpdateID == 0 {
		return nil, models.Errorf(models.CodeBadRequest, "The body is not a Telegram update.")
	}
	ev := telegramEvent(it, u, body)
	stored, dup, err := s.st.ReceiveEvent(ctx, ev, time.Time{})
	if err != nil {
		return nil, err
	}
	return &Receipt{EventID: stored.ID, Status: stored.Status, Duplicate: dup}, nil
}

// telegramEvent is the inbound event of an update: its kind, its
// conversation key and reply address, its sender and its text.
func telegramEvent(it *models.Integration, u telegram.Update, body []byte) models.InboundEvent {
	kind, reason := telegram.ClassifyFor(u, it.Telegram.Username)
	ev := models.InboundEvent{IntegrationID: it.ID, ExternalID: strconv.FormatInt(u.UpdateID, 10), Kind: kind,
		Reason: reason, Payload: string(body)}
	m := u.Message
	if m == nil {
		m = firstMessage(u.EditedMessage, u.ChannelPost, u.EditedChannelPost, u.BusinessMessage, u.EditedBusinessMessage)
	}
	if m == nil {
		return ev
	}
	ev.ExternalKey, ev.ChatID, ev.ChatType = telegram.ConversationKey(m), strconv.FormatInt(m.Chat.ID, 10), m.Chat.Type
	if t := m.ThreadID(); t != 0 {
		ev.TopicID = strconv.Itoa(t)
	}
	switch {
	case m.From != nil && m.SenderChat == nil:
		ev.Sender = models.EventSender{Fingerprint: "telegram:" + strconv.FormatInt(m.From.ID, 10), UserID: m.From.ID,
			Name: clip(m.From.Name(), 200), Nick: clip(m.From.Username, 100)}
	case m.SenderChat != nil:
		ev.Sender = models.EventSender{Fingerprint: "telegram:chat:" + strconv.FormatInt(m.SenderChat.ID, 10),
			Name: clip(m.SenderChat.Title, 200), Nick: clip(m.SenderChat.Username, 100)}
	}
	ev.Text = m.Text
	if kind == telegram.KindCommand {
		cmd, _ := telegram.ParseCommand(m.Text)
		switch cmd.Name {
		case CommandStart, CommandNew:
			ev.Command = cmd.Name
		default:
			ev.Kind = models.EventKindText // the bot reads /help and the like
		}
	}
	return ev
}

// authIntegration returns the integration a platform's request names, of
// the given type, with its secrets (one query: it runs for every request).
func (s *Service) authIntegration(ctx context.Context, id, typ string) (*models.Integration, models.IntegrationSecrets, error) {
	it, sec, err := s.st.FindIntegrationWithSecrets(ctx, id)
	if err != nil {
		return nil, sec, err
	}
	if it.Type != typ {
		return nil, sec, models.Errorf(models.CodeNotFound, "Integration not found.")
	}
	return it, sec, nil
}

func firstMessage(ms ...*telegram.Message) *telegram.Message {
	for _, m := range ms {
		if m != nil {
			return m
		}
	}
	return nil
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// ReceiveWebhook records an event posted to a generic webhook integration:
// the signature must match the body and be recent (webhook.Verify), or
// nothing is stored (unauthorized); the body must be a valid event
// (invalid). The event is queued for processing and the receipt returned at
// once; with wait, the event is processed within the request and the reply
// returned in it (still recorded and deduplicated: a repeated eventId
// returns the first reply), its job kept as a safety net should the request
// be cut. Errors: not_found, unauthorized, invalid, unavailable.
func (s *Service) ReceiveWebhook(ctx context.Context, integrationID, signature string, body []byte, wait bool) (*Receipt, error) {
	it, sec, err := s.authIntegration(ctx, integrationID, models.IntegrationWebhook)
	if err != nil {
		return nil, err
	}
	if err := webhook.Verify(sec.SigningSecret, signature, body, s.now()); err != nil {
		msg := "The request's signature (X-Parley-Signature) does not match this integration's signing secret."
		switch {
		case errors.Is(err, webhook.ErrNoSignature):
			msg = "The request is not signed: send X-Parley-Signature: t=<unix>,v1=<hex HMAC-SHA256 of \"t.body\">."
		case errors.Is(err, webhook.ErrExpired):
			msg = "The request's signature is more than five minutes old (or ahead): sign it when sending."
		}
		return nil, models.Errorf(models.CodeUnauthorized, "%s", msg)
	}
	e, err := webhook.Parse(body)
	if err != nil {
		return nil, err
	}
	ev := models.InboundEvent{IntegrationID: it.ID, ExternalID: e.EventID, ExternalKey: e.ConversationID, Kind: models.EventKindText,
		Text: e.Text, ChatID: e.ConversationID, Payload: string(body), Wait: wait}
	if c := e.Contact; c != nil {
		ev.Sender = models.EventSender{Fingerprint: c.Fingerprint, Name: clip(c.Name, 200), Nick: clip(c.Nick, 100), Email: c.Email, Phone: clip(c.Phone, 50)}
	}
	jobAt := time.Time{}
	if wait {
		jobAt = s.now().Add(s.lim.WaitSafetyNet)
	}
	stored, dup, err := s.st.ReceiveEvent(ctx, ev, jobAt)
	if err != nil {
		return nil, err
	}
	r := &Receipt{EventID: stored.ID, Status: stored.Status, Duplicate: dup}
	if !wait {
		return r, nil
	}
	d, err := s.process(ctx, stored.ID, true)
	if err != nil {
		return nil, err
	}
	if d != nil {
		r.Reply = &WaitedReply{Kind: d.Kind, Text: d.Text, DeliveryID: d.ID, ConversationID: models.Deref(d.ConversationID), MessageID: models.Deref(d.MessageID)}
	}
	if fresh, err := s.st.FindEvent(ctx, stored.ID); err == nil {
		r.Status = fresh.Status
	}
	return r, nil
}
