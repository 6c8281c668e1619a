// Package live carries a conversation's events to everyone watching it: tokens
// as a bot's answer streams, and each message as it is stored. In one process
// a Broker fans events out in memory; on PostgreSQL, Listen also relays
// stored messages between instances through LISTEN/NOTIFY, so two tabs on two
// instances both see a new message.
package live

import (
	"sync"
)

// Event types.
const (
	EventToken   = "token"   // a piece of an answer being streamed (this instance only)
	EventMessage = "message" // a message was stored or changed
	EventDeleted = "deleted" // a message was deleted
	EventTurn    = "turn"    // a turn started or finished
)

// Event is one thing that happened in a conversation.
type Event struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversationId"`
	// MessageID is set for message and deleted events; watchers load the message.
	MessageID string `json:"messageId,omitempty"`
	// Token is set for token events.
	Token string `json:"token,omitempty"`
	// TurnID and Status are set for turn events (and TurnID for the others a turn produced).
	TurnID string `json:"turnId,omitempty"`
	Status string `json:"status,omitempty"`
}

// subscriberBuffer is how many events a slow watcher may lag before it is
// dropped (it reconnects and reloads the timeline).
const subscriberBuffer = 256

// Broker fans events out to the watchers of each conversation.
type Broker struct {
	mu   sync.Mutex
	subs map[string]map[chan Event]struct{}
	// relay, when set, also sends message events to other instances.
	relay func(Event)
}

// NewBroker makes an in-memory broker.
func NewBroker() *Broker { return &Broker{subs: map[string]map[chan Event]struct{}{}} }

// Subscribe watches a conversation; call the returned cancel when done. The
// channel is closed when the watcher falls too far behind.
func (b *Broker) Subscribe(conversationID string) (<-chan Event, func()) {
	ch := make(chan Event, subscriberBuffer)
	b.mu.Lock()
	if b.subs[conversationID] == nil {
		b.subs[conversationID] = map[chan Event]struct{}{}
	}
	b.subs[conversationID][ch] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if _, ok := b.subs[conversationID][ch]; ok {
				delete(b.subs[conversationID], ch)
				close(ch)
			}
			if len(b.subs[conversationID]) == 0 {
				delete(b.subs, conversationID)
			}
		})
	}
}

// Publish delivers an event to this instance's watchers and, for all but
// tokens (too many, and only the answering instance streams them), to other
// instances.
func (b *Broker) Publish(ev Event) {
	b.deliver(ev)
	b.mu.Lock()
	relay := b.relay
	b.mu.Unlock()
	if ev.Type != EventToken && relay != nil {
		relay(ev)
	}
}

// deliver sends to local watchers without blocking; a watcher whose buffer is
// full is dropped.
func (b *Broker) deliver(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[ev.ConversationID] {
		select {
		case ch <- ev:
		default:
			delete(b.subs[ev.ConversationID], ch)
			close(ch)
		}
	}
}

// Total counts every watcher of every conversation (live streams, for metrics).
func (b *Broker) Total() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, subs := range b.subs {
		n += len(subs)
	}
	return n
}

// Watchers counts the watchers of a conversation (for tests and metrics).
func (b *Broker) Watchers(conversationID string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs[conversationID])
}
