package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"parley/app/provider"
	"parley/models"
)

// scope is where a turn reads its configuration and history from and writes
// what it produced to: a stored conversation, or (stateless completion)
// messages given by the caller and kept nowhere.
type scope struct {
	convID string
	config func(ctx context.Context) (config, error)
	// recent returns the latest user, bot and instruction messages, newest
	// first, at most MaxPageSize (other types may be left out).
	recent func(ctx context.Context) ([]models.Message, error)
	// early, when not nil, is the turn's retrieval and provider, started
	// already (else the turn starts them).
	early *early
	// owners returns, for turn ids, the user message each answered.
	owners func(ctx context.Context, turnIDs []string) (map[string]string, error)
	start  func(ctx context.Context, t *models.Turn) error
	// hold keeps the turn's context message for its next add or finish to
	// store (t.HeldContext), or — nowhere to store it — only returns it.
	hold   func(t *models.Turn, m models.Message) *models.Message
	add    func(ctx context.Context, t *models.Turn, m models.Message, call *models.TurnCall) (*models.Message, error)
	finish func(ctx context.Context, t *models.Turn, closing models.Message) (*models.Message, error)
}

// storedScope is the scope of a stored conversation.
func (e *Engine) storedScope(conv *models.Conversation) scope {
	st := e.opts.Store
	return scope{
		convID: conv.ID,
		config: func(ctx context.Context) (config, error) { return e.configOf(ctx, conv) },
		recent: func(ctx context.Context) ([]models.Message, error) {
			return st.RecentDialogue(ctx, conv.ID, models.MaxPageSize)
		},
		owners: func(ctx context.Context, ids []string) (map[string]string, error) {
			ts, err := st.FindTurns(ctx, ids)
			if err != nil {
				return nil, err
			}
			out := map[string]string{}
			for id, t := range ts {
				out[id] = models.Deref(t.UserMessageID)
			}
			return out, nil
		},
		start: st.StartTurn,
		hold: func(t *models.Turn, m models.Message) *models.Message {
			now := e.opts.Now().UTC()
			turnID := t.ID
			m.ID, m.ConversationID, m.TurnID, m.CreatedAt, m.UpdatedAt = models.NewID(), conv.ID, &turnID, now, now
			if m.Meta == nil {
				m.Meta = models.Meta{}
			}
			t.HeldContext = &m
			return &m
		},
		add: func(ctx context.Context, t *models.Turn, m models.Message, call *models.TurnCall) (*models.Message, error) {
			m.ConversationID = conv.ID
			return st.AddTurnMessage(ctx, t, m, call)
		},
		finish: st.FinishTurn,
	}
}

// run answers one queued turn of a stored conversation (the lock is held);
// user is the message it answers, when the caller has it.
func (e *Engine) run(ctx context.Context, conv *models.Conversation, t *models.Turn, user *models.Message, emit func(Event)) (*Result, error) {
	if user == nil {
		msgs, err := e.opts.Store.FindMessagesByID(ctx, conv.ID, models.Deref(t.UserMessageID))
		if err != nil {
			return nil, err
		}
		user = msgs[models.Deref(t.UserMessageID)]
	}
	if user == nil {
		// The message was deleted while its turn waited: nothing to answer.
		left, err := e.opts.Store.InterruptTurns(ctx, []models.Turn{*t}, "the message was deleted before the bot could answer it.")
		if err != nil {
			return nil, err
		}
		res := &Result{Turn: t, Err: models.Errorf(models.CodeNotFound, "The message was deleted before the bot could answer it.")}
		for i := range left {
			emit(Event{Type: EventMessage, ConversationID: conv.ID, TurnID: t.ID, Message: &left[i]})
		}
		return res, nil
	}
	carriedRedactions(conv, t, user)
	return e.answer(ctx, e.storedScope(conv), &Result{Turn: t, User: user}, emit)
}

