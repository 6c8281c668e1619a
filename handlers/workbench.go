package handlers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"parley/app/engine"
	"parley/app/live"
	"parley/models"
)

// registerWorkbench registers the routes that run and watch conversations.
// They come before registerConversations so /conversations/new is not read as an id.
func (s *Server) registerWorkbench() {
	s.handle(fiber.MethodGet, "/conversations/new", models.PermConversationRun, s.handleConversationNew)
	s.handle(fiber.MethodPost, "/conversations", models.PermConversationRun, s.handleConversationCreate)
	s.handle(fiber.MethodPost, "/conversations/:id/turns", models.PermConversationRun, s.handleTurn)
	s.handle(fiber.MethodPost, "/conversations/:id/retry", models.PermConversationRun, s.handleRetry)
	s.handle(fiber.MethodPost, "/conversations/:id/restart", models.PermConversationRun, s.handleRestart)
	s.handle(fiber.MethodPost, "/conversations/:id/messages/:messageId/vote", models.PermConversationRate, s.handleVote)
	s.handle(fiber.MethodGet, "/conversations/:id/messages/:messageId", models.PermConversationRead, s.handleMessageEntry)
	s.handle(fiber.MethodGet, "/conversations/:id/older", models.PermConversationRead, s.handleOlderMessages)
	s.handle(fiber.MethodGet, "/conversations/:id/events", models.PermConversationRead, s.handleEvents)
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
}

// handleTurn handles POST /conversations/:id/turns: the user's message. With
// htmx the turn runs in the background and the page follows it live; without
// JavaScript it runs before the redirect back.
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
	return s.runInBackground(c, conv.ID, func(ctx context.Context, emit func(engine.Event)) (*engine.Result, error) {
		return s.engine.Turn(ctx, conv.ID, f.Text, emit)
	})
}

