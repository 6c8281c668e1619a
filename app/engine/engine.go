// Package engine runs a conversation turn: it stores the user's message first
// (with the turn that will answer it), assembles the context (backstory, a
// bounded history, retrieved records, abilities), calls the provider, runs the
// abilities the model asks for, and stores what happened — retrieval as a
// `context` message, each ability run as an `activity` message, the answer as
// a `bot` message — with a typed turn record of its figures and its "why".
//
// Engine is the pipeline; Service (service.go) runs it for every caller: it
// owns the base context, the timeout, shutdown and the live events.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"parley/app/metrics"
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

// Retriever finds the records of datasets that answer a question, by
// keywords or semantically (app/retrieval's Retriever is one).
type Retriever interface {
	// Search searches the datasets q names.
	Search(ctx context.Context, q models.RecordQuery) (*models.Retrieval, error)
	// SearchDataset searches d (q.DatasetIDs is ignored), for callers that
	// have just read it.
	SearchDataset(ctx context.Context, d *models.Dataset, q models.RecordQuery) (*models.Retrieval, error)
}

// Options configure an Engine.
type Options struct {
	Store     *store.Store
	Providers Resolver
	// Retriever searches the attached datasets (nil: keyword search only,
	// through the store).
	Retriever Retriever
	Abilities AbilityLoader
	Logger    *slog.Logger
	// Locker serialises the turns of one conversation (default: per-dialect).
	Locker Locker
	// MaxToolRounds bounds model → ability → model loops in one turn (default 4).
	MaxToolRounds int
	// HistoryTokens bounds the history sent with a turn (default 3000, estimated).
	HistoryTokens int
	// ModerationWords flag messages for moderation when the provider has no
	// moderation endpoint (config.ModerationWords; none: nothing is flagged).
	ModerationWords []string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Metrics records finished turns and retrieval times (nil: none).
	Metrics *metrics.Metrics
}

// Engine runs turns.
type Engine struct {
	opts    Options
	words   *WordList
	configs configCache
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
	return &Engine{opts: o, words: NewWordList(o.ModerationWords)}
}

// Event types.
const (
	EventMessage = "message" // a message was stored (or, stateless, produced)
	EventToken   = "token"   // a piece of the answer being streamed
	EventTurn    = "turn"    // a turn started or finished
	EventDeleted = "deleted" // a message was deleted
)

// Event is something that happened in a conversation, for live views and
// streamed answers.
type Event struct {
	Type           string
	ConversationID string
	// TurnID is the turn the event belongs to ("" for out-of-turn writes).
	TurnID  string
	Message *models.Message // for message events
	// Draft marks a message event for a message not stored yet (a turn's
	// context, stored with the turn's next write): for the turn's caller
	// only; live views hear of it once it is stored.
	Draft bool
	Token string       // for token events
	Turn  *models.Turn // for turn events
	// MessageID is the deleted message, for deleted events.
	MessageID string
}

// Result is a finished turn.
type Result struct {
	Turn    *models.Turn
	User    *models.Message
	Context *models.Message // nil when nothing was retrieved
	Bot     *models.Message // nil when the turn failed
	Err     error           // the failure, already recorded as an activity message
}

// Input is a user message to post.
type Input struct {
	Text string
	// ExternalID is the sender's id for the message (an idempotency key):
	// posting it again stores nothing and answers nothing new.
	ExternalID string
	Meta       models.Meta
	// Conversation, when the caller has just read it (its id is the one
	// posted to), is not read again.
	Conversation *models.Conversation
}

// Posted is a stored user message and the turn that answers it.
type Posted struct {
	Message *models.Message
	Turn    *models.Turn // nil when posted without an answer (the API's send)
	// Duplicate: the message was posted before with the same ExternalID.
	Duplicate bool
	// Conversation is the conversation posted to, with its bot.
	Conversation *models.Conversation

	// held is the conversation's lock, taken before posting, when the turn
	// was stored running (PostAndStart; else nil): AnswerPosted answers it
	// under that lock with cfg, the configuration it was started with, the
	// history read with the post (recent) and its retrieval and provider,
	// started alongside it (early).
	held   func()
	cfg    config
	recent []models.Message
	early  *early
}

