// Package channel connects bots to outside platforms — Telegram and a
// generic signed webhook — through a durable pipeline:
//
//  1. receive: a platform's request is authenticated (Telegram's secret
//     token, the webhook's HMAC signature), recorded as an inbound event
//     with the job that processes it, in one transaction, and acknowledged
//     at once (the model is never called inside the platform's request); a
//     repeated delivery is counted, not processed again;
//  2. process (a job): under the external conversation's lock, the
//     thread's events are handled in the order they were received — each
//     text becomes a user message of the thread's conversation
//     (getOrCreateConversation) with the engine's idempotency key
//     "<integration>:<event id>", and a delivery waits in its place in the
//     thread; then the job waits for the answer (the turn service answers a
//     conversation's messages one at a time, in order) and queues the reply;
//  3. deliver (a job): a thread's replies go out one at a time, in order,
//     with retries (Telegram's retry_after pauses the whole bot), every
//     attempt recorded for the delivery audit.
//
// The Service owns these side effects; handlers only translate HTTP.
package channel

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"parley/app/config"
	"parley/app/engine"
	"parley/app/live"
	"parley/models"
	"parley/models/store"
)

// Options are the Service's collaborators and limits; all are required but
// PublicURL (without it Telegram cannot be set up) and Now.
type Options struct {
	Store  *store.Store
	Turns  *engine.Service
	Broker *live.Broker
	Logger *slog.Logger
	// Callbacks makes the generic webhook's callback requests: the SSRF
	// guard's client (ability.NewGuardedClient with PARLEY_FETCH_ALLOW).
	Callbacks *http.Client
	// Telegram calls the Bot API at TelegramAPIURL (an operator's setting,
	// so not guarded: tests point it at a fake on 127.0.0.1).
	Telegram       *http.Client
	TelegramAPIURL string
	// PublicURL is where platforms reach this server (PARLEY_PUBLIC_URL).
	PublicURL string
	// Limits are the channels' limits (config.DefaultChannels).
	Limits config.Channels
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the channels' pipeline: it receives platform requests,
// processes inbound events and delivers replies (it is app/jobs' Handler).
type Service struct {
	st        *store.Store
	turns     *engine.Service
	broker    *live.Broker
	log       *slog.Logger
	callbacks *http.Client
	tgHTTP    *http.Client
	tgURL     string
	publicURL string
	lim       config.Channels
	now       func() time.Time
}

// New makes the Service; it refuses missing collaborators.
func New(o Options) (*Service, error) {
	switch {
	case o.Store == nil, o.Turns == nil, o.Broker == nil, o.Logger == nil, o.Callbacks == nil, o.Telegram == nil:
		return nil, errors.New("channel: New needs a store, the turn service, a broker, a logger and the HTTP clients")
	case o.TelegramAPIURL == "":
		return nil, errors.New("channel: New needs the Telegram Bot API's URL")
	case o.Limits.EventWorkers <= 0 || o.Limits.DeliveryRetries <= 0 || o.Limits.RetryBase <= 0 || o.Limits.RetryMax <= 0 ||
		o.Limits.TypingEvery <= 0 || o.Limits.DraftEvery <= 0 || o.Limits.WaitSafetyNet <= 0 || o.Limits.BodyLimit <= 0:
		return nil, errors.New("channel: New needs the channels' limits (config.DefaultChannels)")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{st: o.Store, turns: o.Turns, broker: o.Broker, log: o.Logger, callbacks: o.Callbacks,
		tgHTTP: o.Telegram, tgURL: o.TelegramAPIURL, publicURL: strings.TrimRight(o.PublicURL, "/"), lim: o.Limits, now: o.Now}, nil
}

// BodyLimit is the largest request body a channel route reads.
func (s *Service) BodyLimit() int { return s.lim.BodyLimit }

// Receipt is what a platform's request is answered with.
type Receipt struct {
	// EventID is the inbound event recorded (or recorded before).
	EventID string
	// Status is the event's status (queued, ignored, processed…).
	Status string
	// Duplicate: the platform delivered this event before; nothing new
	// was stored or queued.
	Duplicate bool
	// Reply is the reply, for a webhook request made with ?wait=1.
	Reply *WaitedReply
}

// WaitedReply is a reply returned to a request that waited for it.
type WaitedReply struct {
	Kind           string
	Text           string
	DeliveryID     string
	ConversationID string
	MessageID      string
}

var errUnauthorized = models.Errorf(models.CodeUnauthorized, "The request is not signed with this integration's secret.")

// findIntegration returns the integration of a request of the given type.
func (s *Service) findIntegration(ctx context.Context, id, typ string) (*models.Integration, error) {
	it, err := s.st.FindIntegration(ctx, id)
	if err != nil {
		return nil, err
	}
	if it.Type != typ {
		return nil, models.Errorf(models.CodeNotFound, "Integration not found.")
	}
	return it, nil
}

// Recover puts a job back in the queue for every inbound event still being
// processed and every reply still to send, since the process that held
// their jobs may have stopped (a crash leaves River's job "running" until
// its rescue, much later). Work is idempotent, so a job that was not lost
// after all does no harm. Run it at start-up, after the turn service's.
func (s *Service) Recover(ctx context.Context) error {
	var events, deliveries int
	err := store.EachPage(recoverBatch, func(after string, n int) ([]models.InboundEvent, error) { return s.st.OpenEvents(ctx, after, n) },
		func(ev models.InboundEvent) string { return ev.ID },
		func(evs []models.InboundEvent) error {
			jobs := make([]store.Job, len(evs))
			for i, ev := range evs {
				jobs[i] = store.Job{Kind: store.JobEvent, ID: ev.ID}
				if ev.Wait {
					// A request may still wait for it (on another instance): its
					// safety net runs when it would have.
					jobs[i].At = ev.ReceivedAt.Add(s.lim.WaitSafetyNet)
				}
			}
			events += len(jobs)
			return s.st.Requeue(ctx, jobs...)
		})
	if err != nil {
		return err
	}
	err = store.EachPage(recoverBatch, func(after string, n int) ([]models.OutboundDelivery, error) {
		return s.st.PendingDeliveries(ctx, after, n)
	},
		func(d models.OutboundDelivery) string { return d.ID },
		func(ds []models.OutboundDelivery) error {
			jobs := make([]store.Job, len(ds))
			for i, d := range ds {
				jobs[i] = store.Job{Kind: store.JobDelivery, ID: d.ID}
				if d.NextAttemptAt != nil {
					jobs[i].At = *d.NextAttemptAt
				}
			}
			deliveries += len(jobs)
			return s.st.Requeue(ctx, jobs...)
		})
	if err != nil {
		return err
	}
	if events+deliveries > 0 {
		s.log.Info("channels: resumed work left by a stop", "events", events, "deliveries", deliveries)
	}
	return nil
}

// recoverBatch is how many events, then replies, Recover reads and
// requeues at a time.
const recoverBatch = 500

// threadLock names the lock of an external conversation's processing.
func threadLock(integrationID, key string) string { return "channel:" + integrationID + ":" + key }

// deliveryLock names the lock of an external conversation's replies.
func deliveryLock(integrationID, key string) string { return "delivery:" + integrationID + ":" + key }
