package handlers

import (
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"parley/app/engine"
	"parley/models"
	"parley/models/store"
)

// registerWorkbench registers the routes that run and watch conversations.
// They come before registerConversations so /conversations/new is not read as an id.
func (s *Server) registerWorkbench() {
	s.handle(fiber.MethodGet, "/conversations/new", models.PermConversationRun, s.handleConversationNew)
	s.handle(fiber.MethodPost, "/conversations", models.PermConversationRun, s.handleConversationCreate)
	s.handle(fiber.MethodPost, "/conversations/:id/turns", models.PermConversationRun, s.handleTurn)
	s.handle(fiber.MethodPost, "/conversations/:id/retry", models.PermConversationRun, s.handleRetry)
	s.handle(fiber.MethodPost, "/conversations/:id/restart", models.PermConversationRun, s.handleRestart)
	s.handle(fiber.MethodPost, "/bots/:id/test", models.PermConversationRun, s.handleBotTest)
	s.handle(fiber.MethodPost, "/conversations/:id/bot", models.PermConfigWrite, s.handleWorkbenchBot)
	s.handle(fiber.MethodPost, "/conversations/:id/messages/:messageId/vote", models.PermConversationRate, s.handleVote)
	s.handle(fiber.MethodGet, "/conversations/:id/messages/:messageId", models.PermConversationRead, s.handleMessageEntry)
	s.handle(fiber.MethodGet, "/conversations/:id/older", models.PermConversationRead, s.handleOlderMessages)
	s.handle(fiber.MethodGet, "/conversations/:id/events", models.PermConversationRead, s.handleEvents)
	s.handle(fiber.MethodGet, "/conversations/:id/turns/:turnId/prompt", models.PermConfigRead, s.handleTurnPrompt)
}

// ---- starting a conversation ----

type newConversationForm struct {
	BotID     string `form:"botId" validate:"omitempty,max=36"`
	Name      string `form:"name" validate:"max=200"`
	Backstory string `form:"backstory" validate:"max=100000"`
	Model     string `form:"model" validate:"max=200"`
}

type newConversationPage struct {
	Page
	Form   newConversationForm
	Errors map[string]string
	Bots   []models.Bot
}

// handleConversationNew handles GET /conversations/new: start a test conversation.
func (s *Server) handleConversationNew(c *fiber.Ctx) error {
	return s.renderNewConversation(c, fiber.StatusOK, newConversationForm{BotID: c.Query("botId"), Model: "local"}, nil)
}

func (s *Server) renderNewConversation(c *fiber.Ctx, status int, f newConversationForm, errs map[string]string) error {
	bots, _, err := s.store.FindBots(c.UserContext(), models.BotFilter{Page: models.Page{Limit: models.MaxPageSize}})
	if err != nil {
		return err
	}
	return s.render(c, status, tplConversationsNew, newConversationPage{Page: s.page(c, "New test conversation", "conversations"), Form: f, Errors: errs, Bots: bots})
}

// handleConversationCreate handles POST /conversations.
func (s *Server) handleConversationCreate(c *fiber.Ctx) error {
	var f newConversationForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	err := models.Validate(f)
	if err == nil && f.BotID == "" && strings.TrimSpace(f.Backstory) == "" {
		err = models.FieldError("botId", "Choose a bot, or write an inline backstory below.")
	}
	if err == nil && f.BotID == "" {
		err = s.checkModel(c.UserContext(), f.Model)
	}
	if err == nil {
		conv := models.Conversation{Name: f.Name, Meta: models.Meta{"test": true, "startedBy": operator(c).Email}}
		if f.BotID != "" {
			id := f.BotID
			conv.BotID = &id
		} else {
			conv.Backstory, conv.Model = f.Backstory, strings.TrimSpace(f.Model)
		}
		var created *models.Conversation
		created, err = s.store.CreateConversation(c.UserContext(), conv, nil)
		if err == nil {
			return redirect(c, "/conversations/"+created.ID)
		}
	}
	if fields := models.ErrorFields(err); fields != nil {
		if msg, ok := fields["botId"]; ok && strings.HasPrefix(msg, "Unknown") {
			fields["botId"] = "That bot no longer exists: choose another."
		}
		return s.renderNewConversation(c, fiber.StatusUnprocessableEntity, f, fields)
	}
	return err
}

// ---- running turns ----

type turnForm struct {
	Text string `form:"text" validate:"max=20000"`
	// Key is the browser's id for this send, so a double submit or a retried
	// request stores the message once.
	Key string `form:"key" validate:"max=100"`
}

