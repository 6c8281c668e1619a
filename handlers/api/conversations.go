package api

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"parley/app/engine"
	"parley/models"
)

// configFields are a conversation's configuration: a bot, or inline settings
// (ChatBotKit's union of {botId} and {model, backstory, datasetId, …}).
type configFields struct {
	BotID      *string `json:"botId" validate:"omitempty,max=36"`
	Model      *string `json:"model" validate:"omitempty,max=200"`
	Backstory  *string `json:"backstory" validate:"omitempty,max=100000"`
	DatasetID  *string `json:"datasetId" validate:"omitempty,max=36"`
	SkillsetID *string `json:"skillsetId" validate:"omitempty,max=36"`
	Privacy    *bool   `json:"privacy"`
	Moderation *bool   `json:"moderation"`
}

func (f *configFields) inline() bool {
	return f.Model != nil || f.Backstory != nil || f.DatasetID != nil || f.SkillsetID != nil
}

// check refuses a bot and an inline configuration at once.
func (f *configFields) check() error {
	if f.BotID != nil && *f.BotID != "" && f.inline() {
		return models.FieldError("botId", "Give botId or an inline configuration (model, backstory, datasetId, skillsetId), not both.")
	}
	return nil
}

// apply sets the configuration on c: a bot replaces inline settings and the
// other way round.
func (f *configFields) apply(c *models.Conversation) {
	if f.BotID != nil {
		c.BotID = optional(nil, f.BotID)
		if c.BotID != nil {
			c.Model, c.Backstory, c.DatasetID, c.SkillsetID = "", "", nil, nil
		}
	}
	if f.inline() {
		c.BotID = nil
	}
	setStr(&c.Model, f.Model)
	setStr(&c.Backstory, f.Backstory)
	c.DatasetID = optional(c.DatasetID, f.DatasetID)
	c.SkillsetID = optional(c.SkillsetID, f.SkillsetID)
	if f.Privacy != nil {
		c.Privacy = *f.Privacy
	}
	if f.Moderation != nil {
		c.Moderation = *f.Moderation
	}
}

// conversationRequest is the body of conversation/{conversationId}/update.
type conversationRequest struct {
	configFields
	Name        *string     `json:"name" validate:"omitempty,max=200"`
	Description *string     `json:"description" validate:"omitempty,max=4000"`
	Meta        models.Meta `json:"meta"`
	ContactID   *string     `json:"contactId" validate:"omitempty,max=100"`
	TaskID      *string     `json:"taskId" validate:"omitempty,max=100"`
	SpaceID     *string     `json:"spaceId" validate:"omitempty,max=100"`
}

// createConversationRequest is the body of conversation/create: the fields of
// an update and the conversation's first messages.
type createConversationRequest struct {
	conversationRequest
	Messages []messageInput `json:"messages" validate:"omitempty,max=100,dive"`
}

// messageInput is a message given in a request body.
type messageInput struct {
	Type string      `json:"type" validate:"required,oneof=user bot reasoning context instruction backstory activity checkpoint"`
	Text string      `json:"text" validate:"max=200000"`
	Meta models.Meta `json:"meta"`
}

func (r *conversationRequest) apply(c *models.Conversation) {
	r.configFields.apply(c)
	setStr(&c.Name, r.Name)
	setStr(&c.Description, r.Description)
	if r.Meta != nil {
		c.Meta = r.Meta
	}
	c.ContactID = optional(c.ContactID, r.ContactID)
	c.TaskID = optional(c.TaskID, r.TaskID)
	c.SpaceID = optional(c.SpaceID, r.SpaceID)
}

type conversationJSON struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Meta        models.Meta `json:"meta"`
	CreatedAt   int64       `json:"createdAt"`
	UpdatedAt   int64       `json:"updatedAt"`
	ContactID   *string     `json:"contactId,omitempty"`
	TaskID      *string     `json:"taskId,omitempty"`
	SpaceID     *string     `json:"spaceId,omitempty"`
	BotID       *string     `json:"botId,omitempty"`
	Model       string      `json:"model,omitempty"`
	Backstory   string      `json:"backstory,omitempty"`
	DatasetID   *string     `json:"datasetId,omitempty"`
	SkillsetID  *string     `json:"skillsetId,omitempty"`
	Privacy     bool        `json:"privacy"`
	Moderation  bool        `json:"moderation"`
}

