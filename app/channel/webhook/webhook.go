// Package webhook is Parley's generic webhook channel: the JSON an outside
// system posts to /channels/webhook/{integrationId}, the reply Parley posts
// back to the integration's callback URL, and the signature both carry — an
// HMAC-SHA256 over the timestamp and the raw body, in the header
//
//	X-Parley-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// checked in constant time and refused outside a five-minute window, so a
// captured request cannot be replayed later.
package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/models"
)

// SignatureHeader carries the signature of a request, either way.
const SignatureHeader = "X-Parley-Signature"

// Tolerance is how far a signature's timestamp may be from now.
const Tolerance = 5 * time.Minute

// MaxEventID bounds an event id: Parley keys the user message it makes by
// the integration and the event id, in at most 200 characters.
const MaxEventID = 160

// MaxText bounds an event's text (what a user message may hold).
const MaxText = 100_000

// Signature errors; all mean 401.
var (
	ErrNoSignature  = errors.New("webhook: the request is not signed (X-Parley-Signature: t=<unix>,v1=<hex>)")
	ErrBadSignature = errors.New("webhook: the signature does not match the body")
	ErrExpired      = errors.New("webhook: the signature's timestamp is more than five minutes from now")
)

// Sign returns the signature header value of body at time t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a signature header against body: a v1 value must be the
// HMAC of its timestamp and the body under secret (compared in constant
// time; several v1 values are allowed, for rotating secrets), and the
// timestamp within Tolerance of now. An empty secret verifies nothing.
func Verify(secret, header string, body []byte, now time.Time) error {
	header = strings.TrimSpace(header)
	if header == "" || secret == "" {
		return ErrNoSignature
	}
	var (
		ts   string
		sigs [][]byte
	)
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(unix, 0)); d > Tolerance || d < -Tolerance {
		return ErrExpired
	}
	return nil
}

// Event is what an outside system posts: one user message of one of its
// conversations.
type Event struct {
	// EventID is the sender's id for this event: a retried delivery with
	// the same id is acknowledged and counted, never processed twice.
	EventID string `json:"eventId"`
	// ConversationID is the sender's conversation: its messages go to the
	// same Parley conversation (until the session duration passes).
	ConversationID string   `json:"conversationId"`
	Contact        *Contact `json:"contact,omitempty"`
	Text           string   `json:"text"`
}

// Contact is who sent an event, as the sender knows them.
type Contact struct {
	Fingerprint string `json:"fingerprint"`
	Name        string `json:"name,omitempty"`
	Nick        string `json:"nick,omitempty"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
}

// Parse reads an event body; what is missing or malformed is an invalid
// error naming the field.
func Parse(body []byte) (Event, error) {
	var e Event
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&e); err != nil {
		return e, models.Errorf(models.CodeInvalid, "The body must be a JSON object like {\"eventId\":\"…\",\"conversationId\":\"…\",\"text\":\"…\"}.")
	}
	e.EventID, e.ConversationID = strings.TrimSpace(e.EventID), strings.TrimSpace(e.ConversationID)
	fields := map[string]string{}
	need := func(field, v string, max int) {
		switch {
		case v == "":
			fields[field] = models.Label(field) + " is required."
		case len(v) > max:
			fields[field] = models.Label(field) + " must be at most " + strconv.Itoa(max) + " characters."
		}
	}
	need("eventId", e.EventID, MaxEventID)
	need("conversationId", e.ConversationID, models.MaxExternalID)
	if strings.TrimSpace(e.Text) == "" {
		fields["text"] = "Text is required."
	} else if len(e.Text) > MaxText {
		fields["text"] = "Text must be at most " + strconv.Itoa(MaxText) + " bytes."
	}
	if e.Contact != nil {
		e.Contact.Fingerprint = strings.TrimSpace(e.Contact.Fingerprint)
		need("contact.fingerprint", e.Contact.Fingerprint, 200)
	}
	if len(fields) > 0 {
		return e, &models.Error{Code: models.CodeInvalid, Message: "Please correct the fields marked: " + strings.Join(sortedValues(fields), " "), Fields: fields}
	}
	return e, nil
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

// Reply is what Parley posts to the callback URL (and returns to a request
// made with ?wait=1): the bot's reply to one event.
type Reply struct {
	// EventID is the event answered, as the sender named it.
	EventID string `json:"eventId"`
	// ConversationID is the sender's conversation.
	ConversationID string `json:"conversationId"`
	// Kind is reply (the bot's answer) or error (the bot could not answer).
	Kind string `json:"kind"`
	Text string `json:"text"`
	// DeliveryID names this delivery (the same on every retry of it), so
	// the receiver can drop a repeated one.
	DeliveryID string `json:"deliveryId"`
	// ParleyConversationID and MessageID are the Parley conversation and
	// message the reply comes from.
	ParleyConversationID string `json:"parleyConversationId,omitempty"`
	MessageID            string `json:"messageId,omitempty"`
}
