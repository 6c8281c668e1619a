package channel

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"parley/app/channel/telegram"
	"parley/app/engine"
	"parley/app/live"
	"parley/models"
	"parley/models/store"
)

// What the channels answer by themselves.
const (
	// RefusalText answers a Telegram user who is not in allowFrom.
	RefusalText = "Sorry, this bot only talks to the people it was set up for."
	// NewConversationText answers /new.
	NewConversationText = "Started a new conversation: earlier messages are not part of it."
	// SorryText replaces an answer the bot could not give.
	SorryText = "Sorry, I could not answer that just now. Please try again in a moment."
)

// ProcessEvent processes an inbound event: the event job (see the package
// doc). It is idempotent: run again (a retried or duplicated job, a restart)
// it stores nothing twice and queues one reply.
func (s *Service) ProcessEvent(ctx context.Context, eventID string) error {
	_, err := s.process(ctx, eventID, false)
	return err
}

// process processes an event and returns its delivery (nil: no reply);
// returned says the reply goes back to the request that waits for it.
func (s *Service) process(ctx context.Context, eventID string, returned bool) (*models.OutboundDelivery, error) {
	ev, err := s.st.FindEvent(ctx, eventID)
	if models.ErrorCode(err) == models.CodeNotFound {
		return nil, nil // deleted with its integration
	}
	if err != nil {
		return nil, err
	}
	if ev.Finished() {
		return s.eventDelivery(ctx, ev.ID)
	}
	it, err := s.st.FindIntegration(ctx, ev.IntegrationID)
	if models.ErrorCode(err) == models.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sub *tokens
	if ev.UserMessageID == nil {
		if sub, err = s.handleThread(ctx, it, ev, returned); err != nil {
			return nil, err
		}
		if ev, err = s.st.FindEvent(ctx, eventID); err != nil {
			sub.close()
			return nil, err
		}
		if ev.Finished() {
			sub.close()
			return s.eventDelivery(ctx, ev.ID)
		}
	}
	return s.answer(ctx, it, ev, sub, returned)
}

func (s *Service) eventDelivery(ctx context.Context, eventID string) (*models.OutboundDelivery, error) {
	d, err := s.st.FindEventDelivery(ctx, eventID)
	if models.ErrorCode(err) == models.CodeNotFound {
		return nil, nil
	}
	return d, err
}

// handleThread handles, under the lock of ev's external conversation, the
// thread's events not handled yet that were received up to ev, oldest
// first: so messages reach the conversation in the order they arrived,
// whichever job runs first. It returns the token subscription of ev's
// answer when it streams.
func (s *Service) handleThread(ctx context.Context, it *models.Integration, ev *models.InboundEvent, returned bool) (*tokens, error) {
	unlock, err := s.st.Lock(ctx, threadLock(it.ID, ev.ExternalKey))
	if err != nil {
		return nil, err
	}
	defer unlock()
	const batch = 50
	var sub *tokens
	for {
		evs, err := s.st.UnpostedEvents(ctx, it.ID, ev.ExternalKey, ev.ID, batch)
		if err != nil {
			sub.close()
			return nil, err
		}
		for i := range evs {
			own := evs[i].ID == ev.ID
			got, err := s.handle(ctx, it, &evs[i], own, own && returned)
			if err != nil {
				sub.close()
				return nil, err
			}
			if own {
				sub = got
			}
		}
		if len(evs) < batch {
			return sub, nil
		}
	}
}

