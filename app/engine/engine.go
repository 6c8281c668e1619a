// Package engine runs a conversation turn: it stores the user's message first,
// assembles the context (backstory, a bounded history, retrieved records,
// abilities), calls the provider, runs the abilities the model asks for, and
// stores what happened — retrieval as a `context` message, each ability run as
// an `activity` message, the answer as a `bot` message whose meta says why.
package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"parley/app/provider"
	"parley/models"
	"parley/models/store"
)

// Runner runs one ability the model asked for.
type Runner interface {
	Tool() provider.Tool
	Run(ctx context.Context, args json.RawMessage) (string, error)
}

// AbilityLoader turns an ability into a Runner; (nil, nil) means the ability
// has no action (its instruction only goes into the prompt).
type AbilityLoader func(a models.Ability) (Runner, error)

// Resolver finds the provider for a bot's model string ("local",
// "openai/gpt-4o-mini", …) and the model name to send it.
type Resolver func(ctx context.Context, model string) (provider.Provider, string, error)

// Options configure an Engine.
type Options struct {
	Store     *store.Store
	Providers Resolver
	Abilities AbilityLoader
	Logger    *slog.Logger
	// Locker serialises the turns of one conversation (default: per-dialect).
	Locker Locker
	// MaxToolRounds bounds model → ability → model loops in one turn (default 4).
	MaxToolRounds int
	// HistoryTokens bounds the history sent with a turn (default 3000, estimated).
	HistoryTokens int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Engine runs turns.
type Engine struct {
	opts Options
}

// New makes an Engine with defaults filled in.
func New(o Options) *Engine {
	if o.MaxToolRounds <= 0 {
		o.MaxToolRounds = 4
	}
	if o.HistoryTokens <= 0 {
		o.HistoryTokens = 3000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Locker == nil {
		o.Locker = DefaultLocker(o.Store)
	}
	return &Engine{opts: o}
}

// Event is something a turn produced, for live views: a stored message, or a
// token of the answer being streamed.
type Event struct {
	Type    string          // "message" or "token"
	Message *models.Message // for "message"
	Token   string          // for "token"
}

// Result is a finished turn.
type Result struct {
	User    *models.Message
	Context *models.Message // nil when nothing was retrieved
	Bot     *models.Message // nil when the turn failed
	Err     error           // the failure, already recorded as an activity message
	retry   bool
}

// config is what answers a conversation: its bot's settings or its inline ones.
type config struct {
	botID       string
	botUpdated  time.Time
	backstory   string
	model       string
	datasetIDs  []string
	skillsetIDs []string
}

func configOf(c *models.Conversation) config {
	if c.Bot != nil {
		cfg := config{botID: c.Bot.ID, botUpdated: c.Bot.UpdatedAt, backstory: c.Bot.Backstory, model: c.Bot.Model}
		for _, d := range c.Bot.Datasets {
			cfg.datasetIDs = append(cfg.datasetIDs, d.ID)
		}
		for _, k := range c.Bot.Skillsets {
			cfg.skillsetIDs = append(cfg.skillsetIDs, k.ID)
		}
		return cfg
	}
	cfg := config{backstory: c.Backstory, model: c.Model}
	if c.DatasetID != nil {
		cfg.datasetIDs = []string{*c.DatasetID}
	}
	if c.SkillsetID != nil {
		cfg.skillsetIDs = []string{*c.SkillsetID}
	}
	return cfg
}

// Turn runs one turn for a new user message. The user message is stored before
// anything can fail; a failing model or ability is recorded as an `activity`
// message and returned in Result.Err, and the conversation stays usable. emit
// (may be nil) receives events as they happen. Turns of one conversation run
// one at a time, in order.
func (e *Engine) Turn(ctx context.Context, conversationID, text string, emit func(Event)) (*Result, error) {
	if strings.TrimSpace(text) == "" {
		return nil, models.FieldError("text", "Write a message first.")
	}
	if emit == nil {
		emit = func(Event) {}
	}
	st := e.opts.Store
	conv, err := st.FindConversation(ctx, conversationID)
	if err != nil {
		return nil, err
	}
	unlock, err := e.opts.Locker.Lock(ctx, conversationID)
	if err != nil {
		return nil, err
	}
	defer unlock()

	res := &Result{}
	res.User, err = st.CreateMessage(ctx, models.Message{ConversationID: conversationID, Type: models.MessageUser, Text: text})
	if err != nil {
		return nil, err
	}
	emit(Event{Type: "message", Message: res.User})
	return e.answer(ctx, e.stored(conv), res, emit)
}

// Reply runs the model for the conversation as it is (its last message being
// the user's), without adding a user message: "receive" in the API.
func (e *Engine) Reply(ctx context.Context, conversationID string, emit func(Event)) (*Result, error) {
	return e.reply(ctx, conversationID, false, emit)
}

// Retry answers the conversation's last user message again, with the bot's
// current configuration; the earlier answer stays in the timeline.
func (e *Engine) Retry(ctx context.Context, conversationID string, emit func(Event)) (*Result, error) {
	return e.reply(ctx, conversationID, true, emit)
}

func (e *Engine) reply(ctx context.Context, conversationID string, retry bool, emit func(Event)) (*Result, error) {
	if emit == nil {
		emit = func(Event) {}
	}
	conv, err := e.opts.Store.FindConversation(ctx, conversationID)
	if err != nil {
		return nil, err
	}
	unlock, err := e.opts.Locker.Lock(ctx, conversationID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return e.answer(ctx, e.stored(conv), &Result{retry: retry}, emit)
}

func (e *Engine) answer(ctx context.Context, sc scope, res *Result, emit func(Event)) (*Result, error) {
	cfg, err := sc.config(ctx)
	if err != nil {
		return nil, err
	}
	started := e.opts.Now()
	history, question, err := e.history(ctx, sc, res.retry)
	if err != nil {
		return nil, err
	}
	if question == "" {
		return nil, models.Errorf(models.CodeConflict, "There is no user message to answer.")
	}

	// Retrieval.
	docs, instruction, err := e.retrieve(ctx, cfg, question)
	if err != nil {
		return e.fail(ctx, sc, res, emit, "retrieval", err)
	}
	if len(docs) > 0 {
		res.Context, err = sc.save(ctx, contextMessage(sc.convID, question, docs))
		if err != nil {
			return nil, err
		}
		emit(Event{Type: "message", Message: res.Context})
	}

	// Abilities.
	runners, abilityNotes, err := e.loadAbilities(ctx, cfg)
	if err != nil {
		return e.fail(ctx, sc, res, emit, "abilities", err)
	}

	prov, modelName, err := e.opts.Providers(ctx, cfg.model)
	if err != nil {
		return e.fail(ctx, sc, res, emit, "model", err)
	}
	req := provider.Request{
		Model:     modelName,
		Messages:  append([]provider.Message{{Role: provider.RoleSystem, Content: systemPrompt(cfg.backstory, instruction, docs, abilityNotes)}}, history...),
		Documents: docs,
	}
	byName := map[string]Runner{}
	for _, r := range runners {
		t := r.Tool()
		if _, dup := byName[t.Name]; dup {
			// Two abilities whose names sanitise alike: the first wins, visibly.
			e.opts.Logger.Warn("ability skipped: duplicate tool name", "conversation_id", sc.convID, "tool", t.Name)
			continue
		}
		req.Tools = append(req.Tools, t)
		byName[t.Name] = r
	}

	var (
		resp    *provider.Response
		usage   provider.Usage
		answer  strings.Builder
		rounds  int
		endNote string
	)
	for {
		rounds++
		resp, err = prov.Complete(ctx, req, func(tok string) {
			answer.WriteString(tok)
			emit(Event{Type: "token", Token: tok})
		})
		if err != nil {
			return e.fail(ctx, sc, res, emit, "model", err)
		}
		usage.InputTokens += resp.Usage.InputTokens
		usage.OutputTokens += resp.Usage.OutputTokens
		if len(resp.ToolCalls) == 0 {
			break
		}
		if rounds > e.opts.MaxToolRounds {
			endNote = "tool_limit"
			break
		}
		req.Messages = append(req.Messages, provider.Message{Role: provider.RoleAssistant, Content: resp.Text, ToolCalls: resp.ToolCalls})
		for _, call := range resp.ToolCalls {
			out, act, err := e.runTool(ctx, sc, byName, call)
			if err != nil {
				return nil, err
			}
			emit(Event{Type: "message", Message: act})
			req.Messages = append(req.Messages, provider.Message{Role: provider.RoleTool, ToolCallID: call.ID, Name: call.Name, Content: out})
		}
		answer.Reset()
	}

	text := resp.Text
	if text == "" {
		text = answer.String()
	}
	finish := resp.FinishReason
	if endNote != "" {
		finish = endNote
		if strings.TrimSpace(text) == "" {
			text = "I could not finish: the abilities were called too many times in one turn."
		}
	}
	meta := models.Meta{
		"provider":     prov.Name(),
		"model":        firstNonEmpty(resp.Model, modelName),
		"latencyMs":    e.opts.Now().Sub(started).Milliseconds(),
		"inputTokens":  usage.InputTokens,
		"outputTokens": usage.OutputTokens,
		"finishReason": finish,
		"toolRounds":   rounds - 1,
		"records":      recordRefs(docs),
		"config":       configMeta(cfg),
	}
	if res.Context != nil {
		meta["contextMessageId"] = res.Context.ID
	}
	res.Bot, err = sc.save(ctx, models.Message{ConversationID: sc.convID, Type: models.MessageBot, Text: text, Meta: meta})
	if err != nil {
		return nil, err
	}
	emit(Event{Type: "message", Message: res.Bot})
	return res, nil
}

// scope is where a turn reads its history from and writes its messages to: a
// stored conversation, or (stateless completion) messages given by the caller
// and kept nowhere.
type scope struct {
	convID string
	config func(ctx context.Context) (config, error)
	// recent returns the latest messages, newest first, at most MaxPageSize.
	recent func(ctx context.Context) ([]models.Message, error)
	save   func(ctx context.Context, m models.Message) (*models.Message, error)
}

// stored is the scope of a stored conversation.
func (e *Engine) stored(conv *models.Conversation) scope {
	st := e.opts.Store
	return scope{
		convID: conv.ID,
		config: func(ctx context.Context) (config, error) {
			if conv.Bot != nil {
				// Fresh attachments: the conversation's Preload does not include them.
				bot, err := st.FindBot(ctx, conv.Bot.ID)
				if err != nil {
					return config{}, err
				}
				conv.Bot = bot
			}
			return configOf(conv), nil
		},
		recent: func(ctx context.Context) ([]models.Message, error) {
			msgs, _, err := st.FindMessages(ctx, conv.ID, models.Page{Limit: models.MaxPageSize, Order: models.OrderDesc})
			return msgs, err
		},
		save: st.CreateMessage,
	}
}

// Stateless is a completion with no stored conversation: the caller gives the
// configuration (a bot, or inline settings) and the whole history.
type Stateless struct {
	BotID      string
	Model      string
	Backstory  string
	DatasetID  string
	SkillsetID string
	// Messages is the history, oldest first; the last one should be the user's.
	Messages []models.Message
}

// Complete answers a stateless history. Nothing is stored: the messages in the
// result (context, activity, bot) have fresh ids but exist only in the reply.
func (e *Engine) Complete(ctx context.Context, in Stateless, emit func(Event)) (*Result, error) {
	if emit == nil {
		emit = func(Event) {}
	}
	conv := &models.Conversation{Model: in.Model, Backstory: in.Backstory}
	if in.BotID != "" {
		bot, err := e.opts.Store.FindBot(ctx, in.BotID)
		if err != nil {
			return nil, err
		}
		conv.Bot = bot
	}
	if in.DatasetID != "" {
		conv.DatasetID = &in.DatasetID
	}
	if in.SkillsetID != "" {
		conv.SkillsetID = &in.SkillsetID
	}
	history := in.Messages
	if len(history) > models.MaxPageSize {
		history = history[len(history)-models.MaxPageSize:]
	}
	newestFirst := slices.Clone(history)
	slices.Reverse(newestFirst)
	sc := scope{
		config: func(context.Context) (config, error) { return configOf(conv), nil },
		recent: func(context.Context) ([]models.Message, error) { return newestFirst, nil },
		save: func(_ context.Context, m models.Message) (*models.Message, error) {
			now := e.opts.Now().UTC()
			m.ID, m.CreatedAt, m.UpdatedAt = models.NewID(), now, now
			return &m, nil
		},
	}
	return e.answer(ctx, sc, &Result{}, emit)
}

// fail records a failure of a turn's stage as an activity message; the user's
// message is already stored and the conversation stays usable.
func (e *Engine) fail(ctx context.Context, sc scope, res *Result, emit func(Event), stage string, cause error) (*Result, error) {
	msg := userMessageOf(cause)
	convID := sc.convID
	e.opts.Logger.Warn("turn failed", "conversation_id", convID, "stage", stage, "error", cause)
	act, err := sc.save(context.WithoutCancel(ctx), models.Message{
		ConversationID: convID, Type: models.MessageActivity, Text: "Error: " + msg,
		Meta: models.Meta{"stage": stage, "error": msg},
	})
	if err != nil {
		return nil, err
	}
	emit(Event{Type: "message", Message: act})
	res.Err = models.Errorf(models.CodeUnavailable, "The bot could not answer: %s", msg)
	return res, nil
}

// userMessageOf gives an error's message fit to show (provider and domain errors
// carry one; others are internal).
func userMessageOf(err error) string {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return pe.Message
	}
	if errors.Is(err, provider.ErrNoProvider) {
		return err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "the model took too long to answer"
	}
	if errors.Is(err, context.Canceled) {
		return "the turn was cancelled"
	}
	var me *models.Error
	if errors.As(err, &me) {
		return me.Message
	}
	return "internal error"
}

func (e *Engine) runTool(ctx context.Context, sc scope, byName map[string]Runner, call provider.ToolCall) (string, *models.Message, error) {
	start := e.opts.Now()
	var (
		out    string
		runErr error
	)
	r, ok := byName[call.Name]
	if !ok {
		runErr = fmt.Errorf("no ability named %q", call.Name)
	} else {
		out, runErr = r.Run(ctx, json.RawMessage(call.Arguments))
	}
	meta := models.Meta{
		"ability":    call.Name,
		"callId":     call.ID,
		"input":      call.Arguments,
		"output":     out,
		"durationMs": e.opts.Now().Sub(start).Milliseconds(),
	}
	text := fmt.Sprintf("Ran %s", call.Name)
	if runErr != nil {
		meta["error"] = runErr.Error()
		text += ": error: " + runErr.Error()
		out = "error: " + runErr.Error()
	}
	act, err := sc.save(ctx, models.Message{ConversationID: sc.convID, Type: models.MessageActivity, Text: text, Meta: meta})
	return out, act, err
}

// history returns the prompt messages of the conversation's recent user and
// bot turns within the token budget (oldest dropped first), and the last user
// message's text (the question this turn answers).
func (e *Engine) history(ctx context.Context, sc scope, retry bool) ([]provider.Message, string, error) {
	msgs, err := sc.recent(ctx)
	if err != nil {
		return nil, "", err
	}
	var (
		out      []provider.Message
		budget   = e.opts.HistoryTokens
		question string
	)
	if retry {
		// Forget what came after the last user message.
		for i, m := range msgs {
			if m.Type == models.MessageUser {
				msgs = msgs[i:]
				break
			}
		}
	}
	for _, m := range msgs { // newest first
		var role string
		switch m.Type {
		case models.MessageUser:
			role = provider.RoleUser
			if question == "" && out == nil {
				question = m.Text
			}
		case models.MessageBot:
			role = provider.RoleAssistant
		case models.MessageInstruction:
			role = provider.RoleSystem
		default:
			continue
		}
		cost := provider.EstimateTokens(m.Text)
		if cost > budget && len(out) > 0 {
			break
		}
		budget -= cost
		out = append(out, provider.Message{Role: role, Content: m.Text})
	}
	slices.Reverse(out)
	if len(out) > 0 && out[len(out)-1].Role != provider.RoleUser {
		question = "" // the last message was already answered
	}
	return out, question, nil
}

// retrieve searches each attached dataset with its own settings and merges the
// results best-first. instruction is the match or mismatch instruction.
func (e *Engine) retrieve(ctx context.Context, cfg config, question string) ([]provider.Document, string, error) {
	var (
		docs            []provider.Document
		match, mismatch []string
	)
	for _, id := range cfg.datasetIDs {
		d, err := e.opts.Store.FindDataset(ctx, id)
		if err != nil {
			if models.ErrorCode(err) == models.CodeNotFound {
				continue
			}
			return nil, "", err
		}
		if d.SearchMaxRecords == 0 {
			continue
		}
		found, err := e.opts.Store.SearchRecords(ctx, models.RecordQuery{DatasetIDs: []string{d.ID}, Text: question,
			Limit: d.SearchMaxRecords, MinScore: d.SearchMinScore})
		if err != nil {
			return nil, "", err
		}
		for _, f := range found {
			text := f.Record.Text
			if d.RecordMaxTokens > 0 && provider.EstimateTokens(text) > d.RecordMaxTokens {
				text = models.TruncateUTF8(text, d.RecordMaxTokens*4)
			}
			docs = append(docs, provider.Document{ID: f.Record.ID, DatasetID: d.ID, Text: text, Source: f.Record.Source, Score: f.Score})
		}
		if len(found) > 0 && d.MatchInstruction != "" {
			match = append(match, d.MatchInstruction)
		}
		if len(found) == 0 && d.MismatchInstruction != "" {
			mismatch = append(mismatch, d.MismatchInstruction)
		}
	}
	slices.SortStableFunc(docs, func(a, b provider.Document) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if len(docs) > 0 {
		return docs, strings.Join(match, "\n"), nil
	}
	return nil, strings.Join(mismatch, "\n"), nil
}

// maxAbilities bounds the abilities offered in one turn.
const maxAbilities = 50

func (e *Engine) loadAbilities(ctx context.Context, cfg config) ([]Runner, []string, error) {
	var (
		runners []Runner
		notes   []string
	)
	for _, id := range cfg.skillsetIDs {
		abs, _, err := e.opts.Store.FindAbilities(ctx, id, models.Page{Limit: maxAbilities, Order: models.OrderAsc})
		if err != nil {
			return nil, nil, err
		}
		for _, a := range abs {
			var r Runner
			if e.opts.Abilities != nil {
				r, err = e.opts.Abilities(a)
				if err != nil {
					e.opts.Logger.Warn("ability skipped", "ability_id", a.ID, "error", err)
					continue
				}
			}
			if r != nil {
				runners = append(runners, r)
				continue
			}
			if a.Instruction != "" || a.Description != "" {
				notes = append(notes, fmt.Sprintf("%s: %s %s", a.Name, a.Description, a.Instruction))
			}
		}
	}
	return runners, notes, nil
}

// systemPrompt renders the backstory, the dataset instruction, the retrieved
// records and instruction-only abilities into one system message.
func systemPrompt(backstory, instruction string, docs []provider.Document, notes []string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(backstory))
	if instruction != "" {
		b.WriteString("\n\n" + strings.TrimSpace(instruction))
	}
	if len(docs) > 0 {
		b.WriteString("\n\nRecords from the knowledge base:\n")
		for i, d := range docs {
			fmt.Fprintf(&b, "[%d] %s\n", i+1, strings.TrimSpace(d.Text))
			if d.Source != "" {
				fmt.Fprintf(&b, "Source: %s\n", d.Source)
			}
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n\nAbilities:\n")
		for _, n := range notes {
			b.WriteString("- " + strings.TrimSpace(n) + "\n")
		}
	}
	return strings.TrimSpace(b.String())
}

func contextMessage(convID, question string, docs []provider.Document) models.Message {
	var b strings.Builder
	for i, d := range docs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(d.Text)
		if d.Source != "" {
			b.WriteString("\nSource: " + d.Source)
		}
	}
	return models.Message{ConversationID: convID, Type: models.MessageContext, Text: b.String(),
		Meta: models.Meta{"query": question, "records": recordRefs(docs)}}
}

func recordRefs(docs []provider.Document) []map[string]any {
	out := make([]map[string]any, 0, len(docs))
	for _, d := range docs {
		out = append(out, map[string]any{"id": d.ID, "datasetId": d.DatasetID, "source": d.Source, "score": roundScore(d.Score)})
	}
	return out
}

func roundScore(f float64) float64 { return float64(int(f*10000+0.5)) / 10000 }

func configMeta(cfg config) map[string]any {
	sum := sha256.Sum256([]byte(cfg.backstory))
	m := map[string]any{
		"model":        cfg.model,
		"backstorySha": hex.EncodeToString(sum[:8]),
		"datasetIds":   cfg.datasetIDs,
		"skillsetIds":  cfg.skillsetIDs,
	}
	if cfg.botID != "" {
		m["botId"] = cfg.botID
		m["botUpdatedAt"] = cfg.botUpdated.UTC().Format(time.RFC3339Nano)
	}
	return m
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