// Post stores a user message and, with answer, queues the turn that answers
// it; both are stored before Post returns. When the conversation has privacy
// on, personal data in the text is replaced by placeholders before it is
// stored (so no model sees it either), and the turn counts the items
// replaced. Errors: invalid (empty or too long), not_found (the conversation).
func (e *Engine) Post(ctx context.Context, convID string, in Input, answer bool) (*Posted, error) {
	if strings.TrimSpace(in.Text) == "" {
		return nil, models.FieldError("text", "Write a message first.")
	}
	conv := in.Conversation
	if conv == nil || conv.ID != convID {
		var err error
		if conv, err = e.opts.Store.FindConversation(ctx, convID); err != nil {
			return nil, err
		}
	}
	text, redacted := private(conv, in.Text)
	m := models.Message{ConversationID: convID, Text: text, Meta: in.Meta}
	if in.ExternalID != "" {
		id := in.ExternalID
		m.ExternalID = &id
	}
	if answer {
		// One post of the conversation at a time, in every instance (a
		// short lock of its own, not the turns' lock), from trying the
		// turns' lock to storing the message: a turn started as it is
		// stored (below) then never overtakes a message posted just before
		// it, whose id is smaller but whose row would not be visible yet.
		unlock, err := e.opts.Store.Lock(ctx, "posting:"+convID)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	held, cfg, err := e.startable(ctx, conv, answer)
	if err != nil {
		return nil, err
	}
	var msg *models.Message
	var turn *models.Turn
	var created bool
	var recent []models.Message
	var pre early
	if held != nil {
		// The turn will most likely start with this post: its search and
		// its provider need only the text and the configuration, so they
		// are read meanwhile, and the history comes back with the post (one
		// round trip for both).
		pre = e.prefetch(ctx, cfg, text)
		start := cfg.turnStart()
		start.History = models.MaxPageSize
		var sp store.StartedPost
		sp, err = e.opts.Store.PostAndStart(ctx, m, redacted, start)
		msg, turn, created, recent = sp.Message, sp.Turn, sp.Created, sp.Recent
	} else {
		msg, turn, created, err = e.opts.Store.PostUserMessage(ctx, m, answer, redacted)
	}
	if held != nil && (err != nil || !created || turn == nil || turn.Status != models.TurnRunning) {
		held() // not started here: answered in order under the lock taken again
		held = nil
	}
	if err != nil {
		return nil, err
	}
	if !created && answer && turn == nil {
		// Sent before without an answer (send, then complete with the same id).
		if turn, err = e.opts.Store.QueueTurn(ctx, convID, msg.ID, false); err != nil {
			return nil, err
		}
	}
	p := &Posted{Message: msg, Turn: turn, Duplicate: !created, Conversation: conv, held: held}
	if held != nil {
		p.cfg, p.recent, p.early = cfg, recent, &pre
	}
	return p, nil
}

// startable takes the conversation's lock for a message about to be posted
// with its answer, if nobody holds it, and returns it (nil: not taken) with
// the configuration that will answer: the turn can then be stored running
// (PostAndStart) and answered without another statement to start it. A
// lock held elsewhere, or one that cannot be checked, leaves the turn to
// the ordinary path (queued, then answered in order).
func (e *Engine) startable(ctx context.Context, conv *models.Conversation, answer bool) (func(), config, error) {
	if !answer {
		return nil, config{}, nil
	}
	unlock, ok, err := e.opts.Locker.TryLock(ctx, conv.ID)
	if err != nil || !ok {
		return nil, config{}, nil
	}
	cfg, err := e.configOf(ctx, conv)
	if err != nil {
		unlock()
		return nil, config{}, err
	}
	return unlock, cfg, nil
}

// Queue queues a turn that answers the conversation's latest user message:
// again (retry: the earlier answer stays), or for the first time (the API's
// receive, which refuses a message already answered). Errors: not_found (no
// conversation), invalid (no user message to answer), conflict (answered).
func (e *Engine) Queue(ctx context.Context, convID string, retry bool) (*models.Turn, error) {
	st := e.opts.Store
	if _, err := st.FindConversation(ctx, convID); err != nil {
		return nil, err
	}
	u, err := st.LastUserMessage(ctx, convID)
	if models.ErrorCode(err) == models.CodeNotFound {
		return nil, models.Errorf(models.CodeInvalid, "There is no user message to answer yet: send one first.")
	}
	if err != nil {
		return nil, err
	}
	if !retry {
		done, err := st.Answered(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		if done {
			return nil, models.Errorf(models.CodeConflict, "The last user message is answered already: send a new one first.")
		}
	}
	return st.QueueTurn(ctx, convID, u.ID, retry)
}

// Answer runs a queued turn of a stored conversation. Turns of a
// conversation are answered one at a time and in the order they were queued:
// holding the conversation's lock, Answer closes turns left running by a
// holder that is gone (as interrupted), answers the queued turns older than
// this one, then this one. A turn already finished (another caller answered
// it) is returned as stored. emit receives the events of every turn it runs.
func (e *Engine) Answer(ctx context.Context, turnID string, emit func(Event)) (*Result, error) {
	if emit == nil {
		emit = func(Event) {}
	}
	st := e.opts.Store
	t, err := st.FindTurn(ctx, turnID)
	if err != nil {
		return nil, err
	}
	if t.Finished() {
		return e.stored(ctx, t)
	}
	conv, err := st.FindConversation(ctx, t.ConversationID)
	if err != nil {
		return nil, err
	}
	return e.answerIn(ctx, conv, t, nil, emit)
}

// AnswerPosted is Answer for a message Post just stored: it skips looking
// up again what Post already has (the turn, the conversation, the message).
func (e *Engine) AnswerPosted(ctx context.Context, p *Posted, emit func(Event)) (*Result, error) {
	if emit == nil {
		emit = func(Event) {}
	}
	if p.held != nil {
		defer p.held()
		return e.runStarted(ctx, p, emit)
	}
	if p.Turn.Finished() || p.Conversation == nil {
		return e.Answer(ctx, p.Turn.ID, emit)
	}
	return e.answerIn(ctx, p.Conversation, p.Turn, p.Message, emit)
}

// answerIn answers turn t of conv in order under the conversation's lock;
// user, when known, is the message t answers.
func (e *Engine) answerIn(ctx context.Context, conv *models.Conversation, t *models.Turn, user *models.Message, emit func(Event)) (*Result, error) {
	st := e.opts.Store
	turnID := t.ID
	unlock, err := e.opts.Locker.Lock(ctx, conv.ID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if user != nil && t.Status == models.TurnQueued && models.Deref(t.UserMessageID) == user.ID {
		// Usually the turn just queued is the conversation's only one: start
		// it if so, in one statement, without reading the unfinished turns.
		res, err := e.runFirst(ctx, conv, t, user, emit)
		if !errors.Is(err, store.ErrNotNext) {
			return res, err
		}
	}
	for {
		pending, err := st.UnfinishedTurns(ctx, conv.ID, 20)
		if err != nil {
			return nil, err
		}
		if err := e.interruptLeft(ctx, pending, emit); err != nil {
			return nil, err
		}
		var next *models.Turn
		for i := range pending {
			if pending[i].Status == models.TurnQueued && !answerAfter(&pending[i], t) {
				next = &pending[i]
				break
			}
		}
		if next == nil {
			break // ours is finished
		}
		var known *models.Message
		if next.ID == turnID && user != nil && models.Deref(next.UserMessageID) == user.ID {
			known = user
		}
		res, err := e.run(ctx, conv, next, known, emit)
		if err != nil {
			return nil, err
		}
		if next.ID == turnID {
			return res, nil
		}
	}
	t, err = st.FindTurn(ctx, turnID)
	if err != nil {
		return nil, err
	}
	return e.stored(ctx, t)
}

// answerAfter reports whether turn a is answered after turn b: turns answer
// in the order of the messages they answer, then of when they were queued.
func answerAfter(a, b *models.Turn) bool {
	ua, ub := models.Deref(a.UserMessageID), models.Deref(b.UserMessageID)
	if ua != ub {
		return ua > ub
	}
	return a.ID > b.ID
}

// InterruptedWhy is what an interrupted turn's activity entry says.
const InterruptedWhy = "the server stopped while the bot was answering. Send the message again, or retry the last turn."

// interruptLeft closes the running turns among pending: the lock is held, so
// whoever ran them is gone.
func (e *Engine) interruptLeft(ctx context.Context, pending []models.Turn, emit func(Event)) error {
	var left []models.Turn
	for _, t := range pending {
		if t.Status == models.TurnRunning {
			left = append(left, t)
		}
	}
	if len(left) == 0 {
		return nil
	}
	msgs, err := e.opts.Store.InterruptTurns(ctx, left, InterruptedWhy)
	if err != nil {
		return err
	}
	e.opts.Metrics.Recovered(len(msgs))
	for i := range msgs {
		e.opts.Logger.Warn("turn interrupted", "conversation_id", msgs[i].ConversationID, "turn_id", models.Deref(msgs[i].TurnID))
		emit(Event{Type: EventMessage, ConversationID: msgs[i].ConversationID, TurnID: models.Deref(msgs[i].TurnID), Message: &msgs[i]})
	}
	return nil
}

// Recover closes the turns a stopped process left behind, for every
// conversation whose lock is free (nobody answers there now): running turns,
// and queued turns older than grace (younger ones may belong to a request
// about to take the lock). It returns the activity entries it wrote.
func (e *Engine) Recover(ctx context.Context, grace time.Duration) ([]models.Message, error) {
	var out []models.Message
	err := store.EachPage(recoverPage, func(after string, n int) ([]string, error) {
		return e.opts.Store.ConversationsWithUnfinishedTurns(ctx, after, n)
	}, func(id string) string { return id }, func(convs []string) error {
		for _, id := range convs {
			msgs, err := e.recoverConversation(ctx, id, grace)
			if err != nil {
				return err
			}
			out = append(out, msgs...)
		}
		return nil
	})
	return out, err
}

// recoverPage is how many conversations Recover reads at a time.
var recoverPage = 1000

// recoverConversation closes what a stopped process left in one
// conversation, unless its lock is taken (a turn runs there now: it closes
// what was left itself).
func (e *Engine) recoverConversation(ctx context.Context, id string, grace time.Duration) ([]models.Message, error) {
	st := e.opts.Store
	unlock, ok, err := e.opts.Locker.TryLock(ctx, id)
	if err != nil || !ok {
		return nil, err
	}
	defer unlock()
	pending, err := st.UnfinishedTurns(ctx, id, 100)
	if err != nil {
		return nil, err
	}
	cutoff := e.opts.Now().Add(-grace)
	var left []models.Turn
	for _, t := range pending {
		if t.Status == models.TurnRunning || t.QueuedAt.Before(cutoff) {
			left = append(left, t)
		}
	}
	msgs, err := st.InterruptTurns(ctx, left, InterruptedWhy)
	if err != nil {
		return nil, err
	}
	e.opts.Metrics.Recovered(len(msgs))
	return msgs, nil
}

// stored returns a finished turn's result as the store has it.
func (e *Engine) stored(ctx context.Context, t *models.Turn) (*Result, error) {
	ids := []string{models.Deref(t.UserMessageID), models.Deref(t.ContextMessageID), models.Deref(t.BotMessageID), models.Deref(t.ErrorMessageID)}
	msgs, err := e.opts.Store.FindMessagesByID(ctx, t.ConversationID, ids...)
	if err != nil {
		return nil, err
	}
	res := &Result{Turn: t, User: msgs[ids[0]], Context: msgs[ids[1]], Bot: msgs[ids[2]]}
	if t.Status != models.TurnDone {
		res.Err = models.Errorf(models.CodeUnavailable, "The bot could not answer: %s", t.Error)
	}
	return res, nil
}

// Turn posts a user message and answers it, waiting for the answer: for
// tests and callers that need both in one call.
func (e *Engine) Turn(ctx context.Context, conversationID, text string, emit func(Event)) (*Result, error) {
	p, err := e.Post(ctx, conversationID, Input{Text: text}, true)
	if err != nil {
		return nil, err
	}
	if emit != nil {
		emit(Event{Type: EventMessage, ConversationID: conversationID, Message: p.Message})
	}
	return e.AnswerPosted(ctx, p, emit)
}

// Retry answers the conversation's last user message again, with the bot's
// current configuration; the earlier answer stays in the timeline.
func (e *Engine) Retry(ctx context.Context, conversationID string, emit func(Event)) (*Result, error) {
	t, err := e.Queue(ctx, conversationID, true)
	if err != nil {
		return nil, err
	}
	return e.Answer(ctx, t.ID, emit)
}

// Reply answers the conversation's last user message, if it has no answer
// yet: "receive" in the API.
func (e *Engine) Reply(ctx context.Context, conversationID string, emit func(Event)) (*Result, error) {
	t, err := e.Queue(ctx, conversationID, false)
	if err != nil {
		return nil, err
	}
	return e.Answer(ctx, t.ID, emit)
}

// Abilities adapts a loader of runners of any type that satisfies Runner
// (ability.Loader.Runner, say) to an AbilityLoader.
func Abilities[R Runner](load func(models.Ability) (R, error)) AbilityLoader {
	return func(a models.Ability) (Runner, error) {
		r, err := load(a)
		if err != nil || any(r) == nil {
			return nil, err
		}
		return r, nil
	}
}