// runFirst is run for a turn that is, most likely, the conversation's only
// unfinished one (the lock is held): it starts only if so, and otherwise
// returns store.ErrNotNext before anything is written.
func (e *Engine) runFirst(ctx context.Context, conv *models.Conversation, t *models.Turn, user *models.Message, emit func(Event)) (*Result, error) {
	sc := e.storedScope(conv)
	sc.start = e.opts.Store.StartNextTurn
	return e.runKnown(ctx, sc, conv, t, user, emit)
}

// runStarted is run for a turn stored running as it was posted, under the
// lock Post took (see Engine.startable), with the configuration it was
// started with: nothing is left to start or to read.
func (e *Engine) runStarted(ctx context.Context, p *Posted, emit func(Event)) (*Result, error) {
	sc := e.storedScope(p.Conversation)
	cfg := p.cfg
	sc.config = func(context.Context) (config, error) { return cfg, nil }
	sc.start = func(context.Context, *models.Turn) error { return nil }
	if p.recent != nil {
		recent := p.recent
		sc.recent = func(context.Context) ([]models.Message, error) { return recent, nil }
	}
	sc.early = p.early
	return e.runKnown(ctx, sc, p.Conversation, p.Turn, p.Message, emit)
}

// early is what a turn reads besides its history, each as soon as it is
// read: its retrieval for the question and its model's provider (a
// configured provider is a row to read). Neither depends on the stored
// message, so they are started together as early as the configuration is
// known (prefetch).
type early struct {
	search <-chan retrieved
	model  <-chan resolved
}

// retrieved is a turn's retrieval, with how long it took.
type retrieved struct {
	retrieval
	took time.Duration
	err  error
}

// resolved is a turn's model provider and the model name to send it.
type resolved struct {
	prov  provider.Provider
	model string
	err   error
}

// prefetch starts what a turn answered by cfg reads for question besides
// its history.
func (e *Engine) prefetch(ctx context.Context, cfg config, question string) early {
	search, model := make(chan retrieved, 1), make(chan resolved, 1)
	go func() {
		start := e.opts.Now()
		r, err := e.retrieve(ctx, cfg, question)
		search <- retrieved{r, e.opts.Now().Sub(start), err}
	}()
	go func() {
		p, name, err := e.opts.Providers(ctx, cfg.model)
		model <- resolved{p, name, err}
	}()
	return early{search: search, model: model}
}

// runKnown answers turn t of conv, whose user message the caller has, in
// scope sc.
func (e *Engine) runKnown(ctx context.Context, sc scope, conv *models.Conversation, t *models.Turn, user *models.Message, emit func(Event)) (*Result, error) {
	carriedRedactions(conv, t, user)
	return e.answer(ctx, sc, &Result{Turn: t, User: user}, emit)
}