func toConversation(c *models.Conversation) conversationJSON {
	out := conversationJSON{ID: c.ID, Name: c.Name, Description: c.Description, Meta: meta(c.Meta),
		CreatedAt: ms(c.CreatedAt), UpdatedAt: ms(c.UpdatedAt), ContactID: c.ContactID, TaskID: c.TaskID,
		SpaceID: c.SpaceID, BotID: c.BotID, Privacy: c.Privacy, Moderation: c.Moderation}
	if c.BotID == nil {
		out.Model, out.Backstory, out.DatasetID, out.SkillsetID = c.Model, c.Backstory, c.DatasetID, c.SkillsetID
	}
	return out
}

// handleConversationList handles GET /api/v1/conversation/list.
func (a *API) handleConversationList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	return sendList(a, c, p, func(ctx context.Context, p models.Page) ([]models.Conversation, string, error) {
		convs, next, err := a.store.FindConversations(ctx, models.ConversationFilter{Page: p})
		if err != nil {
			return nil, "", err
		}
		return convs, next, a.ratedConversations(ctx, convs)
	}, toConversation, func(c *models.Conversation) string { return c.ID })
}

// ratedConversations shows each conversation's latest rating in its meta.
func (a *API) ratedConversations(ctx context.Context, convs []models.Conversation) error {
	ids := make([]string, 0, len(convs))
	for _, c := range convs {
		ids = append(ids, c.ID)
	}
	rs, err := a.store.FindConversationRatings(ctx, ids)
	if err != nil {
		return err
	}
	for i := range convs {
		if r := latest(rs[convs[i].ID]); r != nil {
			convs[i].Meta = withRating(convs[i].Meta, r)
		}
	}
	return nil
}

// handleConversationFetch handles GET /api/v1/conversation/{conversationId}/fetch.
func (a *API) handleConversationFetch(c *fiber.Ctx) error {
	conv, err := a.store.FindConversation(c.UserContext(), c.Params("conversationId"))
	if err != nil {
		return err
	}
	convs := []models.Conversation{*conv}
	if err := a.ratedConversations(c.UserContext(), convs); err != nil {
		return err
	}
	return c.JSON(toConversation(&convs[0]))
}

type createConversationResponse struct {
	ID       string         `json:"id"`
	Messages []messageInput `json:"messages,omitempty"`
}

// handleConversationCreate handles POST /api/v1/conversation/create.
func (a *API) handleConversationCreate(c *fiber.Ctx) error {
	var r createConversationRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := r.check(); err != nil {
		return err
	}
	if err := a.checkModel(c.UserContext(), r.Model); err != nil {
		return err
	}
	conv := models.Conversation{}
	r.apply(&conv)
	if conv.BotID == nil && conv.Model == "" {
		conv.Model = "local"
	}
	msgs := make([]models.Message, 0, len(r.Messages))
	for _, m := range r.Messages {
		msgs = append(msgs, models.Message{Type: m.Type, Text: m.Text, Meta: m.Meta})
	}
	created, err := a.store.CreateConversation(c.UserContext(), conv, msgs)
	if err != nil {
		return err
	}
	return c.JSON(createConversationResponse{ID: created.ID, Messages: r.Messages})
}

// handleConversationUpdate handles POST /api/v1/conversation/{conversationId}/update.
func (a *API) handleConversationUpdate(c *fiber.Ctx) error {
	conv, err := a.store.FindConversation(c.UserContext(), c.Params("conversationId"))
	if err != nil {
		return err
	}
	var r conversationRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := r.check(); err != nil {
		return err
	}
	if err := a.checkModel(c.UserContext(), r.Model); err != nil {
		return err
	}
	r.apply(conv)
	conv.Bot = nil
	if _, err := a.store.UpdateConversation(c.UserContext(), *conv); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: conv.ID})
}

// handleConversationDelete handles POST /api/v1/conversation/{conversationId}/delete:
// its messages and session tokens go with it.
func (a *API) handleConversationDelete(c *fiber.Ctx) error {
	return a.deleteByID(c, "conversationId", a.store.DeleteConversation)
}

