package api

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/app/engine"
	"parley/models"
)

// clientMetaKey is where the meta an end user's client sends with a session
// token is kept, apart from Parley's own keys.
const clientMetaKey = "client"

// messageRequest is the body of message/create (type and text required) and
// message/update.
type messageRequest struct {
	Name        *string     `json:"name"`
	Description *string     `json:"description"`
	Meta        models.Meta `json:"meta"`
	Type        *string     `json:"type" validate:"omitempty,oneof=user bot reasoning context instruction backstory activity checkpoint"`
	Text        *string     `json:"text" validate:"omitempty,max=200000"`
	Entities    []any       `json:"entities"`
}

func (r *messageRequest) check() error {
	switch {
	case r.Name != nil && *r.Name != "":
		return models.FieldError("name", "Messages have no name in Parley: put it in meta.")
	case r.Description != nil && *r.Description != "":
		return models.FieldError("description", "Messages have no description in Parley: put it in meta.")
	case len(r.Entities) > 0:
		return models.FieldError("entities", "Entities are not supported.")
	}
	return nil
}

type messageJSON struct {
	ID        string      `json:"id"`
	CreatedAt int64       `json:"createdAt"`
	UpdatedAt int64       `json:"updatedAt"`
	Type      string      `json:"type"`
	Text      string      `json:"text"`
	Meta      models.Meta `json:"meta"`
}

func toMessage(m *models.Message) messageJSON {
	return messageJSON{ID: m.ID, CreatedAt: ms(m.CreatedAt), UpdatedAt: ms(m.UpdatedAt), Type: m.Type, Text: m.Text, Meta: meta(m.Meta)}
}

// handleMessageList handles GET /api/v1/conversation/{conversationId}/message/list.
func (a *API) handleMessageList(c *fiber.Ctx) error {
	conv, err := a.store.FindConversation(c.UserContext(), c.Params("conversationId"))
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	return sendList(a, c, p, func(ctx context.Context, p models.Page) ([]models.Message, string, error) {
		return a.store.FindMessages(ctx, conv.ID, p)
	}, toMessage, func(m *models.Message) string { return m.ID })
}

// handleMessageFetch handles GET /api/v1/conversation/{conversationId}/message/{messageId}/fetch.
func (a *API) handleMessageFetch(c *fiber.Ctx) error {
	m, err := a.store.FindMessage(c.UserContext(), c.Params("conversationId"), c.Params("messageId"))
	if err != nil {
		return err
	}
	return c.JSON(toMessage(m))
}

// handleMessageCreate handles POST /api/v1/conversation/{conversationId}/message/create.
// A session token may only add user messages: an end user must not write the
// bot's lines or its instructions. Nor may it write Parley's own meta (a
// rating, say, that operators would trust): a session token's meta is stored
// as {"client": <the meta given>}, a namespace the dashboard never reads as
// Parley's. An API secret's meta is stored as given.
func (a *API) handleMessageCreate(c *fiber.Ctx) error {
	var r messageRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := r.check(); err != nil {
		return err
	}
	if r.Type == nil {
		return models.FieldError("type", "Type is required.")
	}
	if r.Text == nil {
		return models.FieldError("text", "Text is required.")
	}
	stored := r.Meta
	if p, _ := c.Locals(principalKey).(principal); p.session != nil {
		if *r.Type != models.MessageUser {
			return models.Errorf(models.CodeForbidden, "A session token may only create user messages.")
		}
		if len(stored) > 0 {
			stored = models.Meta{clientMetaKey: map[string]any(r.Meta)}
		}
	}
	convID := c.Params("conversationId")
	m, err := a.store.CreateMessage(c.UserContext(), models.Message{ConversationID: convID, Type: *r.Type, Text: *r.Text, Meta: stored})
	if err != nil {
		return err
	}
	a.publish(convID, engine.Event{Type: "message", Message: m})
	return c.JSON(sendResponse{ID: m.ID, Entities: []any{}})
}

// handleMessageUpdate handles POST /api/v1/conversation/{conversationId}/message/{messageId}/update.
func (a *API) handleMessageUpdate(c *fiber.Ctx) error {
	m, err := a.store.FindMessage(c.UserContext(), c.Params("conversationId"), c.Params("messageId"))
	if err != nil {
		return err
	}
	var r messageRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := r.check(); err != nil {
		return err
	}
	setStr(&m.Type, r.Type)
	setStr(&m.Text, r.Text)
	if r.Meta != nil {
		m.Meta = r.Meta
	}
	m, err = a.store.UpdateMessage(c.UserContext(), *m)
	if err != nil {
		return err
	}
	a.publish(m.ConversationID, engine.Event{Type: "message", Message: m})
	return c.JSON(idResponse{ID: m.ID})
}

// handleMessageDelete handles POST /api/v1/conversation/{conversationId}/message/{messageId}/delete.
func (a *API) handleMessageDelete(c *fiber.Ctx) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	id := c.Params("messageId")
	if err := a.store.DeleteMessage(c.UserContext(), c.Params("conversationId"), id); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: id})
}

func (a *API) voteMessage(c *fiber.Ctx, sign float64) error {
	convID, msgID := c.Params("conversationId"), c.Params("messageId")
	if _, err := a.store.FindMessage(c.UserContext(), convID, msgID); err != nil {
		return err
	}
	var r voteRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	r.Reason = strings.TrimSpace(r.Reason)
	m, err := a.store.SetMessageMeta(c.UserContext(), convID, msgID, "rating", r.rating(c, sign))
	if err != nil {
		return err
	}
	a.publish(convID, engine.Event{Type: "message", Message: m})
	return c.JSON(idResponse{ID: m.ID})
}

// handleMessageUpvote handles POST /api/v1/conversation/{conversationId}/message/{messageId}/upvote.
func (a *API) handleMessageUpvote(c *fiber.Ctx) error { return a.voteMessage(c, 1) }

// handleMessageDownvote handles POST /api/v1/conversation/{conversationId}/message/{messageId}/downvote.
func (a *API) handleMessageDownvote(c *fiber.Ctx) error { return a.voteMessage(c, -1) }
