package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/app/channel"
	"parley/app/channel/telegram/telegramtest"
	"parley/app/engine"
	"parley/app/engine/ability"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// addChannelFixtures adds a webhook integration with one (ignored) inbound
// event and a contact to the role tests' fixtures.
func addChannelFixtures(t *testing.T, a *testApp, f fixtures) {
	t.Helper()
	ctx := context.Background()
	a.store.SetBox(testBox(t))
	bot := f["bots"]
	it, _, err := a.store.CreateIntegration(ctx, store.IntegrationInput{Integration: models.Integration{Type: models.IntegrationWebhook,
		Name: "Roles webhook", BotID: &bot}})
	if err != nil {
		t.Fatal(err)
	}
	ev, _, err := a.store.ReceiveEvent(ctx, models.InboundEvent{IntegrationID: it.ID, ExternalID: "evt-1", Kind: models.EventKindIgnored,
		Reason: "fixture", Payload: `{"eventId":"evt-1"}`}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ct, _, err := a.store.EnsureContact(ctx, models.Contact{Fingerprint: "roles:" + models.NewID(), Name: "Roles contact"})
	if err != nil {
		t.Fatal(err)
	}
	f["integrations"], f["events"], f["contacts"] = it.ID, ev.ID, ct.ID
}

// newChannelApp is newTestApp with channels that set Telegram up against a
// fake Bot API and PARLEY_PUBLIC_URL https://parley.test.
func newChannelApp(t *testing.T, s *store.Store) (*testApp, *telegramtest.Server) {
	t.Helper()
	tg := telegramtest.NewServer(t)
	srv := newServer(t, s, func(su *serverSetup) {
		su.Config.PublicURL = "https://parley.test"
		var err error
		su.Channels, err = channel.New(channel.Options{Store: s, Turns: mustTurns(t, su), Broker: su.Broker, Logger: su.Logger,
			Callbacks: ability.NewGuardedClient(ability.GuardOptions{}), Telegram: http.DefaultClient,
			TelegramAPIURL: tg.URL(), PublicURL: su.Config.PublicURL, Limits: su.Config.Channels})
		if err != nil {
			t.Fatal(err)
		}
	})
	a := &testApp{t: t, srv: srv, store: s, ops: map[string]*models.Operator{}}
	ctx := context.Background()
	admin, err := s.CreateFirstAdmin(ctx, "admin@example.com", "Admin", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	a.ops[models.RoleAdmin] = admin
	for _, role := range []string{models.RoleBuilder, models.RoleQA, models.RoleSupport} {
		op, err := s.CreateOperator(ctx, models.Operator{Email: role + "@example.com", Name: role, Role: role}, testPassword)
		if err != nil {
			t.Fatal(err)
		}
		a.ops[role] = op
	}
	s.SetBox(testBox(t))
	return a, tg
}

// mustTurns makes the turn service newServer would, so the channels can share it.
func mustTurns(t *testing.T, su *serverSetup) *engine.Service {
	t.Helper()
	if su.Turns == nil {
		var err error
		su.Turns, err = engine.NewService(engine.ServiceOptions{Engine: engine.New(su.Engine), Store: su.Store, Broker: su.Broker,
			Logger: su.Logger, TurnTimeout: su.Config.Timeouts.Turn})
		if err != nil {
			t.Fatal(err)
		}
	}
	return su.Turns
}

// TestIntegrationPages: a builder creates both kinds of integration from
// the dashboard — bad input keeps the form and writes nothing, the bot token
// never comes back, a webhook's secret is shown once — sets Telegram up and
// sees its health; support reads the audit but not the settings.
func TestIntegrationPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		a, tg := newChannelApp(t, s)
		b := a.as(models.RoleBuilder)
		bot := mustBot(t, s, "Helper")

		r := b.post("/integrations", url.Values{"type": {"telegram"}, "name": {"Support chat"}, "botId": {bot.ID},
			"botToken": {"not-a-token"}, "allowFrom": {"@ann, bad name"}, "sessionDuration": {"30"}})
		wantStatus(t, r, 422)
		wantBody(t, r, "Bot token must look like", "neither an @username", `value="Support chat"`, "@ann, bad name", `value="30"`)
		if strings.Contains(r.Body, "not-a-token") {
			t.Error("the refused bot token is echoed back into the page")
		}
		if n := count(t, s, "integrations"); n != 0 {
			t.Fatalf("%d integrations after a refused form", n)
		}
		wantStatus(t, b.post("/integrations", url.Values{"type": {"webhook"}, "name": {"No bot"}}), 422)

		r = b.post("/integrations", url.Values{"type": {"telegram"}, "name": {"Support chat"}, "botId": {bot.ID},
			"botToken": {apiTestToken}, "sessionDuration": {"30"}, "contactCollection": {"true"}})
		wantStatus(t, r, 303)
		tgID := strings.TrimPrefix(r.Location(), "/integrations/")
		it, err := s.FindIntegration(context.Background(), tgID)
		if err != nil || it.SessionDuration != 30*60000 || !it.Telegram.ContactCollection {
			t.Fatalf("created %+v (%v)", it, err)
		}
		page := b.get("/integrations/" + tgID)
		wantStatus(t, page, 200)
		wantBody(t, page, "Set up with Telegram", "Not set up yet", "https://parley.test/channels/telegram/"+tgID)
		if strings.Contains(page.Body, "AAE_test") {
			t.Error("the integration page shows the bot token")
		}
		if edit := b.get("/integrations/" + tgID + "/edit"); strings.Contains(edit.Body, "AAE_test") {
			t.Error("the edit form shows the bot token")
		}

		r = b.post("/integrations/"+tgID+"/setup", nil)
		wantStatus(t, r, 303)
		if got := tg.WebhookInfo().URL; got != "https://parley.test/channels/telegram/"+tgID {
			t.Errorf("setWebhook URL = %q", got)
		}
		info := tg.WebhookInfo()
		info.PendingUpdateCount, info.LastErrorMessage, info.LastErrorDate = 3, "Connection timed out", time.Now().Unix()
		tg.SetWebhookInfo(info)
		page = b.get("/integrations/" + tgID)
		wantBody(t, page, "@ParleyTestBot", "Pending updates</dt><dd>3</dd>", "Connection timed out", "Set up again")

		r = b.post("/integrations/"+tgID, url.Values{"name": {"Renamed"}, "botId": {bot.ID}, "sessionDuration": {"0"}, "botToken": {""}})
		wantStatus(t, r, 303)
		if it, _ := s.FindIntegration(context.Background(), tgID); it.Name != "Renamed" || it.Telegram.SetupAt == nil || it.SessionDuration != 0 {
			t.Errorf("an edit with a blank token: %+v", it)
		}
		if sec, _ := s.IntegrationSecrets(context.Background(), tgID); sec.BotToken != apiTestToken {
			t.Errorf("a blank token replaced the stored one")
		}
		r = b.post("/integrations/"+tgID, url.Values{"name": {"Renamed"}, "botId": {bot.ID}, "sessionDuration": {"-5"}})
		wantStatus(t, r, 422)
		wantBody(t, r, "whole number of minutes", `value="-5"`)
		tg.SetToken("999:other-token-0123456789abcdefghijk")
		r = b.post("/integrations/"+tgID+"/setup", nil)
		wantStatus(t, r, 422)
		wantBody(t, r, "Setup failed: Telegram did not accept the bot token")

		r = b.post("/integrations", url.Values{"type": {"webhook"}, "name": {"Shop"}, "botId": {bot.ID}})
		wantStatus(t, r, 200)
		wantBody(t, r, "Copy it now: it will not be shown again", store.SigningSecretPrefix, "openssl dgst -sha256 -hmac")
		its, _, _ := s.FindIntegrations(context.Background(), models.IntegrationFilter{Type: models.IntegrationWebhook})
		if len(its) != 1 {
			t.Fatalf("%d webhook integrations", len(its))
		}
		sec, _ := s.IntegrationSecrets(context.Background(), its[0].ID)
		if !strings.Contains(r.Body, sec.SigningSecret) {
			t.Error("the page does not show the stored secret")
		}
		if page := b.get("/integrations/" + its[0].ID); strings.Contains(page.Body, sec.SigningSecret) {
			t.Error("the integration page shows the signing secret again")
		}
		r = b.post("/integrations/"+its[0].ID+"/setup", nil)
		wantStatus(t, r, 422)
		wantBody(t, r, "Only a Telegram integration is set up with Telegram")
		wantBody(t, b.get("/integrations/"+its[0].ID+"/rotate"), "stops working at once")
		r = b.post("/integrations/"+its[0].ID+"/rotate", nil)
		if sec2, _ := s.IntegrationSecrets(context.Background(), its[0].ID); sec2.SigningSecret == sec.SigningSecret || !strings.Contains(r.Body, sec2.SigningSecret) {
			t.Error("rotate did not show a new secret")
		}

		list := a.as(models.RoleSupport).get("/integrations")
		wantStatus(t, list, 200)
		wantBody(t, list, "Renamed", "@ParleyTestBot", "Shop", "/integrations/"+tgID+"/events")
		if strings.Contains(list.Body, `href="/integrations/`+tgID+`"`) || strings.Contains(list.Body, "New Telegram integration") {
			t.Error("support is offered pages it may not open")
		}

		wantBody(t, b.get("/integrations/"+tgID+"/delete"), "Delete integration")
		wantStatus(t, b.post("/integrations/"+tgID+"/delete", nil), 303)
		if _, err := s.FindIntegration(context.Background(), tgID); models.ErrorCode(err) != models.CodeNotFound {
			t.Errorf("after delete: %v", err)
		}
	})
}