// voteRequest is the body of the upvote and downvote routes.
type voteRequest struct {
	Value  *float64 `json:"value" validate:"omitempty,min=0,max=1000"`
	Reason string   `json:"reason" validate:"max=500"`
}

// value is the vote's signed value: ChatBotKit's value (1 unless given), up or down.
func (r voteRequest) value(sign float64) float64 {
	v := 1.0
	if r.Value != nil && *r.Value > 0 {
		v = *r.Value
	}
	return sign * math.Abs(v)
}

// rater is the caller as a rater: the API secret's app, or the session's end user.
func rater(c *fiber.Ctx) models.Rater {
	p, _ := c.Locals(principalKey).(principal)
	switch {
	case p.secret != nil:
		return models.Rater{Key: "secret:" + p.secret.ID, Kind: models.RaterAPI, Name: "API: " + p.secret.Name}
	case p.session != nil:
		return models.Rater{Key: "session:" + p.session.ID, Kind: models.RaterEndUser, Name: "end user"}
	}
	return models.Rater{Key: "api", Kind: models.RaterAPI, Name: "API"}
}

func (a *API) voteConversation(c *fiber.Ctx, sign float64) error {
	conv, err := a.store.FindConversation(c.UserContext(), c.Params("conversationId"))
	if err != nil {
		return err
	}
	var r voteRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if _, err := a.store.Rate(c.UserContext(), conv.ID, "", rater(c), r.value(sign), r.Reason); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: conv.ID})
}

// handleConversationUpvote handles POST /api/v1/conversation/{conversationId}/upvote.
func (a *API) handleConversationUpvote(c *fiber.Ctx) error { return a.voteConversation(c, 1) }

// handleConversationDownvote handles POST /api/v1/conversation/{conversationId}/downvote.
func (a *API) handleConversationDownvote(c *fiber.Ctx) error { return a.voteConversation(c, -1) }

// sessionRequest is the body of conversation/{conversationId}/session/create.
type sessionRequest struct {
	DurationInSeconds *float64 `json:"durationInSeconds"`
}

// sessionResponse answers session/create; id is the conversation's, as
// ChatBotKit's types have it.
type sessionResponse struct {
	ID        string `json:"id"`
	Token     string `json:"token"`
	ExpiresAt int64  `json:"expiresAt"`
}

// handleSessionCreate handles POST /api/v1/conversation/{conversationId}/session/create:
// a token that lets an end user's client send, receive and complete in this
// one conversation until it expires, or until it or the API secret that
// created it (recorded with it) is revoked.
func (a *API) handleSessionCreate(c *fiber.Ctx) error {
	var r sessionRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	ttl := DefaultSessionDuration
	if r.DurationInSeconds != nil {
		d := *r.DurationInSeconds
		if d != math.Trunc(d) || d < MinSessionDuration.Seconds() || d > MaxSessionDuration.Seconds() {
			return models.FieldError("durationInSeconds", "Duration in seconds must be a whole number from 1800 (30 minutes) to 86400 (24 hours).")
		}
		ttl = time.Duration(d) * time.Second
	}
	var secretID *string
	if p, _ := c.Locals(principalKey).(principal); p.secret != nil {
		secretID = &p.secret.ID
	}
	token, sess, err := a.store.CreateConversationSession(c.UserContext(), c.Params("conversationId"), secretID, ttl)
	if err != nil {
		return err
	}
	return c.JSON(sessionResponse{ID: sess.ConversationID, Token: token, ExpiresAt: ms(sess.ExpiresAt)})
}

// ---- send, receive, complete ----

// unsupported are contract fields Parley does not implement; giving them is a
// clear error rather than silently ignored.
type unsupported struct {
	Entities   []any          `json:"entities"`
	Functions  []any          `json:"functions"`
	Extensions map[string]any `json:"extensions"`
	Limits     map[string]any `json:"limits"`
}

func (u *unsupported) check() error {
	switch {
	case len(u.Functions) > 0:
		return models.FieldError("functions", "Client-side functions are not supported: give the bot a skillset instead.")
	case len(u.Extensions) > 0:
		return models.FieldError("extensions", "Extensions are not supported: attach datasets and skillsets to the bot instead.")
	case len(u.Entities) > 0:
		return models.FieldError("entities", "Entities are not supported.")
	}
	return nil
}

