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

	"parley/app/config"
	"parley/app/engine"
	"parley/app/live"
	"parley/models"
)

// ---- votes ----

type voteForm struct {
	Vote   string `form:"vote" validate:"required,oneof=up down clear"`
	Reason string `form:"reason" validate:"max=500"`
}

// raterOf is the signed-in operator as a rater.
func raterOf(op *models.Operator) models.Rater {
	return models.Rater{Key: "operator:" + op.ID, Kind: models.RaterOperator, Name: op.Email}
}

// handleVote handles POST /conversations/:id/messages/:messageId/vote: the
// operator's own rating of an answer (other raters' ratings stay).
func (s *Server) handleVote(c *fiber.Ctx) error {
	convID, msgID := c.Params("id"), c.Params("messageId")
	ctx := c.UserContext()
	m, err := s.store.FindMessage(ctx, convID, msgID)
	if err != nil {
		return err
	}
	var f voteForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	if err := models.Validate(f); err != nil {
		return err
	}
	value := map[string]float64{"up": 1, "down": -1, "clear": 0}[f.Vote]
	if _, err := s.store.Rate(ctx, convID, m.ID, raterOf(operator(c)), value, f.Reason); err != nil {
		return err
	}
	s.turns.Changed(m)
	if c.Get("HX-Request") == "true" {
		e, err := s.entryFor(ctx, viewerOf(c), *m)
		if err != nil {
			return err
		}
		return s.render(c, fiber.StatusOK, tplTimelineEntry, e)
	}
	setFlash(c, "Rating saved.")
	return redirect(c, "/conversations/"+convID+"#m-"+m.ID)
}

// ---- timeline entries ----

// viewer is who looks at a timeline: what they may do there.
type viewer struct {
	CSRF      string
	CanRate   bool
	CanConfig bool
	CanEdit   bool
	CanRun    bool
	// CanHistory: the viewer may open the bot version that answered.
	CanHistory bool
	// CanPropose: the viewer may make a test case from a turn.
	CanPropose bool
	// Rater is the viewer as a rater, to find their own rating.
	Rater string
	// Mask: the viewer sees personal data masked (see Server.maskEntries).
	Mask bool
}

func viewerOf(c *fiber.Ctx) viewer {
	op := operator(c)
	return viewer{CSRF: csrfToken(c), CanRate: op.Can(models.PermConversationRate), CanConfig: op.Can(models.PermConfigRead),
		CanEdit: op.Can(models.PermConfigWrite), CanRun: op.Can(models.PermConversationRun),
		CanHistory: op.Can(models.PermBotHistory), CanPropose: op.Can(models.PermQAPropose), Rater: raterOf(op).Key,
		Mask: op.MasksPersonalData()}
}

// entryView is one message of the timeline with what explains it: the turn
// that produced it (typed figures, records, ability calls) and its ratings.
type entryView struct {
	viewer
	Msg    models.Message
	ConvID string
	Turn   *models.Turn
	// Call is the ability run this activity entry shows.
	Call *models.TurnCall
	// Ratings are every rater's; Mine is the viewer's own.
	Ratings []models.Rating
	Mine    *models.Rating
	// Redacted counts the personal data items replaced in a user message (privacy on).
	Redacted int
	// Earlier is the answer a retried turn replaced, and Changes the words
	// that differ from it.
	Earlier *models.Message
	Changes []models.DiffPart
	// Review is the message's tags and notes (user and bot messages).
	Review *messageReview
}

// Records are the records the turn was given (context and bot entries).
func (e entryView) Records() []models.TurnRecord {
	if e.Turn == nil {
		return nil
	}
	return e.Turn.Records
}

// Failed reports an activity entry that ends a turn that could not answer.
func (e entryView) Failed() bool {
	return e.Turn != nil && e.Turn.ErrorMessageID != nil && *e.Turn.ErrorMessageID == e.Msg.ID
}

