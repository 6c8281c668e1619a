package store

import (
	"context"
	"regexp"
	"slices"
	"time"

	"parley/models"
)

// widgetFingerprintRE is what a widget's random id looks like (it makes one
// with crypto.getRandomValues and keeps it in localStorage).
var widgetFingerprintRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,100}$`)

// WidgetHistory is how many of a conversation's latest messages a widget
// session answers with.
const WidgetHistory = 50

// WidgetSessionInput asks for a widget session: who the end user is and
// whether they start over.
type WidgetSessionInput struct {
	// Fingerprint is the widget's random id for this browser.
	Fingerprint string
	// UserID is a verified signed identity ("" for none): the conversation
	// then follows the user across browsers.
	UserID string
	// Restart starts a new conversation (the widget's restart button).
	Restart bool
	// Test marks a new conversation as a test (the dashboard's preview) and
	// keeps it apart from the end users' threads.
	Test bool
	// Name and Email are what the visitor told about themselves (a widget
	// with contact collection): kept on their contact when set.
	Name  string
	Email string
}

// WidgetSession is a widget's session: a conversation-scoped token and
// what the widget shows at once.
type WidgetSession struct {
	// Token is the raw session token (never stored).
	Token        string
	Session      *models.ConversationSession
	Conversation *models.Conversation
	Contact      *models.Contact
	// Created says the conversation is new.
	Created bool
	// Messages are the conversation's latest user and bot messages, oldest first.
	Messages []models.Message
}

// StartWidgetSession ensures the end user's contact, finds or creates their
// conversation with the widget (getOrCreateConversation by fingerprint, or
// by user id with a signed identity, under the integration's session
// duration; a new one on Restart) and issues a session token for it with
// the widget's token lifetime. Errors: invalid (a malformed fingerprint or
// user id, not a widget, no bot), not_found (the integration).
func (s *Store) StartWidgetSession(ctx context.Context, it *models.Integration, in WidgetSessionInput) (*WidgetSession, error) {
	if it.Type != models.IntegrationWidget {
		return nil, models.Errorf(models.CodeInvalid, "This integration is not a web chat widget.")
	}
	if !widgetFingerprintRE.MatchString(in.Fingerprint) {
		return nil, models.FieldError("fingerprint", "Fingerprint must be 16 to 100 letters, digits, - or _.")
	}
	if len(in.UserID) > models.MaxWidgetUserID {
		return nil, models.FieldError("userId", "User id must be at most 150 characters.")
	}
	if err := models.CheckText("userId", "User id", in.UserID); err != nil {
		return nil, err
	}
	fp, key := "widget:"+in.Fingerprint, "fp:"+in.Fingerprint
	switch {
	case in.Test:
		fp, key = "widget:test:"+in.Fingerprint, "test:"+in.Fingerprint
	case in.UserID != "":
		fp, key = "widget:"+it.ID+":user:"+in.UserID, "user:"+in.UserID
	}
	contact, _, err := s.EnsureContact(ctx, models.Contact{Fingerprint: models.TruncateUTF8(fp, 200), Name: in.Name, Email: in.Email})
	if err != nil {
		return nil, err
	}
	name := "Widget"
	if it.Name != "" {
		name = "Widget " + it.Name
	}
	if in.Test {
		name = "Widget preview: " + it.Name
	}
	ti := ThreadInput{IntegrationID: it.ID, ExternalKey: models.TruncateUTF8(key, models.MaxExternalID), ContactID: &contact.ID, Name: name}
	var tc *ThreadConversation
	if in.Restart {
		tc, err = s.CreateChannelConversation(ctx, ti)
	} else {
		tc, err = s.GetOrCreateConversation(ctx, ti)
	}
	if err != nil {
		return nil, err
	}
	if in.Test && tc.Created {
		if err := s.conn(ctx).Model(&models.Conversation{}).Where("id = ?", tc.Conversation.ID).
			Update("kind", models.ConversationTest).Error; err != nil {
			return nil, translate(err, "conversation")
		}
		tc.Conversation.Kind = models.ConversationTest
	}
	ttl := time.Duration(it.Widget.TokenLifetime) * time.Second
	if ttl <= 0 {
		ttl = models.DefaultWidgetTokenLifetime * time.Second
	}
	// A preview's token is the dashboard's own (same origin), not the widget's.
	owner := &it.ID
	if in.Test {
		owner = nil
	}
	token, sess, err := s.createConversationSession(ctx, tc.Conversation.ID, nil, owner, ttl)
	if err != nil {
		return nil, err
	}
	out := &WidgetSession{Token: token, Session: sess, Conversation: tc.Conversation, Contact: contact, Created: tc.Created}
	if !tc.Created {
		msgs, _, err := s.FindMessages(ctx, tc.Conversation.ID, models.Page{Limit: WidgetHistory, Order: models.OrderDesc})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Type == models.MessageUser || m.Type == models.MessageBot {
				out.Messages = append(out.Messages, m)
			}
		}
		slices.Reverse(out.Messages)
	}
	return out, nil
}

// WidgetTokenEnded reports whether token is a session token of the widget
// that an operator revoked: its chat has ended, and the widget says so
// rather than renewing it.
func (s *Store) WidgetTokenEnded(ctx context.Context, integrationID, token string) (bool, error) {
	if token == "" || !models.ValidID(integrationID) {
		return false, nil
	}
	var n int64
	err := s.conn(ctx).Model(&models.ConversationSession{}).
		Where("token_hash = ? AND integration_id = ? AND revoked_at IS NOT NULL", models.HashToken(token), integrationID).
		Count(&n).Error
	return n > 0, translate(err, "conversation session")
}

// RotateIdentitySecret gives a widget a new identity secret, returned once;
// user ids signed with the old one are refused from now on. Errors:
// not_found, invalid (not a widget), unavailable (no encryption).
func (s *Store) RotateIdentitySecret(ctx context.Context, id string) (string, error) {
	return s.rotateSecret(ctx, id, models.IntegrationWidget, models.IdentitySecretPrefix, "identity_secret_enc",
		"Only a web chat widget has an identity secret.")
}

// WidgetOrigins returns a widget's allowed origins as stored (one per line),
// for the API to answer a widget's session token with CORS for them alone.
func (s *Store) WidgetOrigins(ctx context.Context, integrationID string) (string, error) {
	var origin []string
	err := s.conn(ctx).Model(&models.Integration{}).Where("id = ?", integrationID).Limit(1).Pluck("widget_origin", &origin).Error
	if err != nil {
		return "", translate(err, "integration")
	}
	if len(origin) == 0 {
		return "", notFound("integration")
	}
	return origin[0], nil
}

// FindContactsByID returns the contacts with these ids, by id (unknown ids
// are left out), for listings that show whose conversation it is.
func (s *Store) FindContactsByID(ctx context.Context, ids []string) (map[string]models.Contact, error) {
	out := map[string]models.Contact{}
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if models.ValidID(id) {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return out, nil
	}
	var list []models.Contact
	if err := s.conn(ctx).Where("id IN ?", valid).Find(&list).Error; err != nil {
		return nil, translate(err, "contacts")
	}
	for _, c := range list {
		out[c.ID] = c
	}
	return out, nil
}