// sendRequest is the body of conversation/{conversationId}/send.
type sendRequest struct {
	unsupported
	Text string `json:"text" validate:"max=200000"`
}

type sendResponse struct {
	ID       string `json:"id"`
	Entities []any  `json:"entities"`
}

// receiveRequest is the body of conversation/{conversationId}/receive.
type receiveRequest struct {
	unsupported
}

// completeRequest is the body of conversation/{conversationId}/complete: with
// text, send and receive in one; without, receive.
type completeRequest struct {
	unsupported
	Text *string `json:"text" validate:"omitempty,max=200000"`
}

type usageJSON struct {
	Token int64 `json:"token"`
}

type endJSON struct {
	Reason string `json:"reason"`
}

// replyResponse answers receive and complete. On a failed turn (the model or
// an ability failed; the error is in the timeline as an activity message) the
// status is still 200 — the user's message is stored and a retry would store
// it again — with end.reason "error" and error.message saying why.
type replyResponse struct {
	ID    string     `json:"id,omitempty"`
	Text  string     `json:"text"`
	Usage usageJSON  `json:"usage"`
	End   endJSON    `json:"end"`
	Error *errorJSON `json:"error,omitempty"`
}

type errorJSON struct {
	Message string `json:"message"`
}

type usageEvent struct {
	Model            string `json:"model"`
	InputTokensUsed  int64  `json:"inputTokensUsed"`
	OutputTokensUsed int64  `json:"outputTokensUsed"`
}

type messageEvent struct {
	ID   string      `json:"id"`
	Type string      `json:"type"`
	Text string      `json:"text"`
	Meta models.Meta `json:"meta"`
}

// idempotencyKey reads the Idempotency-Key header: a retried send or
// complete with the same key stores the message once and answers it once.
func idempotencyKey(c *fiber.Ctx) (string, error) {
	k := strings.TrimSpace(c.Get("Idempotency-Key"))
	if k == "" {
		return "", nil
	}
	if len(k) > 150 || strings.ContainsFunc(k, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return "", models.FieldError("Idempotency-Key", "The Idempotency-Key header must be at most 150 printable ASCII characters.")
	}
	return "api:" + k, nil
}

// handleSend handles POST /api/v1/conversation/{conversationId}/send: the
// user's message is stored; the bot does not answer until receive.
func (a *API) handleSend(c *fiber.Ctx) error {
	var r sendRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := r.check(); err != nil {
		return err
	}
	if strings.TrimSpace(r.Text) == "" {
		return models.FieldError("text", "Text is required.")
	}
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	p, err := a.turns.Send(c.UserContext(), c.Params("conversationId"), engine.Input{Text: r.Text, ExternalID: key})
	if err != nil {
		return err
	}
	out := sendResponse{ID: p.Message.ID, Entities: []any{}}
	if wantsStream(c) {
		return streamLines(c, func(emit func(string, any) bool) { emit("result", out) })
	}
	return c.JSON(out)
}

// handleReceive handles POST /api/v1/conversation/{conversationId}/receive:
// the bot answers the conversation's last user message.
func (a *API) handleReceive(c *fiber.Ctx) error {
	var r receiveRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := r.check(); err != nil {
		return err
	}
	convID := c.Params("conversationId")
	return a.answer(c, func(ctx context.Context, emit func(engine.Event)) (*engine.Result, error) {
		return a.turns.Receive(ctx, convID, emit)
	}, false, false)
}

// handleComplete handles POST /api/v1/conversation/{conversationId}/complete:
// with text, send and receive in one (an Idempotency-Key makes a retried call
// answer with the same message); without, receive.
func (a *API) handleComplete(c *fiber.Ctx) error {
	var r completeRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := r.check(); err != nil {
		return err
	}
	convID := c.Params("conversationId")
	if r.Text == nil {
		return a.answer(c, func(ctx context.Context, emit func(engine.Event)) (*engine.Result, error) {
			return a.turns.Receive(ctx, convID, emit)
		}, false, false)
	}
	if strings.TrimSpace(*r.Text) == "" {
		return models.FieldError("text", "Text cannot be empty.")
	}
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	in := engine.Input{Text: *r.Text, ExternalID: key}
	if wantsStream(c) {
		// Fail fast, before a stream answers 200 (answer's check), reading
		// the conversation the turn then posts to.
		conv, err := a.store.FindConversation(c.UserContext(), convID)
		if err != nil {
			return err
		}
		in.Conversation = conv
	}
	return a.answer(c, func(ctx context.Context, emit func(engine.Event)) (*engine.Result, error) {
		return a.turns.Complete(ctx, convID, in, emit)
	}, false, in.Conversation != nil)
}