// handleRetry handles POST /conversations/:id/retry: answer the last user
// message again with the bot as it is now; both answers stay.
func (s *Server) handleRetry(c *fiber.Ctx) error {
	conv, err := s.store.FindConversation(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.runInBackground(c, conv.ID, func(ctx context.Context, emit func(engine.Event)) (*engine.Result, error) {
		return s.engine.Retry(ctx, conv.ID, emit)
	})
}

// turnTimeout bounds one turn, whoever waits for it.
const turnTimeout = 5 * time.Minute

// runInBackground runs a turn detached from the request (a closed tab does not
// cancel it), publishing its events live. htmx callers get 202 at once;
// others wait for the turn and are sent back to the conversation.
func (s *Server) runInBackground(c *fiber.Ctx, convID string, run func(context.Context, func(engine.Event)) (*engine.Result, error)) error {
	emit := func(ev engine.Event) { s.publishTurnEvent(convID, ev) }
	done := make(chan error, 1)
	s.turns.Add(1)
	go func() {
		defer s.turns.Done()
		ctx, cancel := context.WithTimeout(s.baseCtx, turnTimeout)
		defer cancel()
		res, err := run(ctx, emit)
		if err == nil && res != nil && res.Err != nil {
			err = res.Err
		}
		if err != nil && models.ErrorCode(err) == models.CodeInternal {
			s.log.Error("turn failed", "conversation_id", convID, "error", err)
		}
		done <- err
	}()
	if c.Get("HX-Request") == "true" {
		return c.SendStatus(fiber.StatusAccepted)
	}
	if err := <-done; err != nil && models.ErrorCode(err) != models.CodeUnavailable {
		return err
	}
	return redirect(c, "/conversations/"+convID)
}

// handleRestart handles POST /conversations/:id/restart: a fresh conversation
// with the same bot or inline configuration (the old one stays as it was).
func (s *Server) handleRestart(c *fiber.Ctx) error {
	conv, err := s.store.FindConversation(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	fresh := models.Conversation{BotID: conv.BotID, Name: conv.Name, Backstory: conv.Backstory, Model: conv.Model,
		DatasetID: conv.DatasetID, SkillsetID: conv.SkillsetID,
		Meta: models.Meta{"test": true, "startedBy": operator(c).Email, "restartedFrom": conv.ID}}
	created, err := s.store.CreateConversation(c.UserContext(), fresh, nil)
	if err != nil {
		return err
	}
	setFlash(c, "Started a fresh conversation with the same configuration.")
	return redirect(c, "/conversations/"+created.ID)
}

// ---- votes ----

type voteForm struct {
	Vote   string `form:"vote" validate:"required,oneof=up down clear"`
	Reason string `form:"reason" validate:"max=500"`
}

// handleVote handles POST /conversations/:id/messages/:messageId/vote.
func (s *Server) handleVote(c *fiber.Ctx) error {
	convID, msgID := c.Params("id"), c.Params("messageId")
	m, err := s.store.FindMessage(c.UserContext(), convID, msgID)
	if err != nil {
		return err
	}
	if m.Type != models.MessageBot {
		return models.Errorf(models.CodeInvalid, "Only bot messages can be rated.")
	}
	var f voteForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	if err := models.Validate(f); err != nil {
		return err
	}
	var rating any
	if f.Vote != "clear" {
		value := 1
		if f.Vote == "down" {
			value = -1
		}
		rating = map[string]any{"value": value, "reason": strings.TrimSpace(f.Reason), "by": operator(c).Email, "at": time.Now().UTC().Format(time.RFC3339)}
	}
	m, err = s.store.SetMessageMeta(c.UserContext(), convID, msgID, "rating", rating)
	if err != nil {
		return err
	}
	s.broker.Publish(live.Event{Type: live.EventMessage, ConversationID: convID, MessageID: m.ID})
	if c.Get("HX-Request") == "true" {
		return s.render(c, fiber.StatusOK, tplTimelineEntry, s.entry(c, *m))
	}
	setFlash(c, "Rating saved.")
	return redirect(c, "/conversations/"+convID+"#m-"+m.ID)
}

// ---- timeline entries ----

// recordRef is a retrieved record as the timeline shows it.
type recordRef struct {
	ID, DatasetID, Source string
	Score                 float64
}

// viewer is who looks at a timeline: what they may do there.
type viewer struct {
	CSRF      string
	CanRate   bool
	CanConfig bool
	CanEdit   bool
	CanRun    bool
}

func viewerOf(c *fiber.Ctx) viewer {
	op := operator(c)
	return viewer{CSRF: csrfToken(c), CanRate: op.Can(models.PermConversationRate), CanConfig: op.Can(models.PermConfigRead),
		CanEdit: op.Can(models.PermConfigWrite), CanRun: op.Can(models.PermConversationRun)}
}

// entryView is one message with its meta read out for display.
type entryView struct {
	viewer
	Msg       models.Message
	ConvID    string
	Records   []recordRef
	Ability   string
	Input     string
	Output    string
	Error     string
	Duration  string
	Provider  string
	Model     string
	Latency   string
	TokensIn  string
	TokensOut string
	Finish    string
	Rating    int
	Reason    string
	RatedBy   string
	Stage     string
}

// Chat reports whether the message belongs in the chat panel.
func (e entryView) Chat() bool {
	switch e.Msg.Type {
	case models.MessageUser, models.MessageBot:
		return true
	case models.MessageActivity:
		return e.Stage != "" // a failed turn
	}
	return false
}

func metaString(m models.Meta, key string) string {
	switch v := m[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return fmt.Sprintf("%g", v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// entry reads a message's meta into an entryView for the current operator.
func (s *Server) entry(c *fiber.Ctx, m models.Message) entryView { return entryOf(viewerOf(c), m) }

// entryOf reads a message's meta into an entryView for a viewer.
func entryOf(v viewer, m models.Message) entryView {
	e := entryView{viewer: v, Msg: m, ConvID: m.ConversationID}
	meta := m.Meta
	if recs, ok := meta["records"].([]any); ok {
		for _, r := range recs {
			rm, ok := r.(map[string]any)
			if !ok {
				continue
			}
			ref := recordRef{ID: fmt.Sprint(rm["id"]), DatasetID: fmt.Sprint(rm["datasetId"]), Source: fmt.Sprint(rm["source"])}
			if rm["datasetId"] == nil {
				ref.DatasetID = ""
			}
			if rm["source"] == nil {
				ref.Source = ""
			}
			if f, ok := rm["score"].(float64); ok {
				ref.Score = f
			}
			e.Records = append(e.Records, ref)
		}
	}
	e.Ability, e.Input, e.Output, e.Error = metaString(meta, "ability"), metaString(meta, "input"), metaString(meta, "output"), metaString(meta, "error")
	e.Stage = metaString(meta, "stage")
	if d, ok := meta.Number("durationMs"); ok {
		e.Duration = fmt.Sprintf("%.0f ms", d)
	}
	e.Provider, e.Model, e.Finish = metaString(meta, "provider"), metaString(meta, "model"), metaString(meta, "finishReason")
	if d, ok := meta.Number("latencyMs"); ok {
		e.Latency = fmt.Sprintf("%.0f ms", d)
	}
	if n, ok := meta.Number("inputTokens"); ok {
		e.TokensIn = fmt.Sprintf("%.0f", n)
	}
	if n, ok := meta.Number("outputTokens"); ok {
		e.TokensOut = fmt.Sprintf("%.0f", n)
	}
	if r, ok := meta["rating"].(map[string]any); ok {
		if v, ok := models.Meta(r).Number("value"); ok {
			e.Rating = int(v)
		}
		e.Reason, _ = r["reason"].(string)
		e.RatedBy, _ = r["by"].(string)
	}
	return e
}

func (s *Server) entries(c *fiber.Ctx, msgs []models.Message) []entryView {
	out := make([]entryView, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, s.entry(c, m))
	}
	return out
}

// latestMessages returns the page of messages before `before` (or the latest
// page), oldest first, and the cursor for the page before it ("" at the start).
func (s *Server) latestMessages(ctx context.Context, convID, before string) ([]models.Message, string, error) {
	msgs, older, err := s.store.FindMessages(ctx, convID, models.Page{Cursor: before, Limit: models.DefaultPageSize, Order: models.OrderDesc})
	if err != nil {
		return nil, "", err
	}
	slices.Reverse(msgs)
	return msgs, older, nil
}

type olderFragment struct {
	ConvID  string
	Entries []entryView
	Older   string
}

// handleOlderMessages handles GET /conversations/:id/older?before=ID: the page
// of the timeline before a message, for "Load older messages".
func (s *Server) handleOlderMessages(c *fiber.Ctx) error {
	conv, err := s.store.FindConversation(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	before := c.Query("before")
	if !models.ValidID(before) {
		return models.Errorf(models.CodeInvalid, "The link is not valid (bad message id).")
	}
	msgs, older, err := s.latestMessages(c.UserContext(), conv.ID, before)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplOlderMessages, olderFragment{ConvID: conv.ID, Entries: s.entries(c, msgs), Older: older})
}

// handleMessageEntry handles GET /conversations/:id/messages/:messageId: one
// timeline entry (the live view fetches entries it hears about).
func (s *Server) handleMessageEntry(c *fiber.Ctx) error {
	m, err := s.store.FindMessage(c.UserContext(), c.Params("id"), c.Params("messageId"))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplTimelineEntry, s.entry(c, *m))
}

// ---- live events ----

// sseMaxDuration ends an event stream after a while; EventSource reconnects
// on its own, so connections are recycled (and tests can read a whole stream).
var sseMaxDuration = 10 * time.Minute

// sseKeepAlive is how often an idle event stream sends a comment, so proxies
// keep it open and closed tabs are noticed.
var sseKeepAlive = 15 * time.Second

// handleEvents handles GET /conversations/:id/events: Server-Sent Events with
// the answer's tokens as they stream ("token") and every stored message,
// rendered for this operator ("message": JSON with id, type, timeline and chat HTML).
func (s *Server) handleEvents(c *fiber.Ctx) error {
	conv, err := s.store.FindConversation(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	// Copy what the stream needs: the request context is gone once it starts.
	view := viewerOf(c)
	events, cancel := s.broker.Subscribe(conv.ID)
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer cancel()
		fmt.Fprint(w, "retry: 2000\n: connected\n\n")
		if w.Flush() != nil {
			return
		}
		tick := time.NewTicker(sseKeepAlive)
		defer tick.Stop()
		end := time.NewTimer(sseMaxDuration)
		defer end.Stop()
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					return // too slow: the client reconnects and reloads
				}
				if err := s.writeEvent(w, view, ev); err != nil {
					return
				}
			case <-tick.C:
				fmt.Fprint(w, ": keep-alive\n\n")
			case <-s.streams.Done():
				return
			case <-end.C:
				return
			}
			if w.Flush() != nil {
				return
			}
		}
	})
	return nil
}

func (s *Server) writeEvent(w *bufio.Writer, view viewer, ev live.Event) error {
	switch ev.Type {
	case live.EventToken:
		b, _ := json.Marshal(map[string]string{"token": ev.Token})
		_, err := fmt.Fprintf(w, "event: token\ndata: %s\n\n", b)
		return err
	case live.EventMessage:
		ctx, cancel := context.WithTimeout(s.baseCtx, 5*time.Second)
		defer cancel()
		m, err := s.store.FindMessage(ctx, ev.ConversationID, ev.MessageID)
		if err != nil {
			return nil // deleted meanwhile: nothing to show
		}
		full := entryOf(view, *m)
		var tl, chat bytes.Buffer
		if err := s.views.Render(&tl, tplTimelineEntry, full); err != nil {
			return err
		}
		if full.Chat() {
			if err := s.views.Render(&chat, tplChatEntry, full); err != nil {
				return err
			}
		}
		b, _ := json.Marshal(map[string]any{"id": m.ID, "type": m.Type, "timeline": tl.String(), "chat": chat.String()})
		_, err = fmt.Fprintf(w, "event: message\ndata: %s\n\n", b)
		return err
	}
	return nil
}
