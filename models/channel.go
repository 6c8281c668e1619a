package models

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Integration types: the platforms a bot can be connected to.
const (
	IntegrationTelegram = "telegram"
	IntegrationWebhook  = "webhook"
)

// IntegrationTypes lists every integration type, for forms and validation.
var IntegrationTypes = []string{IntegrationTelegram, IntegrationWebhook, IntegrationWidget}

// Channel limits.
const (
	// MaxSessionDuration bounds an integration's session duration (a year, in ms).
	MaxSessionDuration = int64(365 * 24 * time.Hour / time.Millisecond)
	// MaxEventPayload bounds the raw payload an inbound event keeps (the
	// typed fields are always kept whole).
	MaxEventPayload = 64 << 10
	// MaxExternalID bounds external ids and conversation keys.
	MaxExternalID = 200
	// MaxBotTokenLength bounds a Telegram bot token.
	MaxBotTokenLength = 200
	// MaxAllowFrom bounds the entries of a Telegram allowFrom list.
	MaxAllowFrom = 1000
	// MaxResponseExcerpt bounds the response body a delivery attempt keeps.
	MaxResponseExcerpt = 1 << 10
)

// Integration connects a bot to an outside platform. Its settings are typed
// per platform (Telegram, Webhook); its secrets are kept only encrypted and
// never shown again once saved: the Telegram bot token and webhook
// secret_token, and the webhook signing secret.
type Integration struct {
	ID          string  `json:"id" gorm:"primaryKey;size:36"`
	Type        string  `json:"type" gorm:"size:20;not null" validate:"required,oneof=telegram webhook widget"`
	Name        string  `json:"name" gorm:"size:200;not null" validate:"max=200"`
	Description string  `json:"description" gorm:"type:text;not null" validate:"max=4000"`
	BotID       *string `json:"botId,omitempty" gorm:"size:36" validate:"required"`
	Meta        Meta    `json:"meta"`
	// SessionDuration is ChatBotKit's sessionDuration, in milliseconds: a
	// message after that much inactivity starts a new conversation for the
	// same external conversation (0: never).
	SessionDuration int64            `json:"sessionDuration" gorm:"not null" validate:"min=0"`
	Telegram        TelegramSettings `json:"telegram" gorm:"embedded;embeddedPrefix:telegram_"`
	Webhook         WebhookSettings  `json:"webhook" gorm:"embedded;embeddedPrefix:webhook_"`
	Widget          WidgetSettings   `json:"widget" gorm:"embedded;embeddedPrefix:widget_"`
	// BotTokenEnc is the Telegram bot token, sealed with the store's box.
	BotTokenEnc *string `json:"-" gorm:"type:text"`
	// SecretTokenEnc is the secret_token Telegram sends back with every
	// update (set by setup), sealed.
	SecretTokenEnc *string `json:"-" gorm:"type:text"`
	// SigningSecretEnc is the generic webhook's HMAC signing secret, sealed.
	SigningSecretEnc *string `json:"-" gorm:"type:text"`
	// IdentitySecretEnc is the widget's identity secret (HMAC key of signed
	// user ids), sealed.
	IdentitySecretEnc *string `json:"-" gorm:"type:text"`
	// PausedUntil is when the platform allows sending again (Telegram's
	// retry_after): every delivery of the integration waits until then.
	PausedUntil *time.Time `json:"pausedUntil,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	Bot         *Bot       `json:"-" gorm:"foreignKey:BotID"`
}

// TelegramSettings are a Telegram integration's settings, as ChatBotKit
// names them, and what setup learned from Telegram.
type TelegramSettings struct {
	// ContactCollection keeps the sender's name and username on their
	// contact (off: the contact keeps only its fingerprint, the Telegram id).
	ContactCollection bool `json:"contactCollection" gorm:"not null"`
	// AllowFrom lists who may talk to the bot (@username or numeric user
	// ids, separated by commas or new lines); empty: everyone. Others get a
	// short refusal.
	AllowFrom string `json:"allowFrom" gorm:"type:text;not null" validate:"max=20000"`
	// Stream shows the answer as it is written (sendMessageDraft) in
	// private chats, before the final message.
	Stream bool `json:"stream" gorm:"not null"`
	// Intro is what /start answers (empty: a greeting naming the bot).
	Intro string `json:"intro" gorm:"type:text;not null" validate:"max=4000"`
	// Username and UserID are the Telegram bot's, from getMe at setup.
	Username string `json:"username" gorm:"size:100;not null"`
	UserID   int64  `json:"userId" gorm:"not null"`
	// WebhookURL is where setup pointed Telegram's webhook.
	WebhookURL string     `json:"webhookUrl" gorm:"size:2000;not null"`
	SetupAt    *time.Time `json:"setupAt,omitempty"`
}

// WebhookSettings are a generic webhook integration's settings.
type WebhookSettings struct {
	// CallbackURL receives the bot's replies, signed (empty: replies are
	// only returned to requests made with ?wait=1).
	CallbackURL string `json:"callbackUrl" gorm:"size:2000;not null" validate:"max=2000"`
}

// IntegrationSecrets are an integration's secrets in the clear, for the
// channel code that must use them; they are never shown or logged.
type IntegrationSecrets struct {
	BotToken      string
	SecretToken   string
	SigningSecret string
	// IdentitySecret signs a widget's user ids.
	IdentitySecret string
}

var telegramTokenRE = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{20,150}$`)

