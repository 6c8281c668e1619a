package handlers

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// tplSessionTokensIndex lists the live conversation session tokens.
const tplSessionTokensIndex = "pages/session_tokens/index"

// registerSessionTokens registers the session tokens routes (admins and builders).
func (s *Server) registerSessionTokens() {
	s.handle(fiber.MethodGet, "/session-tokens", models.PermSessionManage, s.handleSessionTokenIndex)
	s.handle(fiber.MethodGet, "/session-tokens/:id/revoke", models.PermSessionManage, s.handleSessionTokenRevokeConfirm)
	s.handle(fiber.MethodPost, "/session-tokens/:id/revoke", models.PermSessionManage, s.handleSessionTokenRevoke)
	s.handle(fiber.MethodGet, "/conversations/:id/session-tokens/revoke", models.PermSessionManage, s.handleConversationTokensRevokeConfirm)
	s.handle(fiber.MethodPost, "/conversations/:id/session-tokens/revoke", models.PermSessionManage, s.handleConversationTokensRevoke)
}

// sessionTokenItem is a live session token as the list shows it.
type sessionTokenItem struct {
	models.ConversationSession
	ConvTitle  string
	SecretName string // "" when no API secret created it
	// Contact names the end user of the conversation ("" when unknown);
	// a widget's token carries its widget (IntegrationID).
	Contact string
}

type sessionTokenIndexPage struct {
	Page
	Tokens []sessionTokenItem
	Next   string
	Cursor string
}

func newSessionTokenItem(t models.ConversationSession) sessionTokenItem {
	it := sessionTokenItem{ConversationSession: t, ConvTitle: "Conversation " + shortID(t.ConversationID)}
	if t.Conversation != nil && t.Conversation.Name != "" {
		it.ConvTitle = t.Conversation.Name
	}
	if t.Secret != nil {
		it.SecretName = t.Secret.Name
	}
	return it
}

// handleSessionTokenIndex handles GET /session-tokens: the live (neither
// revoked nor expired) session tokens of every conversation, newest first.
func (s *Server) handleSessionTokenIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	list, next, err := s.store.FindConversationSessions(c.UserContext(), "", p)
	if err != nil {
		return err
	}
	var contactIDs []string
	for _, t := range list {
		if t.Conversation != nil && t.Conversation.ContactID != nil {
			contactIDs = append(contactIDs, *t.Conversation.ContactID)
		}
	}
	contacts, err := s.store.FindContactsByID(c.UserContext(), contactIDs)
	if err != nil {
		return err
	}
	items := make([]sessionTokenItem, 0, len(list))
	for _, t := range list {
		it := newSessionTokenItem(t)
		if t.Conversation != nil && t.Conversation.ContactID != nil {
			if ct, ok := contacts[*t.Conversation.ContactID]; ok {
				it.Contact = ct.Name
				if it.Contact == "" {
					it.Contact = ct.Fingerprint
				}
			}
		}
		items = append(items, it)
	}
	return s.render(c, fiber.StatusOK, tplSessionTokensIndex, sessionTokenIndexPage{
		Page: s.page(c, "Session tokens", "session-tokens"), Tokens: items, Next: next, Cursor: p.Cursor})
}

// handleSessionTokenRevokeConfirm handles GET /session-tokens/:id/revoke.
func (s *Server) handleSessionTokenRevokeConfirm(c *fiber.Ctx) error {
	t, err := s.store.FindConversationSession(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	it := newSessionTokenItem(*t)
	if t.RevokedAt != nil || !t.ExpiresAt.After(s.store.Now()) {
		setFlash(c, fmt.Sprintf("That session token of %q has already ended.", it.ConvTitle))
		return redirect(c, "/session-tokens")
	}
	by := fmt.Sprintf("It was created with the API secret %q.", it.SecretName)
	if it.SecretName == "" {
		by = "No API secret created it."
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page:    s.page(c, "Revoke session token", "session-tokens"),
		Heading: fmt.Sprintf("Revoke this session token of %q?", it.ConvTitle),
		Body: []string{"The end user's client using it is refused from now on; the conversation and its messages stay. This cannot be undone.",
			by + " Its app can create a new token for the conversation."},
		Action: "/session-tokens/" + t.ID + "/revoke", Button: "Revoke token", Cancel: "/session-tokens",
	})
}

// handleSessionTokenRevoke handles POST /session-tokens/:id/revoke.
func (s *Server) handleSessionTokenRevoke(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t, err := s.store.FindConversationSession(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.RevokeConversationSession(ctx, t.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Session token of %q revoked.", newSessionTokenItem(*t).ConvTitle))
	return redirect(c, "/session-tokens")
}

// handleConversationTokensRevokeConfirm handles GET /conversations/:id/session-tokens/revoke.
func (s *Server) handleConversationTokensRevokeConfirm(c *fiber.Ctx) error {
	conv, err := s.store.FindConversation(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	title := newConversationItem(*conv, operator(c)).Title
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page:    s.page(c, "Revoke session tokens of "+title, "session-tokens"),
		Heading: fmt.Sprintf("Revoke every session token of %q?", title),
		Body: []string{"Every end user's client talking to this conversation with a session token is refused from now on; the conversation and its messages stay. This cannot be undone.",
			"Apps can create new tokens for it with their API secret."},
		Action: "/conversations/" + conv.ID + "/session-tokens/revoke", Button: "Revoke all tokens", Cancel: "/session-tokens",
	})
}

// handleConversationTokensRevoke handles POST /conversations/:id/session-tokens/revoke.
func (s *Server) handleConversationTokensRevoke(c *fiber.Ctx) error {
	ctx := c.UserContext()
	conv, err := s.store.FindConversation(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	n, err := s.store.RevokeConversationSessions(ctx, conv.ID)
	if err != nil {
		return err
	}
	word := "tokens"
	if n == 1 {
		word = "token"
	}
	setFlash(c, fmt.Sprintf("Revoked %d session %s of %q.", n, word, newConversationItem(*conv, operator(c)).Title))
	return redirect(c, "/session-tokens")
}
