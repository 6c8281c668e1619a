package store_test

import (
	"strings"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

func mustWidget(t *testing.T, s *store.Store, botID string, w models.WidgetSettings, sessionDuration int64) (*models.Integration, string) {
	t.Helper()
	it, secret, err := s.CreateIntegration(t.Context(), store.IntegrationInput{Integration: models.Integration{
		Type: models.IntegrationWidget, Name: "Site", BotID: &botID, Widget: w, SessionDuration: sessionDuration}})
	if err != nil {
		t.Fatalf("create widget: %v", err)
	}
	return it, secret
}

func TestWidgetIntegration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		bot := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Helper", Model: "local"}})
		useBox(t, s, 9)

		t.Run("ErrFieldsWriteNothing", func(t *testing.T) {
			_, _, err := s.CreateIntegration(ctx, store.IntegrationInput{Integration: models.Integration{Type: models.IntegrationWidget, BotID: &bot.ID,
				Widget: models.WidgetSettings{Origin: "example.com", Theme: "pink", TokenLifetime: 1}}})
			wantFieldErrors(t, err, "origin", "theme", "tokenLifetime")
			if n := count(t, s, "integrations", ""); n != 0 {
				t.Errorf("%d integrations stored from bad input", n)
			}
		})

		t.Run("CreateNormalisesAndSealsSecret", func(t *testing.T) {
			it, secret := mustWidget(t, s, bot.ID, models.WidgetSettings{Title: " Help ", Origin: "HTTPS://Shop.example.com:443/\nhttp://localhost:8080"}, 0)
			if !strings.HasPrefix(secret, models.IdentitySecretPrefix) {
				t.Errorf("identity secret %q", secret)
			}
			got, sec, err := s.FindIntegrationWithSecrets(ctx, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			if sec.IdentitySecret != secret {
				t.Error("the identity secret did not round-trip")
			}
			if got.Widget.Origin != "https://shop.example.com\nhttp://localhost:8080" || got.Widget.Title != "Help" ||
				got.Widget.Theme != "auto" || got.Widget.Layout != "bubble" || got.Widget.TokenLifetime != models.DefaultWidgetTokenLifetime {
				t.Errorf("stored settings %+v", got.Widget)
			}
			if n := count(t, s, "integrations", "identity_secret_enc LIKE ?", "%"+secret+"%"); n != 0 {
				t.Error("identity secret stored in clear")
			}
			// Update keeps the secret, changes the settings.
			got.Widget.Theme, got.Widget.ExportConversation = "dark", true
			if _, err := s.UpdateIntegration(ctx, store.IntegrationInput{Integration: *got}); err != nil {
				t.Fatal(err)
			}
			again, sec2, err := s.FindIntegrationWithSecrets(ctx, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			if sec2.IdentitySecret != secret || again.Widget.Theme != "dark" || !again.Widget.ExportConversation {
				t.Errorf("after update: %+v", again.Widget)
			}
			rotated, err := s.RotateIdentitySecret(ctx, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			if sec3, _ := s.IntegrationSecrets(ctx, it.ID); sec3.IdentitySecret != rotated || rotated == secret {
				t.Error("rotation did not replace the secret")
			}
		})
	})
}

func TestWidgetSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		clk := useClock(s)
		bot := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Helper", Model: "local"}})
		useBox(t, s, 9)
		it, _ := mustWidget(t, s, bot.ID, models.WidgetSettings{Origin: "https://example.com", TokenLifetime: 120}, int64(time.Hour/time.Millisecond))
		fp := "fp_0123456789abcdef"

		first, err := s.StartWidgetSession(ctx, it, store.WidgetSessionInput{Fingerprint: fp})
		if err != nil {
			t.Fatal(err)
		}
		if !first.Created || first.Contact.Fingerprint != "widget:"+fp || first.Session.IntegrationID == nil || *first.Session.IntegrationID != it.ID {
			t.Fatalf("first session: %+v", first)
		}
		if got := first.Session.ExpiresAt.Sub(first.Session.CreatedAt); got != 2*time.Minute {
			t.Errorf("token lifetime %v, want 2m", got)
		}
		if _, err := s.AuthenticateConversationSession(ctx, first.Token); err != nil {
			t.Errorf("token refused: %v", err)
		}
		for _, m := range []models.Message{{Type: models.MessageUser, Text: "hello"}, {Type: models.MessageBot, Text: "hi there"}, {Type: models.MessageActivity, Text: "ran"}} {
			m.ConversationID = first.Conversation.ID
			if _, err := s.CreateMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("ResumeReturnsHistory", func(t *testing.T) {
			clk.Advance(10 * time.Minute)
			again, err := s.StartWidgetSession(ctx, it, store.WidgetSessionInput{Fingerprint: fp})
			if err != nil {
				t.Fatal(err)
			}
			if again.Created || again.Conversation.ID != first.Conversation.ID {
				t.Fatalf("resumed another conversation")
			}
			if len(again.Messages) != 2 || again.Messages[0].Text != "hello" || again.Messages[1].Text != "hi there" {
				t.Errorf("history %+v", again.Messages)
			}
			if again.Token == first.Token {
				t.Error("same token twice")
			}
		})
		t.Run("SessionDurationRollover", func(t *testing.T) {
			clk.Advance(2 * time.Hour)
			later, err := s.StartWidgetSession(ctx, it, store.WidgetSessionInput{Fingerprint: fp})
			if err != nil {
				t.Fatal(err)
			}
			if !later.Created || later.Conversation.ID == first.Conversation.ID || len(later.Messages) != 0 {
				t.Errorf("after the session duration: created %v, same conversation %v", later.Created, later.Conversation.ID == first.Conversation.ID)
			}
			if later.Contact.ID != first.Contact.ID {
				t.Error("another contact for the same fingerprint")
			}
		})
		t.Run("Restart", func(t *testing.T) {
			cur, _ := s.StartWidgetSession(ctx, it, store.WidgetSessionInput{Fingerprint: fp})
			fresh, err := s.StartWidgetSession(ctx, it, store.WidgetSessionInput{Fingerprint: fp, Restart: true})
			if err != nil {
				t.Fatal(err)
			}
			if !fresh.Created || fresh.Conversation.ID == cur.Conversation.ID {
				t.Error("restart kept the conversation")
			}
		})
		t.Run("IdentityFollowsUser", func(t *testing.T) {
			a, err := s.StartWidgetSession(ctx, it, store.WidgetSessionInput{Fingerprint: "fp_browser_one_0001", UserID: "u-1"})
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.StartWidgetSession(ctx, it, store.WidgetSessionInput{Fingerprint: "fp_browser_two_0002", UserID: "u-1"})
			if err != nil {
				t.Fatal(err)
			}
			if a.Conversation.ID != b.Conversation.ID || a.Contact.ID != b.Contact.ID {
				t.Error("a signed user got two conversations on two browsers")
			}
		})
		t.Run("TestConversation", func(t *testing.T) {
			p, err := s.StartWidgetSession(ctx, it, store.WidgetSessionInput{Fingerprint: "op_" + models.NewID(), Test: true})
			if err != nil {
				t.Fatal(err)
			}
			if p.Conversation.Kind != models.ConversationTest || count(t, s, "conversations", "id = ? AND kind = ?", p.Conversation.ID, "test") != 1 {
				t.Error("preview conversation not marked as a test")
			}
		})
		t.Run("RevokedEnded", func(t *testing.T) {
			cur, _ := s.StartWidgetSession(ctx, it, store.WidgetSessionInput{Fingerprint: fp})
			if ended, _ := s.WidgetTokenEnded(ctx, it.ID, cur.Token); ended {
				t.Error("a live token is ended")
			}
			if err := s.RevokeConversationSession(ctx, cur.Session.ID); err != nil {
				t.Fatal(err)
			}
			if ended, err := s.WidgetTokenEnded(ctx, it.ID, cur.Token); err != nil || !ended {
				t.Errorf("revoked token not ended: %v %v", ended, err)
			}
			if _, err := s.AuthenticateConversationSession(ctx, cur.Token); err == nil {
				t.Error("revoked token accepted")
			}
		})
		t.Run("ErrBadFingerprint", func(t *testing.T) {
			n := count(t, s, "contacts", "")
			_, err := s.StartWidgetSession(ctx, it, store.WidgetSessionInput{Fingerprint: "short"})
			wantFieldErrors(t, err, "fingerprint")
			if count(t, s, "contacts", "") != n {
				t.Error("a contact was stored from bad input")
			}
		})
	})
}
