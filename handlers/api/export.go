package api

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// handleConversationExport handles GET /api/v1/conversation/export:
// ChatBotKit's export, the conversations a page at a time ({items, cursor})
// or every one as JSON lines ({"type":"item","data":…}), with test data as
// well (an export is complete). Each call is recorded in the audit log.
func (a *API) handleConversationExport(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	e := models.AuditEvent{ActorName: by(c), Action: "export", ObjectType: "conversations", Route: "GET /api/v1/conversation/export",
		Detail: "api", IP: c.IP()}
	if err := a.store.RecordAudit(c.UserContext(), e); err != nil {
		return err
	}
	return sendList(a, c, p, func(ctx context.Context, p models.Page) ([]models.Conversation, string, error) {
		convs, next, err := a.store.FindConversations(ctx, models.ConversationFilter{Page: p, IncludeTests: true})
		if err != nil {
			return nil, "", err
		}
		return convs, next, a.ratedConversations(ctx, convs)
	}, toConversation, func(c *models.Conversation) string { return c.ID })
}
