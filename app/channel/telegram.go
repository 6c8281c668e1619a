package channel

import (
	"context"
	"errors"
	"strconv"
	"time"

	"parley/app/channel/telegram"
	"parley/models"
	"parley/models/store"
)

// AllowedUpdates are the update kinds Parley asks Telegram for.
var AllowedUpdates = []string{"message"}

// telegramFor returns the Bot API client of an integration and the chat and
// topic of a reply address.
func (s *Service) telegramFor(ctx context.Context, it *models.Integration, chatID, topicID string) (*telegram.Client, int64, int, error) {
	sec, err := s.st.IntegrationSecrets(ctx, it.ID)
	if err != nil {
		return nil, 0, 0, err
	}
	chat, err := strconv.ParseInt(chatID, 10, 64)
	if err != nil {
		return nil, 0, 0, errors.New("channel: the reply has no Telegram chat")
	}
	topic, _ := strconv.Atoi(topicID)
	return telegram.New(s.tgURL, sec.BotToken, s.tgHTTP), chat, topic, nil
}

// WebhookPath is the path Telegram posts an integration's updates to.
func WebhookPath(integrationID string) string { return "/channels/telegram/" + integrationID }

// SetupTelegram connects a Telegram integration to its bot: getMe proves
// the token and gives the bot's username (stored); setWebhook points the
// bot's updates at PARLEY_PUBLIC_URL + /channels/telegram/{id} with a new
// random secret token (stored sealed; the previous one stops working) and
// allowed_updates ["message"]. Errors: not_found, invalid (not Telegram;
// PARLEY_PUBLIC_URL unset; Telegram refused the token or the URL, its
// reason in the message), unavailable (Telegram unreachable).
func (s *Service) SetupTelegram(ctx context.Context, integrationID string) (*models.Integration, error) {
	it, err := s.findIntegration(ctx, integrationID, models.IntegrationTelegram)
	if err != nil {
		return nil, err
	}
	if s.publicURL == "" {
		return nil, models.Errorf(models.CodeInvalid, "Set PARLEY_PUBLIC_URL to the address Telegram can reach this server at (https://…), then set up again.")
	}
	sec, err := s.st.IntegrationSecrets(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	client := telegram.New(s.tgURL, sec.BotToken, s.tgHTTP)
	me, err := client.GetMe(ctx)
	if err != nil {
		return nil, telegramError("Telegram did not accept the bot token", err)
	}
	url := s.publicURL + WebhookPath(it.ID)
	secret := telegram.NewSecretToken()
	// The secret is stored first: an update Telegram sends as soon as the
	// webhook is set must find it. Until setWebhook succeeds, the previous
	// webhook (if any) is refused, which Telegram retries.
	out, err := s.st.SaveTelegramSetup(ctx, it.ID, store.TelegramSetup{Username: me.Username, UserID: me.ID, WebhookURL: url, SecretToken: secret})
	if err != nil {
		return nil, err
	}
	if err := client.SetWebhook(ctx, url, secret, AllowedUpdates, false); err != nil {
		return nil, telegramError("Telegram did not accept the webhook", err)
	}
	s.log.Info("telegram integration set up", "integration_id", it.ID, "bot", me.Username, "webhook", url)
	return out, nil
}

// TelegramHealth returns the bot's webhook as Telegram sees it
// (getWebhookInfo): its URL, the updates waiting and the last delivery
// error. Errors: not_found, invalid or unavailable as SetupTelegram.
func (s *Service) TelegramHealth(ctx context.Context, integrationID string) (*telegram.WebhookInfo, error) {
	it, err := s.findIntegration(ctx, integrationID, models.IntegrationTelegram)
	if err != nil {
		return nil, err
	}
	sec, err := s.st.IntegrationSecrets(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	info, err := telegram.New(s.tgURL, sec.BotToken, s.tgHTTP).GetWebhookInfo(ctx)
	if err != nil {
		return nil, telegramError("Telegram did not say how the webhook is", err)
	}
	return info, nil
}

// telegramError turns a Bot API failure into a coded error saying what
// Telegram said (never the token: APIError leaves it out).
func telegramError(what string, err error) error {
	var ae *telegram.APIError
	if errors.As(err, &ae) && !ae.Retryable {
		return models.Errorf(models.CodeInvalid, "%s: %s", what, ae.Error())
	}
	return models.Errorf(models.CodeUnavailable, "%s: %v. Try again shortly.", what, err)
}

// telegramSender sends replies with sendMessage, as Telegram HTML.
type telegramSender struct{ s *Service }

func (t telegramSender) parts(d *models.OutboundDelivery) []string {
	return telegram.Split(telegram.FormatHTML(d.Text), telegram.MaxMessageLength)
}

func (t telegramSender) send(ctx context.Context, it *models.Integration, d *models.OutboundDelivery, part int, text string) result {
	r := result{request: "sendMessage chat " + d.ChatID + " part " + strconv.Itoa(part) + ", " + strconv.Itoa(len(text)) + " bytes of HTML"}
	client, chat, topic, err := t.s.telegramFor(ctx, it, d.ChatID, d.TopicID)
	if err != nil {
		r.err = err
		return r
	}
	start := time.Now()
	id, err := client.SendMessage(ctx, chat, topic, text, telegram.ParseModeHTML, 0)
	r.latency = time.Since(start)
	if err == nil {
		r.status, r.response = 200, "message_id "+strconv.Itoa(id)
		return r
	}
	r.err = err
	var ae *telegram.APIError
	if errors.As(err, &ae) {
		r.status, r.retryable, r.retryAfter = ae.StatusCode, ae.Retryable, ae.RetryAfter
		r.response = ae.Description
		r.pauseAll = ae.StatusCode == 429 || ae.ErrorCode == 429
	} else {
		r.retryable = true
	}
	return r
}