// answer runs a turn through the turn service (detached from the connection,
// bounded by the turn timeout) and answers with its result as JSON, or —
// asked for JSON lines — streams its events, usage and result; before a
// stream (it answers 200) it checks that the conversation exists, unless
// the caller did (checked). A stateless answer has no id: nothing was
// stored.
func (a *API) answer(c *fiber.Ctx, run func(context.Context, func(engine.Event)) (*engine.Result, error), stateless, checked bool) error {
	if !wantsStream(c) {
		res, err := run(c.UserContext(), nil)
		if err != nil {
			return err
		}
		return c.JSON(result(res).body(stateless))
	}
	if !stateless && !checked {
		// Fail fast, before a stream answers 200, on a conversation that is not there.
		if _, err := a.store.FindConversation(c.UserContext(), c.Params("conversationId")); err != nil {
			return err
		}
	}
	path := c.Path() // the request is gone once the stream runs
	return streamLines(c, func(emit func(string, any) bool) {
		res, err := run(context.Background(), func(ev engine.Event) { emitEvent(emit, ev) })
		if err != nil {
			if models.ErrorCode(err) == models.CodeInternal {
				a.log.Error("api: turn", "path", path, "error", err)
			}
			emit("error", errorJSON{Message: publicMessage(err)})
			return
		}
		finish(emit, res, stateless)
	})
}

// emitEvent streams one engine event: tokens as they come, and the context
// and activity messages that explain the answer (with what they explain in
// meta: the records retrieved, the ability run).
func emitEvent(emit func(string, any) bool, ev engine.Event) {
	switch ev.Type {
	case engine.EventToken:
		emit("token", map[string]string{"token": ev.Token})
	case engine.EventMessage:
		m := ev.Message
		if m == nil || (m.Type != models.MessageContext && m.Type != models.MessageActivity) {
			return
		}
		emit("message", messageEvent{ID: m.ID, Type: m.Type, Text: m.Text, Meta: whyMeta(m, ev.Turn)})
	}
}

// whyMeta is a context or activity message's meta with what it explains.
func whyMeta(m *models.Message, t *models.Turn) models.Meta {
	out := models.Meta{}
	for k, v := range m.Meta {
		out[k] = v
	}
	if t == nil {
		return out
	}
	switch m.Type {
	case models.MessageContext:
		recs := make([]map[string]any, 0, len(t.Records))
		for _, r := range t.Records {
			recs = append(recs, map[string]any{"id": r.RecordID, "datasetId": r.DatasetID, "source": r.Source, "score": r.Score})
		}
		out["records"] = recs
	case models.MessageActivity:
		for _, call := range t.Calls {
			if call.MessageID == m.ID {
				out["ability"], out["input"], out["output"], out["durationMs"] = call.Ability, call.Input, call.Output, call.DurationMs
				if call.Error != "" {
					out["error"] = call.Error
				}
			}
		}
		if t.ErrorMessageID != nil && *t.ErrorMessageID == m.ID {
			out["stage"], out["error"] = t.ErrorStage, t.Error
		}
	}
	return out
}

// finish streams a turn's usage (or error) and result.
func finish(emit func(string, any) bool, res *engine.Result, stateless bool) {
	out := result(res)
	if res.Err != nil {
		emit("error", errorJSON{Message: models.ErrorMessage(res.Err)})
	} else if t := res.Turn; t != nil {
		emit("usage", usageEvent{Model: t.Model, InputTokensUsed: t.InputTokens, OutputTokensUsed: t.OutputTokens})
	}
	emit("result", out.body(stateless))
}

// result is a finished turn as receive and complete answer it.
func result(res *engine.Result) replyResponse {
	if res.Err != nil || res.Bot == nil {
		out := replyResponse{End: endJSON{Reason: "error"}}
		if res.Err != nil {
			out.Error = &errorJSON{Message: models.ErrorMessage(res.Err)}
		}
		return out
	}
	out := replyResponse{ID: res.Bot.ID, Text: res.Bot.Text}
	if t := res.Turn; t != nil {
		out.Usage = usageJSON{Token: t.InputTokens + t.OutputTokens}
		out.End = endJSON{Reason: endReason(t.EndReason)}
	}
	return out
}

