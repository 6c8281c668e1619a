package handlers

import (
	"context"
	"strings"
	"testing"

	"parley/models"
	"parley/models/store"
)

const apiTestToken = "123456789:AAE_test-token-0123456789abcdefghij"

// TestAPIIntegrationErrors: bad input to integration/* is a 400 or 404
// with a message that says what is wrong, and writes nothing.
func TestAPIIntegrationErrors(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		a.store.SetBox(testBox(t))
		c := a.api()
		bot := mustBot(t, a.store, "Helper")
		unknown := models.NewID()
		cases := []struct {
			name, path, body string
			status           int
			code, contains   string
		}{
			{"TelegramUnknownBot", "/integration/telegram/create", `{"botId":"` + unknown + `","botToken":"` + apiTestToken + `"}`, 400, "BAD_REQUEST", "Unknown bot id: " + unknown},
			{"TelegramMalformedBot", "/integration/telegram/create", `{"botId":"nope","botToken":"` + apiTestToken + `"}`, 400, "BAD_REQUEST", "Unknown bot id"},
			{"TelegramNoBot", "/integration/telegram/create", `{"botToken":"` + apiTestToken + `"}`, 400, "BAD_REQUEST", "Bot"},
			{"TelegramNoToken", "/integration/telegram/create", `{"botId":"` + bot.ID + `"}`, 400, "BAD_REQUEST", "Bot token is required"},
			{"TelegramBadToken", "/integration/telegram/create", `{"botId":"` + bot.ID + `","botToken":"secret"}`, 400, "BAD_REQUEST", "123456789:AA"},
			{"TelegramBadAllowFrom", "/integration/telegram/create", `{"botId":"` + bot.ID + `","botToken":"` + apiTestToken + `","allowFrom":"@ok, not a name"}`, 400, "BAD_REQUEST", "not a name"},
			{"TelegramNegativeSession", "/integration/telegram/create", `{"botId":"` + bot.ID + `","botToken":"` + apiTestToken + `","sessionDuration":-1}`, 400, "BAD_REQUEST", "Session"},
			{"TelegramAttachments", "/integration/telegram/create", `{"botId":"` + bot.ID + `","botToken":"` + apiTestToken + `","attachments":true}`, 400, "BAD_REQUEST", "attachments"},
			{"TelegramUnknownField", "/integration/telegram/create", `{"botId":"` + bot.ID + `","botToken":"` + apiTestToken + `","colour":"red"}`, 400, "BAD_REQUEST", "colour"},
			{"WebhookUnknownBot", "/integration/webhook/create", `{"botId":"` + unknown + `"}`, 400, "BAD_REQUEST", "Unknown bot id"},
			{"WebhookBadCallback", "/integration/webhook/create", `{"botId":"` + bot.ID + `","callbackUrl":"ftp://x"}`, 400, "BAD_REQUEST", "Callback URL"},
			{"WebhookToken", "/integration/webhook/create", `{"botId":"` + bot.ID + `","botToken":"` + apiTestToken + `"}`, 400, "BAD_REQUEST", "botToken"},
			{"TelegramUpdateMissing", "/integration/telegram/" + unknown + "/update", `{"name":"x"}`, 404, "NOT_FOUND", "ntegration"},
			{"TelegramSetupMissing", "/integration/telegram/" + unknown + "/setup", `{}`, 404, "NOT_FOUND", "ntegration"},
			{"ContactEnsureNoFingerprint", "/contact/ensure", `{"name":"Ann"}`, 400, "BAD_REQUEST", "Fingerprint is required"},
			{"ContactBadEmail", "/contact/create", `{"fingerprint":"f1","email":"not-an-email"}`, 400, "BAD_REQUEST", "mail"},
			{"ContactPreferences", "/contact/create", `{"fingerprint":"f1","preferences":"dark"}`, 400, "BAD_REQUEST", "preferences"},
			{"ContactUpdateMissing", "/contact/" + unknown + "/update", `{"name":"x"}`, 404, "NOT_FOUND", "ontact"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := c.post(tc.path, tc.body)
				wantError(t, r, tc.status, tc.code)
				if !strings.Contains(r.str("message")+" "+r.Raw, tc.contains) {
					t.Errorf("the error does not say %q: %s", tc.contains, r.Raw)
				}
				for _, table := range []string{"integrations", "contacts"} {
					if n := count(t, a.store, table); n != 0 {
						t.Errorf("%d rows in %s after a refused request", n, table)
					}
				}
			})
		}
		t.Run("ContactConversationsMissing", func(t *testing.T) {
			wantError(t, c.get("/contact/"+unknown+"/conversation/list"), 404, "NOT_FOUND")
		})
	})
}