// handle is an event's first step, under its thread's lock: a refusal,
// /start's greeting, /new's notice, or the user message posted (its answer
// queued) with its delivery waiting in the thread's order.
func (s *Service) handle(ctx context.Context, it *models.Integration, ev *models.InboundEvent, own, returned bool) (*tokens, error) {
	step := func(st store.EventStep) error {
		_, _, err := s.st.RecordEventStep(ctx, ev.ID, st)
		return err
	}
	reply := func(kind, text string) *store.Reply { return &store.Reply{Kind: kind, Text: text, Returned: returned} }
	fail := func(why string) error {
		s.log.Warn("channel event failed", "integration_id", it.ID, "event_id", ev.ID, "reason", why)
		return step(store.EventStep{Status: models.EventFailed, Reason: why, Reply: reply(models.DeliveryError, SorryText)})
	}
	if it.Type == models.IntegrationTelegram {
		allow, _ := models.ParseAllowFrom(it.Telegram.AllowFrom) // validated when saved
		if !allow.Allows(ev.Sender.UserID, ev.Sender.Nick) {
			return nil, step(store.EventStep{Status: models.EventRejected,
				Reason: "the sender (" + senderName(ev) + ") is not in allowFrom", Reply: reply(models.DeliveryRefusal, RefusalText)})
		}
	}
	contactID, err := s.contact(ctx, it, ev)
	if err != nil {
		return nil, err
	}
	in := store.ThreadInput{IntegrationID: it.ID, ExternalKey: ev.ExternalKey, ContactID: contactID, At: ev.ReceivedAt, Name: conversationName(it, ev)}
	get := s.st.GetOrCreateConversation
	if ev.Command == CommandNew {
		get = s.st.CreateChannelConversation
	}
	tc, err := get(ctx, in)
	if models.ErrorCode(err) == models.CodeInvalid {
		return nil, fail(models.ErrorMessage(err))
	}
	if err != nil {
		return nil, err
	}
	convID := tc.Conversation.ID
	switch ev.Command {
	case CommandStart:
		text := intro(it)
		msg, err := s.turns.CreateMessage(ctx, models.Message{ConversationID: convID, Type: models.MessageBot, Text: text,
			Meta: models.Meta{"channel": "greeting"}})
		if err != nil {
			return nil, err
		}
		return nil, step(store.EventStep{Status: models.EventProcessed, ConversationID: convID, BotMessageID: msg.ID,
			Reply: reply(models.DeliveryGreeting, text)})
	case CommandNew:
		return nil, step(store.EventStep{Status: models.EventProcessed, ConversationID: convID,
			Reply: reply(models.DeliveryNotice, NewConversationText)})
	}
	var sub *tokens
	if own && s.streams(it, ev) {
		// Subscribed before the message is posted, so no token of its
		// answer is missed.
		ch, cancel := s.broker.Subscribe(convID)
		sub = &tokens{ch: ch, cancel: cancel}
	}
	p, err := s.turns.Post(ctx, convID, engine.Input{Text: ev.Text, ExternalID: it.ID + ":" + ev.ExternalID})
	if models.ErrorCode(err) == models.CodeInvalid {
		sub.close()
		return nil, fail(models.ErrorMessage(err))
	}
	if err != nil {
		sub.close()
		return nil, err
	}
	err = step(store.EventStep{ConversationID: convID, UserMessageID: p.Message.ID, TurnID: p.Turn.ID,
		Reply: &store.Reply{Kind: models.DeliveryReply, Waiting: true}})
	if err != nil {
		sub.close()
		return nil, err
	}
	return sub, nil
}

