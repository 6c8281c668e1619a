package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"parley/app/live"
	"parley/models"
	"parley/models/store"
)

// Publisher carries live events to whoever watches a conversation (live.Broker).
type Publisher interface {
	Publish(live.Event)
}

// ServiceOptions are a Service's collaborators and its one time limit; all
// are required.
type ServiceOptions struct {
	Engine *Engine
	Store  *store.Store
	Broker Publisher
	Logger *slog.Logger
	// TurnTimeout bounds one turn, whoever waits for it (config.Timeouts.Turn).
	TurnTimeout time.Duration
}

// Service runs turns for every caller — the workbench, the API, channels and
// the QA runner — and owns what they must not forget: turns run detached from
// the request that asked (a closed tab or connection does not cancel them),
// bounded by the turn timeout, under a context that shutdown waits for; every
// event (stored messages, streamed tokens, turns starting and finishing, and
// messages written or deleted outside a turn) is published to live views.
type Service struct {
	engine  *Engine
	store   *store.Store
	broker  Publisher
	log     *slog.Logger
	timeout time.Duration

	base     context.Context
	cancel   context.CancelFunc
	running  sync.WaitGroup
	stopping atomic.Bool
}

// NewService makes the turn service; it refuses missing collaborators.
func NewService(o ServiceOptions) (*Service, error) {
	switch {
	case o.Engine == nil:
		return nil, errors.New("engine: service needs an engine")
	case o.Store == nil:
		return nil, errors.New("engine: service needs a store")
	case o.Broker == nil:
		return nil, errors.New("engine: service needs a broker")
	case o.Logger == nil:
		return nil, errors.New("engine: service needs a logger")
	case o.TurnTimeout <= 0:
		return nil, errors.New("engine: service needs a turn timeout")
	}
	s := &Service{engine: o.Engine, store: o.Store, broker: o.Broker, log: o.Logger, timeout: o.TurnTimeout}
	s.base, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Engine returns the pipeline the service runs.
func (s *Service) Engine() *Engine { return s.engine }

// errStopping refuses new turns while the server shuts down.
var errStopping = models.Errorf(models.CodeUnavailable, "Parley is restarting: try again in a few seconds.")

// Post stores a user message and answers it in the background: when Post
// returns the message is stored (accepted) and the answer follows as live
// events. A message posted again with the same ExternalID is not stored or
// answered again.
func (s *Service) Post(ctx context.Context, convID string, in Input) (*Posted, error) {
	if s.stopping.Load() {
		return nil, errStopping
	}
	p, err := s.engine.Post(ctx, convID, in, true)
	if err != nil {
		return nil, err
	}
	if !p.Duplicate {
		s.publish(Event{Type: EventMessage, ConversationID: convID, Message: p.Message})
	}
	if p.Turn != nil && !p.Turn.Finished() {
		s.spawnPosted(p, nil)
	}
	return p, nil
}

// Send stores a user message without answering it (the API's send).
func (s *Service) Send(ctx context.Context, convID string, in Input) (*Posted, error) {
	p, err := s.engine.Post(ctx, convID, in, false)
	if err != nil {
		return nil, err
	}
	if !p.Duplicate {
		s.publish(Event{Type: EventMessage, ConversationID: convID, Message: p.Message})
	}
	return p, nil
}

// Complete stores a user message and waits for its answer; emit (may be nil)
// receives the turn's events as they happen. A message posted before with
// the same ExternalID gets the answer it got then (or is waited for).
func (s *Service) Complete(ctx context.Context, convID string, in Input, emit func(Event)) (*Result, error) {
	if s.stopping.Load() {
		return nil, errStopping
	}
	p, err := s.engine.Post(ctx, convID, in, true)
	if err != nil {
		return nil, err
	}
	if !p.Duplicate {
		ev := Event{Type: EventMessage, ConversationID: convID, Message: p.Message}
		s.publish(ev)
		if emit != nil {
			emit(ev)
		}
	}
	return s.wait(ctx, s.spawnPosted(p, emit))
}

// Retry answers the conversation's last user message again in the background
// (the earlier answer stays). Errors (before anything runs): invalid (no user
// message yet), not_found.
func (s *Service) Retry(ctx context.Context, convID string) (*models.Turn, error) {
	if s.stopping.Load() {
		return nil, errStopping
	}
	t, err := s.engine.Queue(ctx, convID, true)
	if err != nil {
		return nil, err
	}
	s.spawn(t.ID, nil)
	return t, nil
}

// Await waits for a queued turn's answer (answering it if nobody does yet).
func (s *Service) Await(ctx context.Context, turnID string) (*Result, error) {
	return s.wait(ctx, s.spawn(turnID, nil))
}

// Receive answers the conversation's last user message, if not answered yet,
// and waits for the answer (the API's receive).
func (s *Service) Receive(ctx context.Context, convID string, emit func(Event)) (*Result, error) {
	if s.stopping.Load() {
		return nil, errStopping
	}
	t, err := s.engine.Queue(ctx, convID, false)
	if err != nil {
		return nil, err
	}
	return s.wait(ctx, s.spawn(t.ID, emit))
}

// Stateless answers a history that is stored nowhere, and waits for it.
func (s *Service) Stateless(ctx context.Context, in Stateless, emit func(Event)) (*Result, error) {
	if s.stopping.Load() {
		return nil, errStopping
	}
	ch := make(chan outcome, 1)
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		tctx, cancel := context.WithTimeout(s.base, s.timeout)
		defer cancel()
		res, err := s.engine.Complete(tctx, in, func(ev Event) {
			if emit != nil {
				emit(ev)
			}
		})
		ch <- outcome{res, err}
	}()
	return s.wait(ctx, ch)
}