// TestDeliveryAudit: the audit lists an integration's events with their
// status, filters by status, and shows a raw payload pretty-printed and
// escaped; another integration's event is not found.
func TestDeliveryAudit(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		a.store.SetBox(testBox(t))
		ctx := context.Background()
		bot := mustBot(t, a.store, "Helper")
		mk := func(name string) *models.Integration {
			it, _, err := a.store.CreateIntegration(ctx, store.IntegrationInput{Integration: models.Integration{Type: models.IntegrationWebhook, Name: name, BotID: &bot.ID}})
			if err != nil {
				t.Fatal(err)
			}
			return it
		}
		it, other := mk("Shop"), mk("Other")
		ev, _, err := a.store.ReceiveEvent(ctx, models.InboundEvent{IntegrationID: it.ID, ExternalID: "evt-77", Kind: models.EventKindIgnored,
			Reason: "a sticker", Payload: `{"eventId":"evt-77","text":"<script>alert(1)</script>"}`}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if _, dup, err := a.store.ReceiveEvent(ctx, models.InboundEvent{IntegrationID: it.ID, ExternalID: "evt-77", Kind: models.EventKindIgnored,
			Payload: `{}`}, time.Time{}); err != nil || !dup {
			t.Fatalf("duplicate: %v %v", dup, err)
		}
		c := a.as(models.RoleSupport)
		r := c.get("/integrations/" + it.ID + "/events")
		wantStatus(t, r, 200)
		wantBody(t, r, "evt-77", "ignored", "a sticker", `<td class="num">1</td>`)
		wantBody(t, c.get("/integrations/"+it.ID+"/events?status=ignored"), "evt-77")
		r = c.get("/integrations/" + it.ID + "/events?status=processed")
		wantBody(t, r, "No processed events")
		if strings.Contains(r.Body, "evt-77") {
			t.Error("the processed filter lists an ignored event")
		}
		wantStatus(t, c.get("/integrations/"+it.ID+"/events?status=bogus"), 422)
		wantBody(t, c.get("/integrations/"+other.ID+"/events"), "No events yet")

		r = c.get("/integrations/" + it.ID + "/events/" + ev.ID)
		wantStatus(t, r, 200)
		wantBody(t, r, "  &#34;text&#34;: &#34;&lt;script&gt;alert(1)", "Duplicates</dt><dd>1", "This event has no reply")
		if strings.Contains(r.Body, "<script>alert") {
			t.Error("the raw payload is not escaped")
		}
		wantStatus(t, c.get("/integrations/"+other.ID+"/events/"+ev.ID), 404)
	})
}