// Answer reports a bot entry written by a turn (with its "why").
func (e entryView) Answer() bool {
	return e.Msg.Type == models.MessageBot && e.Turn != nil && e.Turn.BotMessageID != nil && *e.Turn.BotMessageID == e.Msg.ID
}

// Chat reports whether the message belongs in the chat panel.
func (e entryView) Chat() bool {
	switch e.Msg.Type {
	case models.MessageUser, models.MessageBot:
		return true
	case models.MessageActivity:
		return e.Failed()
	}
	return false
}

// Offline reports an answer of the built-in offline provider.
func (e entryView) Offline() bool { return e.Turn != nil && e.Turn.Provider == "local" }

// Ups and Downs count the ratings each way.
func (e entryView) Ups() int { return e.count(true) }

// Downs counts the downvotes.
func (e entryView) Downs() int { return e.count(false) }

func (e entryView) count(up bool) int {
	n := 0
	for _, r := range e.Ratings {
		if r.Up() == up {
			n++
		}
	}
	return n
}

// MyVote is "up", "down" or "" for the viewer's own rating.
func (e entryView) MyVote() string {
	switch {
	case e.Mine == nil:
		return ""
	case e.Mine.Up():
		return "up"
	}
	return "down"
}

// MyReason is the viewer's own rating's reason.
func (e entryView) MyReason() string {
	if e.Mine == nil {
		return ""
	}
	return e.Mine.Reason
}

// entries builds the timeline entries of messages, loading their turns,
// ratings and redaction counts in three queries.
func (s *Server) entries(ctx context.Context, v viewer, convID string, msgs []models.Message) ([]entryView, error) {
	var turnIDs, botIDs, userIDs []string
	for _, m := range msgs {
		if m.TurnID != nil && !slices.Contains(turnIDs, *m.TurnID) {
			turnIDs = append(turnIDs, *m.TurnID)
		}
		switch m.Type {
		case models.MessageBot:
			botIDs = append(botIDs, m.ID)
		case models.MessageUser:
			userIDs = append(userIDs, m.ID)
		}
	}
	turns, err := s.store.FindTurns(ctx, turnIDs)
	if err != nil {
		return nil, err
	}
	ratings, err := s.store.FindRatings(ctx, convID, botIDs)
	if err != nil {
		return nil, err
	}
	redacted, err := s.store.FindRedactions(ctx, convID, userIDs)
	if err != nil {
		return nil, err
	}
	out := make([]entryView, 0, len(msgs))
	for _, m := range msgs {
		e := entryView{viewer: v, Msg: m, ConvID: m.ConversationID, Ratings: ratings[m.ID], Redacted: redacted[m.ID]}
		if m.TurnID != nil {
			e.Turn = turns[*m.TurnID]
		}
		if e.Turn != nil {
			for i := range e.Turn.Calls {
				if e.Turn.Calls[i].MessageID == m.ID {
					e.Call = &e.Turn.Calls[i]
				}
			}
		}
		for i := range e.Ratings {
			if e.Ratings[i].Rater == v.Rater {
				e.Mine = &e.Ratings[i]
			}
		}
		if e.Answer() && e.Turn.Retry {
			if e.Earlier, err = s.store.EarlierAnswer(ctx, e.Turn); err != nil {
				return nil, err
			}
			if e.Earlier != nil {
				e.Changes = models.DiffWords(e.Earlier.Text, m.Text)
			}
		}
		out = append(out, e)
	}
	return s.reviewEntries(ctx, v, convID, out)
}

// entryFor builds one message's entry.
func (s *Server) entryFor(ctx context.Context, v viewer, m models.Message) (entryView, error) {
	es, err := s.entries(ctx, v, m.ConversationID, []models.Message{m})
	if err != nil {
		return entryView{}, err
	}
	return es[0], nil
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
	ctx := c.UserContext()
	conv, err := s.store.FindConversation(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	before := c.Query("before")
	if !models.ValidID(before) {
		return models.Errorf(models.CodeInvalid, "The link is not valid (bad message id).")
	}
	msgs, older, err := s.latestMessages(ctx, conv.ID, before)
	if err != nil {
		return err
	}
	es, err := s.entries(ctx, viewerOf(c), conv.ID, msgs)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplOlderMessages, olderFragment{ConvID: conv.ID, Entries: es, Older: older})
}