// contact ensures the event's sender as a contact (nil: the sender is unknown).
func (s *Service) contact(ctx context.Context, it *models.Integration, ev *models.InboundEvent) (*string, error) {
	if ev.Sender.Fingerprint == "" {
		return nil, nil
	}
	c := models.Contact{Fingerprint: ev.Sender.Fingerprint}
	if it.Type != models.IntegrationTelegram || it.Telegram.ContactCollection {
		c.Name, c.Nick, c.Email, c.Phone = ev.Sender.Name, ev.Sender.Nick, ev.Sender.Email, ev.Sender.Phone
	}
	out, _, err := s.st.EnsureContact(ctx, c)
	if models.ErrorCode(err) == models.CodeInvalid {
		s.log.Warn("channel contact not kept", "integration_id", it.ID, "event_id", ev.ID, "error", models.ErrorMessage(err))
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.ID, nil
}

func senderName(ev *models.InboundEvent) string {
	switch {
	case ev.Sender.Nick != "":
		return "@" + ev.Sender.Nick
	case ev.Sender.UserID != 0:
		return strconv.FormatInt(ev.Sender.UserID, 10)
	}
	return "unknown"
}

// conversationName names a channel conversation for the conversation list.
func conversationName(it *models.Integration, ev *models.InboundEvent) string {
	who := ev.Sender.Name
	if who == "" {
		who = ev.ExternalKey
	}
	if it.Type == models.IntegrationTelegram {
		return "Telegram: " + who
	}
	return "Webhook: " + who
}

// intro is what /start answers.
func intro(it *models.Integration) string {
	if t := strings.TrimSpace(it.Telegram.Intro); t != "" {
		return t
	}
	name := "a bot"
	if it.Bot != nil && it.Bot.Name != "" {
		name = it.Bot.Name
	}
	return fmt.Sprintf("Hello! I'm %s. Send me a message and I will answer.", name)
}

// answer waits for the answer of an event's message and queues its reply:
// a turn that did not end with an answer (interrupted by a stop, or failed)
// is answered once more; then the reply says the bot could not answer.
func (s *Service) answer(ctx context.Context, it *models.Integration, ev *models.InboundEvent, sub *tokens, returned bool) (*models.OutboundDelivery, error) {
	defer sub.close()
	gone := func() (*models.OutboundDelivery, error) {
		_, d, err := s.st.RecordEventStep(ctx, ev.ID, store.EventStep{Status: models.EventFailed,
			Reason: "the conversation was deleted before the bot answered", Reply: &store.Reply{Kind: models.DeliveryError, Text: SorryText, Returned: returned}})
		return d, err
	}
	for {
		turnID := models.Deref(ev.TurnID)
		res, err := s.await(ctx, it, ev, turnID, sub)
		if models.ErrorCode(err) == models.CodeNotFound {
			return gone()
		}
		if err != nil {
			return nil, err
		}
		sub.close() // a second turn streams no draft
		if res.Turn.Status == models.TurnDone && res.Bot != nil {
			_, d, err := s.st.RecordEventStep(ctx, ev.ID, store.EventStep{Status: models.EventProcessed, BotMessageID: res.Bot.ID,
				Reply: &store.Reply{Kind: models.DeliveryReply, Text: res.Bot.Text, Returned: returned}})
			return d, err
		}
		if !res.Turn.Retry {
			next, err := s.reanswer(ctx, it, ev, turnID)
			if models.ErrorCode(err) == models.CodeNotFound {
				return gone()
			}
			if err != nil {
				return nil, err
			}
			ev = next
			if ev.Finished() {
				return s.eventDelivery(ctx, ev.ID)
			}
			continue
		}
		why := "the bot could not answer"
		if res.Turn.Error != "" {
			why += ": " + res.Turn.Error
		}
		_, d, err := s.st.RecordEventStep(ctx, ev.ID, store.EventStep{Status: models.EventFailed, Reason: why,
			Reply: &store.Reply{Kind: models.DeliveryError, Text: SorryText, Returned: returned}})
		return d, err
	}
}

// reanswer queues a second turn for an event's message whose turn turnID
// ended without an answer, unless another worker did so already.
func (s *Service) reanswer(ctx context.Context, it *models.Integration, ev *models.InboundEvent, turnID string) (*models.InboundEvent, error) {
	unlock, err := s.st.Lock(ctx, threadLock(it.ID, ev.ExternalKey))
	if err != nil {
		return nil, err
	}
	defer unlock()
	cur, err := s.st.FindEvent(ctx, ev.ID)
	if err != nil {
		return nil, err
	}
	if cur.Finished() || models.Deref(cur.TurnID) != turnID {
		return cur, nil
	}
	t, err := s.st.QueueTurn(ctx, models.Deref(cur.ConversationID), models.Deref(cur.UserMessageID), true)
	if err != nil {
		return nil, err
	}
	s.log.Info("channel event answered again", "integration_id", it.ID, "event_id", ev.ID, "turn_id", t.ID)
	next, _, err := s.st.RecordEventStep(ctx, ev.ID, store.EventStep{TurnID: t.ID})
	return next, err
}

// await waits for a turn's answer, showing Telegram's "typing…" meanwhile
// and, when the integration streams, the answer's draft as it is written.
func (s *Service) await(ctx context.Context, it *models.Integration, ev *models.InboundEvent, turnID string, sub *tokens) (*engine.Result, error) {
	var wg sync.WaitGroup
	actx, stop := context.WithCancel(ctx)
	defer func() { stop(); wg.Wait() }()
	if it.Type == models.IntegrationTelegram {
		if client, chat, topic, err := s.telegramFor(ctx, it, ev.ChatID, ev.TopicID); err == nil {
			// The first "typing…" goes out before waiting, so even a quick
			// answer shows it (the answer is being written meanwhile).
			tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			if err := client.SendChatAction(tctx, chat, topic, telegram.ActionTyping); err != nil {
				s.log.Debug("telegram typing", "error", err)
			}
			cancel()
			wg.Add(1)
			go func() { defer wg.Done(); s.typing(actx, client, chat, topic) }()
			if sub != nil {
				wg.Add(1)
				go func() { defer wg.Done(); s.draft(actx, client, chat, topic, turnID, sub) }()
			}
		}
	}
	return s.turns.Await(ctx, turnID)
}

// typing refreshes "typing…" before it fades, until ctx ends.
func (s *Service) typing(ctx context.Context, client *telegram.Client, chat int64, topic int) {
	tick := time.NewTicker(s.lim.TypingEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := client.SendChatAction(ctx, chat, topic, telegram.ActionTyping); err != nil && ctx.Err() == nil {
			s.log.Debug("telegram typing", "error", err)
		}
	}
}

// tokens is a subscription to a conversation's live events, for drafts.
type tokens struct {
	ch     <-chan live.Event
	cancel func()
}

func (t *tokens) close() {
	if t != nil {
		t.cancel()
	}
}

// streams reports whether an event's answer is shown as it is written:
// sendMessageDraft exists in private chats only.
func (s *Service) streams(it *models.Integration, ev *models.InboundEvent) bool {
	return it.Type == models.IntegrationTelegram && it.Telegram.Stream && ev.ChatType == telegram.ChatPrivate
}

// draft shows the answer of turnID as it streams (sendMessageDraft), at most
// every DraftEvery, until ctx ends; the reply itself follows as a message.
func (s *Service) draft(ctx context.Context, client *telegram.Client, chat int64, topic int, turnID string, sub *tokens) {
	h := fnv.New32a()
	h.Write([]byte(turnID))
	draftID := int(h.Sum32()&0x7fffffff) | 1
	var (
		text strings.Builder
		last time.Time
		sent int
	)
	flush := func() {
		if text.Len() == sent || strings.TrimSpace(text.String()) == "" {
			return
		}
		parts := telegram.Split(telegram.FormatHTML(text.String()), telegram.MaxMessageLength)
		if len(parts) == 0 {
			return
		}
		if err := client.SendMessageDraft(ctx, chat, topic, draftID, parts[0], telegram.ParseModeHTML); err != nil && ctx.Err() == nil {
			s.log.Debug("telegram draft", "error", err)
		}
		sent, last = text.Len(), time.Now()
	}
	tick := time.NewTicker(s.lim.DraftEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.ch:
			if !ok {
				return
			}
			if ev.Type == live.EventToken && ev.TurnID == turnID {
				text.WriteString(ev.Token)
				if time.Since(last) >= s.lim.DraftEvery {
					flush()
				}
			}
		case <-tick.C:
			flush()
		}
	}
}