type outcome struct {
	res *Result
	err error
}

// spawn answers a turn in the background, publishing every event; emit (may
// be nil) also receives the events of that turn.
func (s *Service) spawn(turnID string, emit func(Event)) <-chan outcome {
	return s.background(turnID, emit, func(ctx context.Context, ev func(Event)) (*Result, error) {
		return s.engine.Answer(ctx, turnID, ev)
	})
}

// spawnPosted is spawn for a message Post just stored.
func (s *Service) spawnPosted(p *Posted, emit func(Event)) <-chan outcome {
	return s.background(p.Turn.ID, emit, func(ctx context.Context, ev func(Event)) (*Result, error) {
		return s.engine.AnswerPosted(ctx, p, ev)
	})
}

// background runs answer detached from the caller, bounded by the turn
// timeout and waited for on shutdown, publishing every event; emit also
// gets those of turn turnID.
func (s *Service) background(turnID string, emit func(Event), answer func(context.Context, func(Event)) (*Result, error)) <-chan outcome {
	ch := make(chan outcome, 1)
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		ctx, cancel := context.WithTimeout(s.base, s.timeout)
		defer cancel()
		drafts := map[string]bool{}
		res, err := answer(ctx, func(ev Event) {
			if !ev.Draft {
				s.publish(ev)
			}
			if emit == nil || ev.TurnID != turnID {
				return
			}
			if ev.Type == EventMessage && ev.Message != nil {
				// The caller saw the draft: the same message stored is not news.
				if ev.Draft {
					drafts[ev.Message.ID] = true
				} else if drafts[ev.Message.ID] {
					return
				}
			}
			emit(ev)
		})
		if err != nil && models.ErrorCode(err) == models.CodeInternal {
			s.log.Error("turn failed", "turn_id", turnID, "error", err)
		}
		ch <- outcome{res, err}
	}()
	return ch
}

// wait waits for a turn's outcome, or for the caller to give up (the turn
// goes on: its answer appears in the conversation).
func (s *Service) wait(ctx context.Context, ch <-chan outcome) (*Result, error) {
	select {
	case o := <-ch:
		return o.res, o.err
	case <-ctx.Done():
		return nil, models.Errorf(models.CodeUnavailable, "Stopped waiting: the answer will appear in the conversation.")
	}
}

// publish tells live views of an event.
func (s *Service) publish(ev Event) {
	le := live.Event{Type: ev.Type, ConversationID: ev.ConversationID, TurnID: ev.TurnID}
	switch ev.Type {
	case EventToken:
		le.Token = ev.Token
	case EventMessage:
		if ev.Message == nil {
			return
		}
		le.MessageID = ev.Message.ID
	case EventDeleted:
		le.MessageID = ev.MessageID
	case EventTurn:
		if ev.Turn == nil {
			return
		}
		le.Status = ev.Turn.Status
	}
	if le.ConversationID == "" {
		return // stateless: nobody watches
	}
	s.broker.Publish(le)
}

// Recover closes the turns a stopped process left behind (see
// Engine.Recover) and tells live views; run it at start-up.
func (s *Service) Recover(ctx context.Context) error {
	msgs, err := s.engine.Recover(ctx, time.Minute)
	for i := range msgs {
		s.publish(Event{Type: EventMessage, ConversationID: msgs[i].ConversationID, TurnID: models.Deref(msgs[i].TurnID), Message: &msgs[i]})
	}
	if len(msgs) > 0 {
		s.log.Warn("closed turns interrupted by a stop", "count", len(msgs))
	}
	return err
}

// Shutdown refuses new turns and waits for running ones to finish (their
// user messages are stored; they have until ctx ends), then cancels the rest.
func (s *Service) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	done := make(chan struct{})
	go func() { s.running.Wait(); close(done) }()
	defer s.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("engine: shutdown: turns still running when the grace period ended")
	}
}

// ---- writes outside a turn ----

// CreateMessage stores a message written directly (the API's message/create)
// and publishes it; a user message is redacted first when the conversation
// has privacy on.
func (s *Service) CreateMessage(ctx context.Context, m models.Message) (*models.Message, error) {
	return s.write(ctx, m, s.store.CreateMessage)
}

// UpdateMessage saves a message's type, text and meta and publishes it; a
// user message is redacted first when the conversation has privacy on.
func (s *Service) UpdateMessage(ctx context.Context, m models.Message) (*models.Message, error) {
	return s.write(ctx, m, s.store.UpdateMessage)
}

// write redacts (privacy on), stores with save and publishes a message
// written outside a turn.
func (s *Service) write(ctx context.Context, m models.Message, save func(context.Context, models.Message) (*models.Message, error)) (*models.Message, error) {
	m, err := s.engine.privateMessage(ctx, m)
	if err != nil {
		return nil, err
	}
	out, err := save(ctx, m)
	if err != nil {
		return nil, err
	}
	s.publish(Event{Type: EventMessage, ConversationID: out.ConversationID, Message: out})
	return out, nil
}

// DeleteMessage deletes a message and tells live views to drop it.
func (s *Service) DeleteMessage(ctx context.Context, convID, id string) error {
	if err := s.store.DeleteMessage(ctx, convID, id); err != nil {
		return err
	}
	s.publish(Event{Type: EventDeleted, ConversationID: convID, MessageID: id})
	return nil
}

// Changed tells live views that a stored message changed (a new rating, say).
func (s *Service) Changed(m *models.Message) {
	s.publish(Event{Type: EventMessage, ConversationID: m.ConversationID, Message: m})
}
