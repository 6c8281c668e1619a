package handlers

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"parley/app/providers"
	"parley/models"
)

// botFilterLimit bounds how many bots the conversation filter offers.
const botFilterLimit = 100

// registerConversations registers the conversations routes: read-only
// transcripts for now, and deletion.
func (s *Server) registerConversations() {
	s.handle(fiber.MethodGet, "/conversations", models.PermConversationRead, s.handleConversationIndex)
	s.handle(fiber.MethodGet, "/conversations/:id", models.PermConversationRead, s.handleConversationShow)
	s.handle(fiber.MethodGet, "/conversations/:id/delete", models.PermConversationWrite, s.handleConversationDeleteConfirm)
	s.handle(fiber.MethodPost, "/conversations/:id/delete", models.PermConversationWrite, s.handleConversationDelete)
}

// conversationItem is a conversation with what to show for its bot.
type conversationItem struct {
	models.Conversation
	Title    string
	BotLabel string // the bot's name, "deleted bot" or "inline configuration"
	BotLink  string // "/bots/<id>" while the bot exists, else ""
}

// newConversationItem works out the title and bot label of c as viewer sees
// it: its name and meta with personal data masked when the viewer may not
// see it (support, unless granted), so no page shows them unmasked. Deleting a bot
// clears its conversations' bot id, so a conversation without a bot and
// without an inline configuration of its own is taken to be a deleted bot's.
func newConversationItem(c models.Conversation, viewer *models.Operator) conversationItem {
	if viewer.MasksPersonalData() {
		c.Name, c.Meta = models.MaskPersonalData(c.Name), models.MaskMeta(c.Meta)
	}
	it := conversationItem{Conversation: c, Title: c.Name}
	if it.Title == "" {
		it.Title = "Conversation " + shortID(c.ID)
	}
	switch {
	case c.Bot != nil:
		it.BotLabel, it.BotLink = c.Bot.Name, "/bots/"+c.Bot.ID
		if it.BotLabel == "" {
			it.BotLabel = "(unnamed bot)"
		}
	case c.BotID == nil && (c.Backstory != "" || c.Model != "" || c.DatasetID != nil || c.SkillsetID != nil):
		it.BotLabel = "inline configuration"
	default:
		it.BotLabel = "deleted bot"
	}
	return it
}

// shortID is the last 8 characters of an id: its random part. (The start of
// a UUIDv7 is its timestamp, the same for everything made in the same minute.)
func shortID(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}

// messageCountCap is where the workbench stops counting messages.
const messageCountCap = 1000

type conversationShowPage struct {
	Page
	Conv        conversationItem
	Count       int64
	CountCapped bool
	Entries     []entryView
	// Older is the cursor of the page before this one ("" at the start).
	Older string
	// Before is set when this page is not the latest.
	Before string
	Viewer viewer
	// HasUserMessage: there is something to retry.
	HasUserMessage bool
	// Models are offered in the side panel's model field (builders).
	Models []providers.ModelOption
	// Review is the review card (status, assignee, tags, latest changes).
	Review reviewCardData
	// At is the message a search result or a review change links to.
	At string
}

// dateRange reads the list's from/to dates (YYYY-MM-DD, UTC, both inclusive).
func dateRange(from, to string) (time.Time, time.Time, error) {
	var since, until time.Time
	if from != "" {
		t, err := time.Parse(time.DateOnly, from)
		if err != nil {
			return since, until, models.FieldError("from", "From must be a date like 2026-11-21.")
		}
		since = t
	}
	if to != "" {
		t, err := time.Parse(time.DateOnly, to)
		if err != nil {
			return since, until, models.FieldError("to", "To must be a date like 2026-11-21.")
		}
		until = t.AddDate(0, 0, 1)
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return since, until, models.FieldError("to", "To must not be before From.")
	}
	return since, until, nil
}

func hasBot(bots []models.Bot, id string) bool {
	for _, b := range bots {
		if b.ID == id {
			return true
		}
	}
	return false
}

// handleConversationShow handles GET /conversations/:id: the workbench. It
// shows the latest page of the timeline (older pages load on demand, so a
// conversation of 10,000 messages opens as fast as one of 10), the chat
// panel for those who may run the conversation, and follows it live.
func (s *Server) handleConversationShow(c *fiber.Ctx) error {
	ctx := c.UserContext()
	conv, err := s.store.FindConversation(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	before, at := c.Query("before"), c.Query("at")
	if before != "" && !models.ValidID(before) {
		return models.Errorf(models.CodeInvalid, "The page link is not valid (bad message id). Go back to the latest messages.")
	}
	if at != "" && before == "" {
		// ?at=ID opens the page that ends with that message (a search hit).
		if !models.ValidID(at) {
			return models.Errorf(models.CodeInvalid, "The message link is not valid (bad message id). Go back to the latest messages.")
		}
		if before, err = s.store.MessageAfter(ctx, conv.ID, at); err != nil {
			return err
		}
	}
	msgs, older, err := s.latestMessages(ctx, conv.ID, before)
	if err != nil {
		return err
	}
	n, err := s.store.CountMessagesUpTo(ctx, conv.ID, messageCountCap+1)
	if err != nil {
		return err
	}
	view := viewerOf(c)
	es, err := s.entries(ctx, view, conv.ID, msgs)
	if err != nil {
		return err
	}
	hasUser := true
	if _, err := s.store.LastUserMessage(ctx, conv.ID); models.ErrorCode(err) == models.CodeNotFound {
		hasUser = false
	} else if err != nil {
		return err
	}
	it := newConversationItem(*conv, operator(c))
	var catalog []providers.ModelOption
	if conv.Bot != nil && view.CanEdit {
		if catalog, err = s.opts.Providers.Catalog(ctx); err != nil {
			return err
		}
	}
	review, err := s.reviewCard(c, conv.ID)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplConversationsShow, conversationShowPage{Page: s.page(c, it.Title, "conversations"),
		Conv: it, Count: n, CountCapped: n > messageCountCap, Entries: es, Older: older, Before: before, Viewer: view,
		HasUserMessage: hasUser, Models: catalog, Review: review, At: at})
}

// handleConversationDeleteConfirm handles GET /conversations/:id/delete.
func (s *Server) handleConversationDeleteConfirm(c *fiber.Ctx) error {
	conv, err := s.store.FindConversation(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	n, err := s.store.CountMessages(c.UserContext(), conv.ID)
	if err != nil {
		return err
	}
	it := newConversationItem(*conv, operator(c))
	msgs := "1 message"
	if n != 1 {
		msgs = fmt.Sprintf("%d messages", n)
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "Delete "+it.Title, "conversations"), Heading: fmt.Sprintf("Delete %q?", it.Title),
		Body: []string{fmt.Sprintf("The conversation and its %s will be deleted. This cannot be undone.", msgs),
			"Apps and end users talking in it lose it too: their session tokens stop working."},
		Action: "/conversations/" + conv.ID + "/delete", Button: "Delete conversation", Cancel: "/conversations/" + conv.ID,
	})
}

// handleConversationDelete handles POST /conversations/:id/delete.
func (s *Server) handleConversationDelete(c *fiber.Ctx) error {
	conv, err := s.store.FindConversation(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteConversation(c.UserContext(), conv.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("%s deleted.", newConversationItem(*conv, operator(c)).Title))
	return redirect(c, "/conversations")
}