// handleMessageEntry handles GET /conversations/:id/messages/:messageId: one
// timeline entry (the live view fetches entries it hears about).
func (s *Server) handleMessageEntry(c *fiber.Ctx) error {
	m, err := s.store.FindMessage(c.UserContext(), c.Params("id"), c.Params("messageId"))
	if err != nil {
		return err
	}
	e, err := s.entryFor(c.UserContext(), viewerOf(c), *m)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplTimelineEntry, e)
}

// promptView is a turn's exact prompt, for "Why this answer".
type promptView struct {
	Prompt *models.TurnPrompt
	Error  string
}

// handleTurnPrompt handles GET /conversations/:id/turns/:turnId/prompt: the
// exact prompt the model received in a turn (loaded when its disclosure opens).
func (s *Server) handleTurnPrompt(c *fiber.Ctx) error {
	t, err := s.store.FindTurnPrompt(c.UserContext(), c.Params("id"), c.Params("turnId"))
	if err != nil {
		return err
	}
	v := promptView{}
	p, err := engine.DecodePrompt(t)
	switch {
	case err != nil:
		v.Error = "The prompt kept for this turn cannot be read."
	case p == nil:
		v.Error = "No prompt was kept for this turn (it was answered before Parley kept prompts, or it failed before the model was called)."
	default:
		v.Prompt = p
	}
	return s.render(c, fiber.StatusOK, tplTurnPrompt, v)
}

// ---- live events ----

// sseMaxDuration ends an event stream after a while; EventSource reconnects
// on its own, so connections are recycled (and tests can read a whole stream).
var sseMaxDuration = config.DefaultTimeouts.Stream

// sseKeepAlive is how often an idle event stream sends a comment, so proxies
// keep it open and closed tabs are noticed.
var sseKeepAlive = 15 * time.Second

// handleEvents handles GET /conversations/:id/events: Server-Sent Events with
// the answer's tokens as they stream ("token"), every stored or changed
// message rendered for this operator ("message": JSON with id, type, timeline
// and chat HTML), deleted messages ("deleted") and turns starting and ending
// ("turn": its status).
func (s *Server) handleEvents(c *fiber.Ctx) error {
	conv, err := s.store.FindConversation(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	// Copy what the stream needs: the request context is gone once it starts.
	view := viewerOf(c)
	life := min(sseMaxDuration, s.cfg.Timeouts.Stream)
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
		end := time.NewTimer(life)
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
	send := func(name string, v any) error {
		b, _ := json.Marshal(v)
		_, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
		return err
	}
	switch ev.Type {
	case live.EventToken:
		return send("token", map[string]string{"token": ev.Token, "turnId": ev.TurnID})
	case live.EventTurn:
		return send("turn", map[string]string{"turnId": ev.TurnID, "status": ev.Status})
	case live.EventDeleted:
		return send("deleted", map[string]string{"id": ev.MessageID})
	case live.EventMessage:
		ctx, cancel := context.WithTimeout(s.streams, 5*time.Second)
		defer cancel()
		m, err := s.store.FindMessage(ctx, ev.ConversationID, ev.MessageID)
		if err != nil {
			return nil // deleted meanwhile: nothing to show
		}
		full, err := s.entryFor(ctx, view, *m)
		if err != nil {
			return nil
		}
		var tl, chat bytes.Buffer
		if err := s.views.Render(&tl, tplTimelineEntry, full); err != nil {
			return err
		}
		if full.Chat() {
			if err := s.views.Render(&chat, tplChatEntry, full); err != nil {
				return err
			}
		}
		return send("message", map[string]any{"id": m.ID, "type": m.Type, "turnId": ev.TurnID,
			"timeline": tl.String(), "chat": strings.TrimSpace(chat.String())})
	}
	return nil
}