// ValidBotToken reports whether s has the shape of a Telegram bot token
// ("123456:ABC-…"), so a typo is caught before Telegram is asked.
func ValidBotToken(s string) bool { return telegramTokenRE.MatchString(s) }

// Validate checks the integration's fields; messages are keyed by their
// JSON names (settings by their own: "allowFrom", "callbackUrl").
func (in *Integration) Validate() error {
	fields := map[string]string{}
	for k, v := range ErrorFields(Validate(in)) {
		fields[k] = v
	}
	if in.SessionDuration > MaxSessionDuration {
		fields["sessionDuration"] = fmt.Sprintf("Session duration must be at most %d ms (a year).", MaxSessionDuration)
	}
	if in.Type == IntegrationTelegram {
		if _, err := ParseAllowFrom(in.Telegram.AllowFrom); err != nil {
			fields["allowFrom"] = ErrorMessage(err)
		}
	}
	if in.Type == IntegrationWidget {
		checkWidget(in.Widget, fields)
	}
	if u := in.Webhook.CallbackURL; u != "" {
		if msg := checkCallbackURL(u); msg != "" {
			fields["callbackUrl"] = msg
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: summary(fields), Fields: fields}
}

func checkCallbackURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return "Callback URL must be an absolute http or https URL without credentials, like https://example.com/parley."
	}
	return ""
}

// IntegrationFilter narrows an integration listing.
type IntegrationFilter struct {
	Page
	Type  string
	BotID string
}

// AllowList is a parsed Telegram allowFrom: who may talk to a bot.
type AllowList struct {
	Usernames map[string]bool // lower-case, without the @
	IDs       map[int64]bool
}

// Empty reports whether the list allows everyone.
func (a AllowList) Empty() bool { return len(a.Usernames) == 0 && len(a.IDs) == 0 }

// Allows reports whether the user with this id and username may talk to the bot.
func (a AllowList) Allows(id int64, username string) bool {
	if a.Empty() {
		return true
	}
	return a.IDs[id] || (username != "" && a.Usernames[strings.ToLower(username)])
}

var tgUsernameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)

// ParseAllowFrom parses a comma or newline separated list of @usernames and
// numeric user ids; a malformed entry is an invalid error that names it.
func ParseAllowFrom(s string) (AllowList, error) {
	out := AllowList{Usernames: map[string]bool{}, IDs: map[int64]bool{}}
	entries := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	n := 0
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		n++
		if n > MaxAllowFrom {
			return out, Errorf(CodeInvalid, "Allow from may list at most %d users.", MaxAllowFrom)
		}
		if id, err := strconv.ParseInt(e, 10, 64); err == nil {
			out.IDs[id] = true
			continue
		}
		name := strings.TrimPrefix(e, "@")
		if !tgUsernameRE.MatchString(name) {
			return out, Errorf(CodeInvalid, "Allow from: %q is neither an @username nor a numeric user id.", e)
		}
		out.Usernames[strings.ToLower(name)] = true
	}
	return out, nil
}