// TestAPIIntegrations: the integration/* calls as the SDK makes them —
// secrets never come back, an id of another type is not found, and a
// setup without PARLEY_PUBLIC_URL says what to set.
func TestAPIIntegrations(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		a.store.SetBox(testBox(t))
		c := a.api()
		bot := mustBot(t, a.store, "Helper")
		tg := ok(t, c.post("/integration/telegram/create", `{"name":"Support bot","botId":"`+bot.ID+`","botToken":"`+apiTestToken+`","allowFrom":"@ann\n42","sessionDuration":3600000,"contactCollection":true}`)).str("id")
		got := ok(t, c.get("/integration/telegram/"+tg+"/fetch"))
		if got.str("name") != "Support bot" || got.str("botId") != bot.ID || got.str("allowFrom") != "@ann\n42" ||
			got.JSON["sessionDuration"] != float64(3600000) || got.JSON["contactCollection"] != true {
			t.Errorf("fetch = %s", got.Raw)
		}
		if strings.Contains(got.Raw, "AAE_test") || strings.Contains(got.Raw, "botToken") {
			t.Errorf("fetch shows the bot token: %s", got.Raw)
		}
		ok(t, c.post("/integration/telegram/"+tg+"/update", `{"name":"Renamed"}`))
		if got := ok(t, c.get("/integration/telegram/"+tg+"/fetch")); got.str("name") != "Renamed" || got.str("allowFrom") != "@ann\n42" {
			t.Errorf("after a partial update: %s", got.Raw)
		}
		r := c.post("/integration/telegram/"+tg+"/setup", `{}`)
		wantError(t, r, 400, "BAD_REQUEST")
		if !strings.Contains(r.str("message"), "PARLEY_PUBLIC_URL") {
			t.Errorf("setup without a public URL: %s", r.Raw)
		}

		wh := ok(t, c.post("/integration/webhook/create", `{"name":"Shop","botId":"`+bot.ID+`","callbackUrl":"https://shop.example/parley"}`))
		secret := wh.str("signingSecret")
		if !strings.HasPrefix(secret, store.SigningSecretPrefix) {
			t.Fatalf("create answers no signing secret: %s", wh.Raw)
		}
		whID := wh.str("id")
		fetched := ok(t, c.get("/integration/webhook/"+whID+"/fetch"))
		if strings.Contains(fetched.Raw, secret) || fetched.str("callbackUrl") != "https://shop.example/parley" {
			t.Errorf("webhook fetch = %s", fetched.Raw)
		}
		wantError(t, c.get("/integration/telegram/"+whID+"/fetch"), 404, "NOT_FOUND")
		wantError(t, c.post("/integration/telegram/"+whID+"/delete", `{}`), 404, "NOT_FOUND")
		if items := ok(t, c.get("/integration/telegram/list")).items(); len(items) != 1 || items[0]["id"] != tg {
			t.Errorf("telegram list = %v", items)
		}
		rotated := ok(t, c.post("/integration/webhook/"+whID+"/secret/rotate", `{}`)).str("signingSecret")
		sec, err := a.store.IntegrationSecrets(context.Background(), whID)
		if err != nil || rotated == secret || sec.SigningSecret != rotated {
			t.Errorf("rotate: new %q, stored %q (%v)", rotated, sec.SigningSecret, err)
		}
		ok(t, c.post("/integration/webhook/"+whID+"/delete", `{}`))
		wantError(t, c.get("/integration/webhook/"+whID+"/fetch"), 404, "NOT_FOUND")
	})
}

// TestAPIContacts: ensure twice gives one contact; a taken fingerprint is
// refused by name; a contact's conversations are listed.
func TestAPIContacts(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		first := ok(t, c.post("/contact/ensure", `{"fingerprint":"tg:42","name":"Ann"}`))
		second := ok(t, c.post("/contact/ensure", `{"fingerprint":"tg:42","nick":"ann"}`))
		if first.str("id") != second.str("id") || first.JSON["created"] != true || second.JSON["created"] != false {
			t.Fatalf("ensure twice: %s then %s", first.Raw, second.Raw)
		}
		id := first.str("id")
		got := ok(t, c.get("/contact/"+id+"/fetch"))
		if got.str("name") != "Ann" || got.str("nick") != "ann" || got.str("fingerprint") != "tg:42" {
			t.Errorf("fetch = %s", got.Raw)
		}
		if r := c.post("/contact/create", `{"fingerprint":"tg:42"}`); r.Status != 400 || !strings.Contains(r.str("message"), "fingerprint already exists") {
			t.Errorf("a taken fingerprint: %d %s", r.Status, r.Raw)
		}
		other := ok(t, c.post("/contact/create", `{"name":"Bob"}`)).str("id")
		if n := count(t, a.store, "contacts"); n != 2 {
			t.Errorf("%d contacts, want 2", n)
		}
		ok(t, c.post("/contact/"+other+"/update", `{"email":"bob@example.com"}`))
		if got := ok(t, c.get("/contact/"+other+"/fetch")); got.str("email") != "bob@example.com" || got.str("name") != "Bob" {
			t.Errorf("after update: %s", got.Raw)
		}
		bot := mustBot(t, a.store, "Helper")
		conv, err := a.store.CreateConversation(context.Background(), models.Conversation{BotID: &bot.ID, ContactID: &id}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if items := ok(t, c.get("/contact/"+id+"/conversation/list")).items(); len(items) != 1 || items[0]["id"] != conv.ID {
			t.Errorf("contact conversations = %v", items)
		}
		if items := ok(t, c.get("/contact/"+other+"/conversation/list")).items(); len(items) != 0 {
			t.Errorf("other contact's conversations = %v", items)
		}
		ok(t, c.post("/contact/"+id+"/delete", `{}`))
		wantError(t, c.get("/contact/"+id+"/fetch"), 404, "NOT_FOUND")
	})
}