// TestContactPages: contacts are found by name, nick, email or fingerprint
// (a LIKE wildcard matches only itself) and a contact's page lists its
// conversations.
func TestContactPages(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		mk := func(c models.Contact) *models.Contact {
			out, _, err := a.store.EnsureContact(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		ann := mk(models.Contact{Fingerprint: "telegram:42", Name: "Ann Lee", Nick: "annie"})
		mk(models.Contact{Fingerprint: "crm:7", Name: "Bob", Email: "bob@shop.example"})
		mk(models.Contact{Fingerprint: "crm:100%", Name: "Cleo"})
		c := a.as(models.RoleSupport)
		for _, tc := range []struct{ q, want, not string }{
			{"ann", "Ann Lee", "Bob"}, {"ANNIE", "Ann Lee", "Cleo"}, {"shop.example", "Bob", "Ann Lee"},
			{"telegram:", "Ann Lee", "Bob"}, {"100%", "Cleo", "Bob"}, {"%", "Cleo", "Ann Lee"},
		} {
			r := c.get("/contacts?q=" + url.QueryEscape(tc.q))
			wantStatus(t, r, 200)
			if !strings.Contains(r.Body, tc.want) || strings.Contains(r.Body, tc.not) {
				t.Errorf("search %q: want %q and not %q", tc.q, tc.want, tc.not)
			}
		}
		wantBody(t, c.get("/contacts?q=nobody"), "No contact matches")
		bot := mustBot(t, a.store, "Helper")
		conv, err := a.store.CreateConversation(ctx, models.Conversation{BotID: &bot.ID, ContactID: &ann.ID, Name: "Ann's question"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := c.get("/contacts/" + ann.ID)
		wantStatus(t, r, 200)
		wantBody(t, r, "telegram:42", "/conversations/"+conv.ID, "Ann&#39;s question")
		wantStatus(t, c.get("/contacts/"+models.NewID()), 404)
	})
}