// Contact is the end user behind channel conversations (ChatBotKit's
// contact): a fingerprint that identifies them on their platform (a Telegram
// user id, a webhook sender's id) and what is known of them.
type Contact struct {
	ID          string    `json:"id" gorm:"primaryKey;size:36"`
	Fingerprint string    `json:"fingerprint" gorm:"size:200;not null;uniqueIndex" validate:"required,max=200"`
	Name        string    `json:"name" gorm:"size:200;not null" validate:"max=200"`
	Description string    `json:"description" gorm:"type:text;not null" validate:"max=4000"`
	Nick        string    `json:"nick" gorm:"size:100;not null" validate:"max=100"`
	Email       string    `json:"email" gorm:"size:254;not null" validate:"omitempty,email,max=254"`
	Phone       string    `json:"phone" gorm:"size:50;not null" validate:"max=50"`
	Meta        Meta      `json:"meta"`
	FirstSeenAt time.Time `json:"firstSeenAt"`
	LastSeenAt  time.Time `json:"lastSeenAt"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Validate checks the contact's fields.
func (c *Contact) Validate() error { return Validate(c) }

// ContactFilter narrows a contact listing.
type ContactFilter struct {
	Page
	// Search keeps the contacts whose name, nick, email or fingerprint
	// contains it, case-insensitively ("": all).
	Search string
}

// ChannelThread maps an external conversation of an integration (a Telegram
// chat, a forum topic, a webhook caller's conversation id) to its current
// Parley conversation and its contact. Earlier conversations of the thread
// (before a session expired, or /new) keep its id in their ChannelThreadID.
type ChannelThread struct {
	ID             string    `json:"id" gorm:"primaryKey;size:36"`
	IntegrationID  string    `json:"integrationId" gorm:"size:36;not null"`
	ExternalKey    string    `json:"externalKey" gorm:"size:200;not null"`
	ConversationID *string   `json:"conversationId,omitempty" gorm:"size:36"`
	ContactID      *string   `json:"contactId,omitempty" gorm:"size:36"`
	LastActivityAt time.Time `json:"lastActivityAt"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// ThreadFilter narrows a thread listing.
type ThreadFilter struct {
	Page
	IntegrationID string
}

// Inbound event statuses: queued when recorded (its job will process it),
// then processed (answered), ignored (a kind the channel does not answer,
// with the reason), rejected (a sender not allowed, with the reason) or
// failed (with the reason).
const (
	EventQueued    = "queued"
	EventProcessed = "processed"
	EventIgnored   = "ignored"
	EventRejected  = "rejected"
	EventFailed    = "failed"
)

// Inbound event kinds.
const (
	EventKindText    = "text"
	EventKindCommand = "command"
	EventKindIgnored = "ignored"
)

// InboundEvent is one delivery from a platform (a Telegram update, a webhook
// event), recorded before it is acknowledged: its raw payload (bounded), the
// typed fields processing reads, how often it was delivered again, and what
// became of it — its status, and the conversation and messages it produced.
type InboundEvent struct {
	ID            string `json:"id" gorm:"primaryKey;size:36"`
	IntegrationID string `json:"integrationId" gorm:"size:36;not null"`
	// ExternalID is the platform's id for the event (Telegram update_id,
	// webhook eventId): unique per integration.
	ExternalID string `json:"externalId" gorm:"size:200;not null" validate:"required,max=200"`
	// ExternalKey is the external conversation the event belongs to ("" for
	// an event ignored at receipt).
	ExternalKey string `json:"externalKey" gorm:"size:200;not null" validate:"max=200"`
	Kind        string `json:"kind" gorm:"size:20;not null" validate:"required,oneof=text command ignored"`
	// Command is the bot command without its slash (start, new), for command events.
	Command string `json:"command,omitempty" gorm:"size:64;not null" validate:"max=64"`
	Text    string `json:"text" gorm:"type:text;not null" validate:"max=200000"`
	// ChatID, TopicID and ChatType say where a reply goes (Telegram's
	// chat.id, message_thread_id and chat.type).
	ChatID   string      `json:"chatId,omitempty" gorm:"size:100;not null" validate:"max=100"`
	TopicID  string      `json:"topicId,omitempty" gorm:"size:100;not null" validate:"max=100"`
	ChatType string      `json:"chatType,omitempty" gorm:"size:20;not null" validate:"max=20"`
	Sender   EventSender `json:"sender" gorm:"embedded;embeddedPrefix:sender_"`
	// Payload is the raw body as received, cut at MaxEventPayload bytes
	// (PayloadTruncated); PayloadBytes is its full size.
	Payload          string `json:"payload" gorm:"type:text;not null"`
	PayloadBytes     int    `json:"payloadBytes" gorm:"not null"`
	PayloadTruncated bool   `json:"payloadTruncated" gorm:"not null"`
	// Wait: the sender waits for the reply in its request (webhook ?wait=1),
	// so it is returned there instead of delivered.
	Wait            bool       `json:"wait" gorm:"not null"`
	ReceivedAt      time.Time  `json:"receivedAt" gorm:"not null"`
	Duplicates      int        `json:"duplicates" gorm:"not null"`
	LastDuplicateAt *time.Time `json:"lastDuplicateAt,omitempty"`
	Status          string     `json:"status" gorm:"size:20;not null"`
	Reason          string     `json:"reason,omitempty" gorm:"type:text;not null"`
	ConversationID  *string    `json:"conversationId,omitempty" gorm:"size:36"`
	UserMessageID   *string    `json:"userMessageId,omitempty" gorm:"size:36"`
	TurnID          *string    `json:"turnId,omitempty" gorm:"size:36"`
	// BotMessageID is the message the reply carries (the answer, or a greeting).
	BotMessageID *string    `json:"botMessageId,omitempty" gorm:"size:36"`
	ProcessedAt  *time.Time `json:"processedAt,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
}

// EventSender is who sent an inbound event, as the platform says.
type EventSender struct {
	// Fingerprint identifies the sender on the platform ("telegram:<id>",
	// or the webhook's contact fingerprint); "" when unknown.
	Fingerprint string `json:"fingerprint,omitempty" gorm:"size:200;not null" validate:"max=200"`
	// UserID is the sender's numeric platform id, where there is one (Telegram).
	UserID int64  `json:"userId,omitempty" gorm:"not null"`
	Name   string `json:"name,omitempty" gorm:"size:200;not null" validate:"max=200"`
	Nick   string `json:"nick,omitempty" gorm:"size:100;not null" validate:"max=100"`
	Email  string `json:"email,omitempty" gorm:"size:254;not null" validate:"omitempty,email,max=254"`
	Phone  string `json:"phone,omitempty" gorm:"size:50;not null" validate:"max=50"`
}

// Validate checks the event's fields.
func (e *InboundEvent) Validate() error { return Validate(e) }

// Finished reports whether processing the event is over.
func (e *InboundEvent) Finished() bool { return e.Status != EventQueued }

// EventFilter narrows an inbound event listing.
type EventFilter struct {
	Page
	IntegrationID string
	Status        string
}

// Outbound delivery statuses: waiting for its answer, pending (to send or
// sending, with retries), delivered, or failed for good.
const (
	DeliveryWaiting   = "waiting"
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Outbound delivery kinds: what the reply is.
const (
	DeliveryReply    = "reply"    // the bot's answer
	DeliveryGreeting = "greeting" // /start
	DeliveryNotice   = "notice"   // /new, and other short notices
	DeliveryRefusal  = "refusal"  // a sender not in allowFrom
	DeliveryError    = "error"    // the bot could not answer
)

// Outbound delivery modes: pushed to the platform (Telegram's API, the
// webhook's callback URL), or returned in the sender's request (?wait=1).
const (
	DeliveryPush     = "push"
	DeliveryResponse = "response"
)

// OutboundDelivery is one reply sent to a platform for an inbound event (at
// most one per event), sent in the order of its thread's events, with every
// attempt recorded.
type OutboundDelivery struct {
	ID            string `json:"id" gorm:"primaryKey;size:36"`
	IntegrationID string `json:"integrationId" gorm:"size:36;not null"`
	EventID       string `json:"eventId" gorm:"size:36;not null"`
	// ExternalKey is the thread the reply belongs to: replies of a thread go
	// out one at a time, in order.
	ExternalKey    string  `json:"externalKey" gorm:"size:200;not null"`
	ConversationID *string `json:"conversationId,omitempty" gorm:"size:36"`
	MessageID      *string `json:"messageId,omitempty" gorm:"size:36"`
	Kind           string  `json:"kind" gorm:"size:20;not null"`
	Mode           string  `json:"mode" gorm:"size:20;not null"`
	ChatID         string  `json:"chatId,omitempty" gorm:"size:100;not null"`
	TopicID        string  `json:"topicId,omitempty" gorm:"size:100;not null"`
	ChatType       string  `json:"chatType,omitempty" gorm:"size:20;not null"`
	Text           string  `json:"text" gorm:"type:text;not null"`
	// Parts is how many platform messages the text takes (Telegram splits
	// at 4,096 characters); PartsSent how many went out, so a retry resumes.
	Parts         int        `json:"parts" gorm:"not null"`
	PartsSent     int        `json:"partsSent" gorm:"not null"`
	Status        string     `json:"status" gorm:"size:20;not null"`
	Attempts      int        `json:"attempts" gorm:"not null"`
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
	LastError     string     `json:"lastError,omitempty" gorm:"type:text;not null"`
	DeliveredAt   *time.Time `json:"deliveredAt,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	// AttemptLog is every attempt, oldest first (loaded by FindDelivery).
	AttemptLog []DeliveryAttempt `json:"attemptLog,omitempty" gorm:"foreignKey:DeliveryID"`
}

// Finished reports whether the delivery is over, one way or the other.
func (d *OutboundDelivery) Finished() bool {
	return d.Status == DeliveryDelivered || d.Status == DeliveryFailed
}

// DeliveryFilter narrows a delivery listing.
type DeliveryFilter struct {
	Page
	IntegrationID string
	Status        string
}

// Delivery attempt outcomes.
const (
	AttemptSent   = "sent"   // the part went out
	AttemptRetry  = "retry"  // it failed and is tried again at RetryAt
	AttemptFailed = "failed" // it failed for good
)

// DeliveryAttempt is one request to a platform for a delivery: what was
// asked, what came back and how long it took, and what follows.
type DeliveryAttempt struct {
	ID         string `json:"id" gorm:"primaryKey;size:36"`
	DeliveryID string `json:"deliveryId" gorm:"size:36;not null"`
	// Number counts the delivery's attempts from 1; Part is the part sent (from 1).
	Number int `json:"number" gorm:"not null"`
	Part   int `json:"part" gorm:"not null"`
	// Request summarises the request (method, target, size): never a secret.
	Request string `json:"request" gorm:"type:text;not null"`
	// StatusCode is the HTTP status (0: no response, see Error).
	StatusCode int    `json:"statusCode" gorm:"not null"`
	Response   string `json:"response" gorm:"type:text;not null"`
	Error      string `json:"error,omitempty" gorm:"type:text;not null"`
	LatencyMs  int64  `json:"latencyMs" gorm:"not null"`
	Outcome    string `json:"outcome" gorm:"size:20;not null"`
	// RetryAt is when the next attempt is due, for outcome retry.
	RetryAt   *time.Time `json:"retryAt,omitempty"`
	StartedAt time.Time  `json:"startedAt"`
}