// answer is a turn's pipeline: start, history, retrieval, abilities,
// moderation, model (with the ability loop), finish. A failing stage ends
// the turn with an activity entry (fail); only a failure to store is
// returned as an error.
func (e *Engine) answer(ctx context.Context, sc scope, res *Result, emit func(Event)) (*Result, error) {
	t := res.Turn
	ev := func(v Event) { v.ConversationID, v.TurnID = sc.convID, t.ID; emit(v) }
	cfg, err := sc.config(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.botID != "" {
		t.BotID = &cfg.botID
		if cfg.versionID != "" { // the version that answers: the one the configuration is read from
			t.BotVersionID, t.BotVersion = &cfg.versionID, cfg.version
		}
	}
	// The start, the history, the retrieval and the provider touch
	// different things: run them at once (the first token comes round
	// trips sooner), unless the post started the last two already and read
	// the history with it (runStarted). The conversation's lock is held, so
	// the history is the one the started turn sees; a start refused leaves
	// the reads unused.
	pre := sc.early
	if pre == nil {
		p := e.prefetch(ctx, cfg, res.User.Text)
		pre = &p
	}
	search, model := pre.search, pre.model
	type read struct {
		history []provider.Message
		err     error
	}
	past := make(chan read, 1)
	go func() {
		h, err := e.history(ctx, sc, res.User)
		past <- read{h, err}
	}()
	if err := sc.start(ctx, t); err != nil {
		<-search
		<-past
		<-model
		return nil, err
	}
	ev(Event{Type: EventTurn, Turn: t})
	h, found := <-past, <-search
	history, err := h.history, h.err
	if err != nil {
		return nil, err
	}
	docs, instruction := found.docs, found.instruction
	if found.err != nil {
		return e.fail(ctx, sc, res, ev, "retrieval", found.err)
	}
	if len(cfg.datasets) > 0 {
		kind := found.mode
		if kind == "" {
			kind = models.RetrievalKeyword
		}
		e.opts.Metrics.Retrieval(kind, found.took)
	}
	t.Retrieval, t.RetrievalNote = found.mode, found.note
	t.Records = turnRecords(docs)
	if len(docs) > 0 {
		// Held until the turn's next write, which stores it in the same
		// transaction; the caller sees it at once (a draft).
		res.Context = sc.hold(t, contextMessage(docs))
		ev(Event{Type: EventMessage, Message: res.Context, Draft: t.HeldContext != nil})
	}
	runners, notes, err := e.loadAbilities(ctx, cfg)
	if err != nil {
		return e.fail(ctx, sc, res, ev, "abilities", err)
	}
	m := <-model
	prov, modelName, err := m.prov, m.model, m.err
	if err != nil {
		return e.fail(ctx, sc, res, ev, "model", err)
	}
	t.Provider, t.Model = prov.Name(), modelName
	if done, err := e.moderate(ctx, sc, cfg, prov, res, ev); done != nil || err != nil {
		return done, err
	}
	req := provider.Request{
		Model:     modelName,
		Messages:  append([]provider.Message{{Role: provider.RoleSystem, Content: systemPrompt(cfg.backstory, instruction, docs, notes)}}, history...),
		Documents: docs,
	}
	tools := e.tools(sc.convID, runners)
	for _, r := range tools.list {
		req.Tools = append(req.Tools, r.Tool())
	}
	out, err := e.generate(ctx, sc, res, prov, req, tools, ev)
	if err != nil {
		return e.fail(ctx, sc, res, ev, "model", err)
	}
	t.Status = models.TurnDone
	t.Model = firstNonEmpty(out.model, modelName)
	return e.answered(ctx, sc, res, ev, out.text)
}

// answered ends a turn with the bot's answer: stored with the turn's
// figures, then announced.
func (e *Engine) answered(ctx context.Context, sc scope, res *Result, ev func(Event), text string) (*Result, error) {
	held := res.Turn.HeldContext != nil
	bot, err := sc.finish(ctx, res.Turn, models.Message{Type: models.MessageBot, Text: text})
	if err != nil {
		return nil, err
	}
	announceContext(res, held, ev)
	e.opts.Metrics.Turn(res.Turn)
	res.Bot = bot
	ev(Event{Type: EventMessage, Message: bot})
	ev(Event{Type: EventTurn, Turn: res.Turn})
	return res, nil
}

// toolset is the abilities offered in a turn, by their tool names.
type toolset struct {
	list   []Runner
	byName map[string]Runner
}

// tools names the runners as the model sees them; two abilities whose names
// sanitise alike: the first wins, visibly in the log.
func (e *Engine) tools(convID string, runners []Runner) toolset {
	ts := toolset{byName: map[string]Runner{}}
	for _, r := range runners {
		name := r.Tool().Name
		if _, dup := ts.byName[name]; dup {
			e.opts.Logger.Warn("ability skipped: duplicate tool name", "conversation_id", convID, "tool", name)
			continue
		}
		ts.list = append(ts.list, r)
		ts.byName[name] = r
	}
	return ts
}

// generated is the model's final answer.
type generated struct {
	text  string
	model string
}

// generate calls the model, runs the abilities it asks for and calls it
// again, at most MaxToolRounds times; it fills the turn's figures (tokens,
// rounds, first token, end reason, the prompt).
func (e *Engine) generate(ctx context.Context, sc scope, res *Result, prov provider.Provider, req provider.Request, tools toolset, ev func(Event)) (*generated, error) {
	t := res.Turn
	var (
		resp   *provider.Response
		answer strings.Builder
		rounds int
		err    error
	)
	defer func() {
		t.Prompt = encodePrompt(req)
		t.LatencyMs = e.opts.Now().Sub(*t.StartedAt).Milliseconds()
	}()
	for {
		rounds++
		resp, err = prov.Complete(ctx, req, func(tok string) {
			if t.FirstTokenAt == nil && tok != "" {
				now := e.opts.Now().UTC()
				ms := now.Sub(*t.StartedAt).Milliseconds()
				t.FirstTokenAt, t.TTFTMs = &now, &ms
			}
			answer.WriteString(tok)
			ev(Event{Type: EventToken, Token: tok})
		})
		if err != nil {
			return nil, err
		}
		t.InputTokens += int64(resp.Usage.InputTokens)
		t.OutputTokens += int64(resp.Usage.OutputTokens)
		t.ToolRounds = rounds - 1
		if len(resp.ToolCalls) == 0 {
			break
		}
		if rounds > e.opts.MaxToolRounds {
			t.EndReason = models.EndToolLimit
			break
		}
		req.Messages = append(req.Messages, provider.Message{Role: provider.RoleAssistant, Content: resp.Text, ToolCalls: resp.ToolCalls})
		for _, call := range resp.ToolCalls {
			held := t.HeldContext != nil
			out, act, err := e.runTool(ctx, sc, t, tools, call)
			if err != nil {
				return nil, err
			}
			announceContext(res, held, ev)
			ev(Event{Type: EventMessage, Message: act})
			req.Messages = append(req.Messages, provider.Message{Role: provider.RoleTool, ToolCallID: call.ID, Name: call.Name, Content: out})
		}
		answer.Reset()
	}
	text := resp.Text
	if text == "" {
		text = answer.String()
	}
	text = storable(text)
	if t.EndReason == models.EndToolLimit {
		if strings.TrimSpace(text) == "" {
			text = "I could not finish: the abilities were called too many times in one turn."
		}
	} else {
		t.EndReason = endReason(resp.FinishReason)
	}
	return &generated{text: text, model: resp.Model}, nil
}

// endReason maps a provider's finish reason onto a turn's.
func endReason(finish string) string {
	switch finish {
	case provider.FinishLength:
		return models.EndLength
	}
	return models.EndStop
}

// fail ends a turn whose stage failed with an activity entry; the user's
// message is stored and the conversation stays usable.
func (e *Engine) fail(ctx context.Context, sc scope, res *Result, ev func(Event), stage string, cause error) (*Result, error) {
	msg := userMessageOf(cause)
	t := res.Turn
	e.opts.Logger.Warn("turn failed", "conversation_id", sc.convID, "turn_id", t.ID, "stage", stage, "error", cause)
	t.Status, t.EndReason, t.ErrorStage, t.Error = models.TurnFailed, models.EndError, stage, msg
	if t.StartedAt != nil {
		t.LatencyMs = e.opts.Now().Sub(*t.StartedAt).Milliseconds()
	}
	held := t.HeldContext != nil
	act, err := sc.finish(context.WithoutCancel(ctx), t, models.Message{Type: models.MessageActivity, Text: "Error: " + msg})
	if err != nil {
		return nil, err
	}
	announceContext(res, held, ev)
	e.opts.Metrics.Turn(t)
	ev(Event{Type: EventMessage, Message: act})
	ev(Event{Type: EventTurn, Turn: t})
	res.Err = models.Errorf(models.CodeUnavailable, "The bot could not answer: %s", msg)
	return res, nil
}

// announceContext tells of the turn's context message once a write stored
// it (held: it was held before that write).
func announceContext(res *Result, held bool, ev func(Event)) {
	if held && res.Turn.HeldContext == nil && res.Context != nil {
		ev(Event{Type: EventMessage, Message: res.Context})
	}
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

// runTool runs one ability call and stores its activity entry with the call's
// typed figures.
func (e *Engine) runTool(ctx context.Context, sc scope, t *models.Turn, tools toolset, call provider.ToolCall) (string, *models.Message, error) {
	start := e.opts.Now()
	var (
		out    string
		runErr error
	)
	r, ok := tools.byName[call.Name]
	if !ok {
		runErr = fmt.Errorf("no ability named %q", call.Name)
	} else {
		out, runErr = r.Run(ctx, json.RawMessage(call.Arguments))
	}
	tc := &models.TurnCall{Seq: len(t.Calls) + 1, Ability: storable(call.Name), CallID: storable(call.ID), Input: storable(call.Arguments), Output: storable(out),
		DurationMs: e.opts.Now().Sub(start).Milliseconds()}
	text := fmt.Sprintf("Ran %s", call.Name)
	if runErr != nil {
		tc.Error = runErr.Error()
		text += ": error: " + runErr.Error()
		out = "error: " + runErr.Error()
	}
	act, err := sc.add(ctx, t, models.Message{Type: models.MessageActivity, Text: text}, tc)
	if err != nil {
		return "", nil, err
	}
	t.Calls = append(t.Calls, *tc)
	return out, act, nil
}

// history returns the prompt messages for answering u: the conversation's
// recent user and bot messages before it, within the token budget (oldest
// dropped first), then u itself. Messages after u count only when they answer
// an earlier message (two messages sent close together: the answer to the
// first belongs before the second); later questions and u's earlier answers
// (a retry) do not.
func (e *Engine) history(ctx context.Context, sc scope, u *models.Message) ([]provider.Message, error) {
	msgs, err := sc.recent(ctx)
	if err != nil {
		return nil, err
	}
	var later []string
	for _, m := range msgs {
		if m.ID > u.ID && m.TurnID != nil {
			later = append(later, *m.TurnID)
		}
	}
	var owners map[string]string
	if len(later) > 0 && sc.owners != nil {
		if owners, err = sc.owners(ctx, later); err != nil {
			return nil, err
		}
	}
	budget := e.opts.HistoryTokens - provider.EstimateTokens(u.Text)
	var out []provider.Message
	for _, m := range msgs { // newest first
		if m.ID == u.ID {
			continue
		}
		if m.ID > u.ID && (m.TurnID == nil || owners[*m.TurnID] == "" || owners[*m.TurnID] >= u.ID) {
			continue
		}
		var role string
		switch m.Type {
		case models.MessageUser:
			role = provider.RoleUser
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
	return append(out, provider.Message{Role: provider.RoleUser, Content: u.Text}), nil
}

// turnRecords are the retrieved documents as a turn records them.
func turnRecords(docs []provider.Document) []models.TurnRecord {
	out := make([]models.TurnRecord, 0, len(docs))
	for i, d := range docs {
		out = append(out, models.TurnRecord{Rank: i + 1, RecordID: d.ID, DatasetID: d.DatasetID, Source: d.Source, Score: roundScore(d.Score),
			KeywordScore: roundPtr(d.Keyword), VectorScore: roundPtr(d.Vector), FusedScore: roundPtr(d.Fused), RerankScore: roundPtr(d.Rerank)})
	}
	return out
}

func roundScore(f float64) float64 { return float64(int(f*10000+0.5)) / 10000 }

// roundPtr rounds an optional score like roundScore (fused scores, a few
// thousandths, keep six decimals).
func roundPtr(f *float64) *float64 {
	if f == nil {
		return nil
	}
	r := math.Round(*f*1e6) / 1e6
	return &r
}

func contextMessage(docs []provider.Document) models.Message {
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
	return models.Message{Type: models.MessageContext, Text: b.String()}
}

// storable makes text from a model or an ability storable on both
// databases: invalid UTF-8 and NUL characters become U+FFFD.
func storable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