// endReason maps a turn's end reason onto ChatBotKit's.
func endReason(r string) string {
	switch r {
	case models.EndLength:
		return "length"
	case models.EndToolLimit:
		return "iteration"
	}
	return "stop"
}

// publicMessage is an error's message fit for a client.
func publicMessage(err error) string {
	if models.ErrorCode(err) == models.CodeInternal {
		return "Something went wrong on our side. It has been logged."
	}
	return models.ErrorMessage(err)
}

// ---- stateless complete ----

// statelessRequest is the body of conversation/complete: a whole history and
// a configuration (a bot, or inline settings); nothing is stored.
type statelessRequest struct {
	configFields
	unsupported
	Messages    []messageInput `json:"messages" validate:"required,min=1,max=100,dive"`
	ContactID   any            `json:"contactId"`
	Attachments []any          `json:"attachments"`
}

// statelessResponse answers conversation/complete: a reply without an id.
type statelessResponse struct {
	Text  string     `json:"text"`
	Usage usageJSON  `json:"usage"`
	End   endJSON    `json:"end"`
	Error *errorJSON `json:"error,omitempty"`
}

// body is the reply as its route answers it.
func (r replyResponse) body(stateless bool) any {
	if stateless {
		return statelessResponse{Text: r.Text, Usage: r.Usage, End: r.End, Error: r.Error}
	}
	return r
}

// handleStatelessComplete handles POST /api/v1/conversation/complete.
func (a *API) handleStatelessComplete(c *fiber.Ctx) error {
	var r statelessRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := r.unsupported.check(); err != nil {
		return err
	}
	if err := r.configFields.check(); err != nil {
		return err
	}
	if err := a.checkModel(c.UserContext(), r.Model); err != nil {
		return err
	}
	if len(r.Attachments) > 0 {
		return models.FieldError("attachments", "Attachments are not supported.")
	}
	if r.Messages[len(r.Messages)-1].Type != models.MessageUser {
		return models.FieldError("messages", "The last message must be the user's: it is the one answered.")
	}
	var conv models.Conversation
	r.configFields.apply(&conv)
	in := engine.Stateless{Model: conv.Model, Backstory: conv.Backstory}
	if in.Model == "" {
		in.Model = "local"
	}
	// Referenced ids must exist (checked as a stored conversation's are).
	if err := a.checkRefs(c.UserContext(), conv); err != nil {
		return err
	}
	if conv.BotID != nil {
		in.BotID = *conv.BotID
	}
	if conv.DatasetID != nil {
		in.DatasetID = *conv.DatasetID
	}
	if conv.SkillsetID != nil {
		in.SkillsetID = *conv.SkillsetID
	}
	for _, m := range r.Messages {
		in.Messages = append(in.Messages, models.Message{Type: m.Type, Text: m.Text, Meta: m.Meta})
	}
	return a.answer(c, func(ctx context.Context, emit func(engine.Event)) (*engine.Result, error) {
		return a.turns.Stateless(ctx, in, emit)
	}, true, false)
}

// checkRefs makes sure the bot, dataset and skillset a stateless completion
// names exist.
func (a *API) checkRefs(ctx context.Context, conv models.Conversation) error {
	if conv.BotID != nil {
		if _, err := a.store.FindBot(ctx, *conv.BotID); err != nil {
			return refError(err, "botId", "bot")
		}
	}
	if conv.DatasetID != nil {
		if _, err := a.store.FindDataset(ctx, *conv.DatasetID); err != nil {
			return refError(err, "datasetId", "dataset")
		}
	}
	if conv.SkillsetID != nil {
		if _, err := a.store.FindSkillset(ctx, *conv.SkillsetID); err != nil {
			return refError(err, "skillsetId", "skillset")
		}
	}
	return nil
}

// refError reports an unknown referenced id as bad input naming the field.
func refError(err error, field, what string) error {
	if models.ErrorCode(err) == models.CodeNotFound {
		return models.FieldError(field, "Unknown "+what+" id.")
	}
	return err
}
