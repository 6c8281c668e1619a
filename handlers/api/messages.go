package api

import (
	"context"

	"github.com/gofiber/fiber/v2"

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
		msgs, next, err := a.store.FindMessages(ctx, conv.ID, p)
		if err != nil {
			return nil, "", err
		}
		return msgs, next, a.rated(ctx, conv.ID, msgs)
	}, toMessage, func(m *models.Message) string { return m.ID })
}

// handleMessageFetch handles GET /api/v1/conversation/{conversationId}/message/{messageId}/fetch.
func (a *API) handleMessageFetch(c *fiber.Ctx) error {
	m, err := a.store.FindMessage(c.UserContext(), c.Params("conversationId"), c.Params("messageId"))
	if err != nil {
		return err
	}
	msgs := []models.Message{*m}
	if err := a.rated(c.UserContext(), m.ConversationID, msgs); err != nil {
		return err
	}
	return c.JSON(toMessage(&msgs[0]))
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
	m, err := a.turns.CreateMessage(c.UserContext(), models.Message{ConversationID: convID, Type: *r.Type, Text: *r.Text, Meta: stored})
	if err != nil {
		return err
	}
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
	m, err = a.turns.UpdateMessage(c.UserContext(), *m)
	if err != nil {
		return err
	}
	return c.JSON(idResponse{ID: m.ID})
}

// handleMessageDelete handles POST /api/v1/conversation/{conversationId}/message/{messageId}/delete.
func (a *API) handleMessageDelete(c *fiber.Ctx) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	id := c.Params("messageId")
	if err := a.turns.DeleteMessage(c.UserContext(), c.Params("conversationId"), id); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: id})
}

func (a *API) voteMessage(c *fiber.Ctx, sign float64) error {
	convID, msgID := c.Params("conversationId"), c.Params("messageId")
	m, err := a.store.FindMessage(c.UserContext(), convID, msgID)
	if err != nil {
		return err
	}
	var r voteRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if _, err := a.store.Rate(c.UserContext(), convID, msgID, rater(c), r.value(sign), r.Reason); err != nil {
		return err
	}
	a.turns.Changed(m)
	return c.JSON(idResponse{ID: m.ID})
}

// handleMessageUpvote handles POST /api/v1/conversation/{conversationId}/message/{messageId}/upvote.
func (a *API) handleMessageUpvote(c *fiber.Ctx) error { return a.voteMessage(c, 1) }

// handleMessageDownvote handles POST /api/v1/conversation/{conversationId}/message/{messageId}/downvote.
func (a *API) handleMessageDownvote(c *fiber.Ctx) error { return a.voteMessage(c, -1) }

// rated shows each message's latest rating in its meta as "rating" ({value,
// reason, by, at}), as ChatBotKit's clients read votes back; every rater's
// rating is kept (the dashboard shows them all).
func (a *API) rated(ctx context.Context, convID string, msgs []models.Message) error {
	var ids []string
	for _, m := range msgs {
		if m.Type == models.MessageBot {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rs, err := a.store.FindRatings(ctx, convID, ids)
	if err != nil {
		return err
	}
	for i := range msgs {
		if r := latest(rs[msgs[i].ID]); r != nil {
			msgs[i].Meta = withRating(msgs[i].Meta, r)
		}
	}
	return nil
}

// latest is the most recently given of ratings (nil when none).
func latest(rs []models.Rating) *models.Rating {
	var out *models.Rating
	for i := range rs {
		if out == nil || rs[i].UpdatedAt.After(out.UpdatedAt) {
			out = &rs[i]
		}
	}
	return out
}

// withRating is meta (copied) with a rating as ChatBotKit's clients see it.
func withRating(m models.Meta, r *models.Rating) models.Meta {
	out := models.Meta{}
	for k, v := range m {
		out[k] = v
	}
	out["rating"] = map[string]any{"value": r.Value, "reason": r.Reason, "by": r.RaterName, "at": ms(r.UpdatedAt)}
	return out
}