// handleTurn handles POST /conversations/:id/turns: the user's message. It
// answers once the message is stored: with htmx, 202 and the answer follows
// live; without JavaScript, after the answer, with a redirect back.
func (s *Server) handleTurn(c *fiber.Ctx) error {
	conv, err := s.store.FindConversation(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	var f turnForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	if err := models.Validate(f); err != nil {
		return err
	}
	if strings.TrimSpace(f.Text) == "" {
		return models.FieldError("text", "Write a message first.")
	}
	in := engine.Input{Text: f.Text}
	if f.Key != "" {
		in.ExternalID = "workbench:" + f.Key
	}
	p, err := s.turns.Post(c.UserContext(), conv.ID, in)
	if err != nil {
		return err
	}
	return s.accepted(c, conv.ID, p.Turn)
}

// accepted answers a request whose turn is queued: htmx gets 202 at once
// (the page follows the turn live); other browsers wait for the answer and
// are sent back to the conversation.
func (s *Server) accepted(c *fiber.Ctx, convID string, t *models.Turn) error {
	if c.Get("HX-Request") == "true" {
		if t != nil {
			c.Set("X-Turn-Id", t.ID)
		}
		return c.SendStatus(fiber.StatusAccepted)
	}
	if t != nil {
		if _, err := s.turns.Await(c.UserContext(), t.ID); err != nil && models.ErrorCode(err) != models.CodeUnavailable {
			return err
		}
	}
	return redirect(c, "/conversations/"+convID)
}

// handleRetry handles POST /conversations/:id/retry: answer the last user
// message again with the bot as it is now; both answers stay. A conversation
// without a user message has nothing to retry: 422 with a message.
func (s *Server) handleRetry(c *fiber.Ctx) error {
	conv, err := s.store.FindConversation(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	t, err := s.turns.Retry(c.UserContext(), conv.ID)
	if err != nil {
		return err
	}
	return s.accepted(c, conv.ID, t)
}

// workbenchBotForm is the side panel's form: the bot's backstory and model,
// edited beside the chat.
type workbenchBotForm struct {
	Backstory string `form:"backstory" validate:"max=100000"`
	Model     string `form:"model" validate:"max=200"`
	Note      string `form:"note" validate:"max=500"`
}

// handleWorkbenchBot handles POST /conversations/:id/bot: saves the
// conversation's bot with the backstory and model edited in the workbench's
// side panel (a new version, when they changed) and, with retry, answers the
// last message again (?retry=1) — edit and see the new answer in one step.
func (s *Server) handleWorkbenchBot(c *fiber.Ctx) error {
	ctx := c.UserContext()
	conv, err := s.store.FindConversation(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	if conv.BotID == nil {
		return models.Errorf(models.CodeInvalid, "This conversation has no bot to edit: its configuration is its own.")
	}
	var f workbenchBotForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	if err := models.Validate(f); err != nil {
		return err
	}
	b, err := s.store.FindBot(ctx, *conv.BotID)
	if err != nil {
		return err
	}
	if err := s.checkModel(ctx, f.Model); err != nil {
		return err
	}
	b.Backstory, b.Model = f.Backstory, strings.TrimSpace(f.Model)
	note := strings.TrimSpace(f.Note)
	if note == "" {
		note = "Edited in the workbench"
	}
	if _, err := s.store.UpdateBot(ctx, store.BotInput{Bot: *b, Note: note}); err != nil {
		return err
	}
	if c.Query("retry") == "1" {
		t, err := s.turns.Retry(ctx, conv.ID)
		if err != nil {
			return err
		}
		return s.accepted(c, conv.ID, t)
	}
	msg := "Saved: the bot answers with these settings from now on."
	if v, err := s.store.LatestBotVersion(ctx, b.ID); err == nil && v != nil {
		msg = fmt.Sprintf("Saved as version %d.", v.Number)
	}
	if c.Get("HX-Request") == "true" {
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.SendString(html.EscapeString(msg))
	}
	setFlash(c, msg)
	return redirect(c, "/conversations/"+conv.ID)
}

// handleBotTest handles POST /bots/:id/test: "Test this bot" starts a test
// conversation with the bot at once and opens it in the workbench.
func (s *Server) handleBotTest(c *fiber.Ctx) error {
	b, err := s.store.FindBot(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	conv := models.Conversation{BotID: &b.ID, Name: testName(b.Name, time.Now()),
		Meta: models.Meta{"test": true, "startedBy": operator(c).Email}}
	created, err := s.store.CreateConversation(c.UserContext(), conv, nil)
	if err != nil {
		return err
	}
	return redirect(c, "/conversations/"+created.ID)
}

// testName names a test conversation after its bot and when it started.
func testName(bot string, at time.Time) string {
	if bot == "" {
		bot = "bot"
	}
	return models.TruncateUTF8("Test of "+bot+" · "+at.UTC().Format("Jan 2 15:04"), 200)
}

// restartName names a restarted conversation apart from the one it restarts.
func restartName(name string, at time.Time) string {
	base, _, _ := strings.Cut(name, " (restarted")
	if base == "" {
		base = "Conversation"
	}
	return models.TruncateUTF8(base+" (restarted "+at.UTC().Format("Jan 2 15:04:05")+")", 200)
}

// handleRestart handles POST /conversations/:id/restart: a fresh conversation
// with the same bot or inline configuration (the old one stays as it was).
func (s *Server) handleRestart(c *fiber.Ctx) error {
	conv, err := s.store.FindConversation(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	fresh := models.Conversation{BotID: conv.BotID, Name: restartName(conv.Name, time.Now()), Backstory: conv.Backstory, Model: conv.Model,
		DatasetID: conv.DatasetID, SkillsetID: conv.SkillsetID,
		Meta: models.Meta{"test": true, "startedBy": operator(c).Email, "restartedFrom": conv.ID}}
	created, err := s.store.CreateConversation(c.UserContext(), fresh, nil)
	if err != nil {
		return err
	}
	setFlash(c, "Started a fresh conversation with the same configuration.")
	return redirect(c, "/conversations/"+created.ID)
}
