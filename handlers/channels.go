package handlers

import (
	"github.com/gofiber/fiber/v2"

	"parley/app/channel"
	"parley/app/channel/telegram"
	"parley/app/channel/webhook"
	"parley/models"
)

// ChannelPrefix is where platforms post their events; errors there answer
// as the API does (JSON), since no browser calls it.
const ChannelPrefix = "/channels/"

// registerChannels registers the platforms' webhooks: public (no session,
// no CSRF: each request is authenticated by its integration's secret) and
// with their own body limit.
func (s *Server) registerChannels() {
	s.public(fiber.MethodPost, "/channels/telegram/:integrationId", s.channelBody, s.handleTelegramUpdate)
	s.public(fiber.MethodPost, "/channels/webhook/:integrationId", s.channelBody, s.handleWebhookEvent)
}

// channelBody refuses a body larger than the channels read.
func (s *Server) channelBody(c *fiber.Ctx) error {
	if len(c.Body()) > s.channels.BodyLimit() {
		return models.Errorf(models.CodeTooLarge, "The request is too large for a channel event.")
	}
	return c.Next()
}

// receiptJSON is a channel request's acknowledgement.
type receiptJSON struct {
	OK        bool       `json:"ok"`
	EventID   string     `json:"eventId"`
	Status    string     `json:"status"`
	Duplicate bool       `json:"duplicate"`
	Reply     *replyJSON `json:"reply,omitempty"`
}

// replyJSON is the reply returned to a webhook request made with ?wait=1.
type replyJSON struct {
	Kind           string `json:"kind"`
	Text           string `json:"text"`
	DeliveryID     string `json:"deliveryId"`
	ConversationID string `json:"parleyConversationId,omitempty"`
	MessageID      string `json:"messageId,omitempty"`
}

func receipt(r *channel.Receipt) receiptJSON {
	out := receiptJSON{OK: true, EventID: r.EventID, Status: r.Status, Duplicate: r.Duplicate}
	if r.Reply != nil {
		out.Reply = &replyJSON{Kind: r.Reply.Kind, Text: r.Reply.Text, DeliveryID: r.Reply.DeliveryID,
			ConversationID: r.Reply.ConversationID, MessageID: r.Reply.MessageID}
	}
	return out
}

// handleTelegramUpdate handles POST /channels/telegram/:integrationId: a
// Telegram update, acknowledged with 200 once recorded (a repeated one too).
func (s *Server) handleTelegramUpdate(c *fiber.Ctx) error {
	r, err := s.channels.ReceiveTelegram(c.UserContext(), c.Params("integrationId"), c.Get(telegram.SecretHeader), c.Body())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(receipt(r))
}

// handleWebhookEvent handles POST /channels/webhook/:integrationId: a signed
// event, acknowledged with 202 once recorded (200 for a repeated one), or
// answered with its reply (200) when the request asks ?wait=1.
func (s *Server) handleWebhookEvent(c *fiber.Ctx) error {
	wait := c.Query("wait") == "1" || c.Query("wait") == "true"
	r, err := s.channels.ReceiveWebhook(c.UserContext(), c.Params("integrationId"), c.Get(webhook.SignatureHeader), c.Body(), wait)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	status := fiber.StatusAccepted
	if r.Duplicate || wait {
		status = fiber.StatusOK
	}
	return c.Status(status).JSON(receipt(r))
}
