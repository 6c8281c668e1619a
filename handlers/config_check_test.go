package handlers

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"parley/models"
	"parley/models/store"
)

// Configuration typos — an unknown ability action, a vault secret that does
// not exist, a model naming an unknown provider — are refused when saved, on
// the dashboard (422, the message next to the field, the input kept) and the
// API (400 with fields), with a message naming what exists; nothing is
// written. The checks are the real ones (testOptions).

const (
	msgUnknownAction = "Unknown action builtin:calculater. Known actions: builtin:datetime, builtin:calculator, fetch."
	msgNoSecret      = "No vault secret named NOPE. Secrets in the vault: WEATHER_KEY."
	msgVaultEmpty    = "No vault secret named NOPE. The vault is empty: add the secret under Vault first."
	msgNoProvider    = "No provider named olama. Providers: local, bare, ollama."
	msgNoDefault     = "Provider bare has no default model: name one, like bare/MODEL, or set its default model under Providers."
)

// metaJSON is an ability meta as the form's textarea holds it.
func metaJSON(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}

var (
	metaTypo        = metaJSON(map[string]any{"action": "builtin:calculater"})
	metaCalc        = metaJSON(map[string]any{"action": "builtin:calculator"})
	metaFetchNope   = metaJSON(map[string]any{"action": "fetch", "url": "https://api.weather.example/now", "headers": map[string]any{"Authorization": "Bearer {{secret:NOPE}}"}})
	metaFetchKey    = metaJSON(map[string]any{"action": "fetch", "url": "https://api.weather.example/now", "headers": map[string]any{"Authorization": "Bearer {{secret:WEATHER_KEY}}"}})
	metaFetchNoSecr = metaJSON(map[string]any{"action": "fetch", "url": "https://api.weather.example/now"})
)

// setUpConfig adds the providers ollama (default model llama3) and bare (no
// default model), so model strings have something to name.
func setUpConfig(t *testing.T, a *testApp) {
	t.Helper()
	ctx := context.Background()
	for _, p := range []models.Provider{
		{Name: "ollama", BaseURL: "http://localhost:11434/v1", DefaultModel: "llama3", TimeoutSeconds: 30},
		{Name: "bare", BaseURL: "http://localhost:8080/v1", TimeoutSeconds: 30},
	} {
		if _, err := a.store.CreateProvider(ctx, p, ""); err != nil {
			t.Fatalf("CreateProvider %s: %v", p.Name, err)
		}
	}
}

// addVaultSecret stores WEATHER_KEY in the vault.
func addVaultSecret(t *testing.T, a *testApp) {
	t.Helper()
	a.store.SetBox(testBox(t))
	if _, err := a.store.CreateVaultSecret(context.Background(), models.VaultSecret{Name: "WEATHER_KEY"}, "sk-weather"); err != nil {
		t.Fatalf("CreateVaultSecret: %v", err)
	}
}

func TestFormsCheckConfig(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		builder := a.as(models.RoleBuilder)
		setUpConfig(t, a)
		bot, err := a.store.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Helpdesk", Model: "local"}})
		if err != nil {
			t.Fatal(err)
		}
		k := mustCreateSkillset(t, a, models.Skillset{Name: "Tools"})
		ab := mustCreateActionAbility(t, a, k.ID, "Clock", models.Meta{"action": "builtin:datetime"})
		abilities := "/skillsets/" + k.ID + "/abilities"

		t.Run("ErrVaultEmpty", func(t *testing.T) {
			before := snapshotRows(t, a)
			r := builder.post(abilities, form("name", "Weather", "meta", metaFetchNope))
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-meta"`, msgVaultEmpty, `value="Weather"`)
			if snapshotRows(t, a) != before {
				t.Error("a refused form wrote")
			}
		})
		addVaultSecret(t, a)

		refused := []struct {
			name, path string
			form       url.Values
			field, msg string
			kept       string
		}{
			{"BotUnknownProvider", "/bots", form("name", "Keep bot", "model", "olama/llama3"), "model", msgNoProvider, `value="olama/llama3"`},
			{"BotUnknownPlainProvider", "/bots", form("name", "Keep bot", "model", "olama"), "model", "No provider named olama.", `value="Keep bot"`},
			{"BotNoDefaultModel", "/bots", form("name", "Keep bot", "model", "bare"), "model", msgNoDefault, `value="Keep bot"`},
			{"BotUpdateUnknownProvider", "/bots/" + bot.ID, form("name", "Renamed", "model", "olama/llama3"), "model", msgNoProvider, `value="Renamed"`},
			{"AbilityUnknownAction", abilities, form("name", "Calc", "instruction", "Keep instruction", "meta", metaTypo), "meta", msgUnknownAction, "Keep instruction"},
			{"AbilityUnknownSecret", abilities, form("name", "Weather", "meta", metaFetchNope), "meta", msgNoSecret, `value="Weather"`},
			{"AbilityFetchWithoutURL", abilities, form("name", "Status", "meta", `{"action": "fetch"}`), "meta", "a fetch action needs a url.", `value="Status"`},
			{"AbilityUpdateUnknownAction", abilities + "/" + ab.ID, form("name", "Renamed clock", "meta", metaTypo), "meta", msgUnknownAction, `value="Renamed clock"`},
			{"ConversationUnknownProvider", "/conversations", form("name", "Keep conversation", "backstory", "Be brief.", "model", "olama/llama3"), "model", msgNoProvider, `value="Keep conversation"`},
		}
		for _, tc := range refused {
			t.Run("Err"+tc.name, func(t *testing.T) {
				before := snapshotRows(t, a)
				r := builder.post(tc.path, tc.form)
				wantStatus(t, r, 422)
				wantBody(t, r, `id="e-`+tc.field+`"`, tc.msg, tc.kept)
				if after := snapshotRows(t, a); after != before {
					t.Errorf("a refused form wrote:\nbefore %s\nafter  %s", before, after)
				}
			})
		}

		for _, model := range []string{"local", "local/anything", "ollama", "ollama/llama3.1", "OLLAMA/llama3.1", "bare/some-model", ""} {
			t.Run("BotModelOK_"+url.PathEscape(model), func(t *testing.T) {
				r := builder.post("/bots", form("name", "Bot "+model, "model", model))
				wantStatus(t, r, 303)
				b, err := a.store.FindBot(ctx, createdID(t, r))
				if err != nil || b.Model != model {
					t.Errorf("bot model = %q (%v), want %q", b.Model, err, model)
				}
			})
		}
		for name, meta := range map[string]string{"KnownAction": metaCalc, "ExistingSecret": metaFetchKey, "FetchWithoutSecrets": metaFetchNoSecr, "InstructionOnly": `{"seed": "x"}`} {
			t.Run("AbilityOK_"+name, func(t *testing.T) {
				wantStatus(t, builder.post(abilities, form("name", name, "meta", meta)), 303)
			})
		}
		t.Run("AbilityUpdateOK", func(t *testing.T) {
			wantStatus(t, builder.post(abilities+"/"+ab.ID, form("name", "Weather now", "meta", metaFetchKey)), 303)
			got, err := a.store.FindAbility(ctx, k.ID, ab.ID)
			if err != nil || got.Name != "Weather now" {
				t.Errorf("ability = %+v, %v", got, err)
			}
		})
		t.Run("ConversationOK", func(t *testing.T) {
			wantStatus(t, builder.post("/conversations", form("backstory", "Be brief.", "model", "ollama/llama3")), 303)
		})
	})
}

func TestAPIChecksConfig(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		setUpConfig(t, a)
		ks := mustCreate(t, c, "/skillset/create", `{"name":"Tools"}`)
		ab := mustCreate(t, c, "/skillset/"+ks+"/ability/create", `{"name":"Clock","meta":{"action":"builtin:datetime"}}`)
		bot := mustCreate(t, c, "/bot/create", `{"name":"Helpdesk","model":"ollama"}`)
		conv := mustCreate(t, c, "/conversation/create", `{"backstory":"Be brief."}`)

		t.Run("ErrVaultEmpty", func(t *testing.T) {
			before := snapshotRows(t, a)
			r := c.post("/skillset/"+ks+"/ability/create", `{"name":"Weather","meta":`+metaFetchNope+`}`)
			wantBadRequest(t, r, "meta")
			if got := r.JSON["fields"].(map[string]any)["meta"]; got != msgVaultEmpty {
				t.Errorf("meta: %q, want %q", got, msgVaultEmpty)
			}
			if snapshotRows(t, a) != before {
				t.Error("a refused request wrote")
			}
		})
		addVaultSecret(t, a)

		refused := []struct {
			name, path, body, field, msg string
		}{
			{"BotCreateUnknownProvider", "/bot/create", `{"name":"B","model":"olama/llama3"}`, "model", msgNoProvider},
			{"BotCreateNoDefaultModel", "/bot/create", `{"name":"B","model":"bare"}`, "model", msgNoDefault},
			{"BotUpdateUnknownProvider", "/bot/" + bot + "/update", `{"model":"olama/llama3"}`, "model", msgNoProvider},
			{"AbilityCreateUnknownAction", "/skillset/" + ks + "/ability/create", `{"name":"Calc","meta":` + metaTypo + `}`, "meta", msgUnknownAction},
			{"AbilityCreateUnknownSecret", "/skillset/" + ks + "/ability/create", `{"name":"Weather","meta":` + metaFetchNope + `}`, "meta", msgNoSecret},
			{"AbilityUpdateUnknownAction", "/skillset/" + ks + "/ability/" + ab + "/update", `{"meta":` + metaTypo + `}`, "meta", msgUnknownAction},
			{"AbilityUpdateUnknownSecret", "/skillset/" + ks + "/ability/" + ab + "/update", `{"name":"W","meta":` + metaFetchNope + `}`, "meta", msgNoSecret},
			{"ConversationCreateUnknownProvider", "/conversation/create", `{"model":"olama/llama3","messages":[{"type":"user","text":"hi"}]}`, "model", msgNoProvider},
			{"ConversationUpdateUnknownProvider", "/conversation/" + conv + "/update", `{"model":"olama/llama3"}`, "model", msgNoProvider},
			{"StatelessCompleteUnknownProvider", "/conversation/complete", `{"model":"olama/llama3","messages":[{"type":"user","text":"hi"}]}`, "model", msgNoProvider},
		}
		for _, tc := range refused {
			t.Run("Err"+tc.name, func(t *testing.T) {
				before := snapshotRows(t, a)
				r := c.post(tc.path, tc.body)
				wantBadRequest(t, r, tc.field)
				if got := r.JSON["fields"].(map[string]any)[tc.field]; got != tc.msg {
					t.Errorf("%s: %q, want %q", tc.field, got, tc.msg)
				}
				if r.str("message") != tc.msg {
					t.Errorf("message = %q, want %q", r.str("message"), tc.msg)
				}
				if after := snapshotRows(t, a); after != before {
					t.Errorf("a refused request wrote:\nbefore %s\nafter  %s", before, after)
				}
			})
		}

		for _, model := range []string{"local", "local/anything", "ollama", "ollama/llama3.1", "Ollama/llama3.1", "bare/some-model"} {
			t.Run("ModelOK_"+url.PathEscape(model), func(t *testing.T) {
				id := mustCreate(t, c, "/bot/create", `{"name":"B","model":"`+model+`"}`)
				if got := ok(t, c.get("/bot/"+id+"/fetch")).str("model"); got != model {
					t.Errorf("model = %q, want %q", got, model)
				}
				ok(t, c.post("/bot/"+bot+"/update", `{"model":"`+model+`"}`))
				mustCreate(t, c, "/conversation/create", `{"model":"`+model+`"}`)
				ok(t, c.post("/conversation/"+conv+"/update", `{"model":"`+model+`"}`))
			})
		}
		for name, meta := range map[string]string{"KnownAction": metaCalc, "ExistingSecret": metaFetchKey, "FetchWithoutSecrets": metaFetchNoSecr} {
			t.Run("AbilityOK_"+name, func(t *testing.T) {
				mustCreate(t, c, "/skillset/"+ks+"/ability/create", `{"name":"`+name+`","meta":`+meta+`}`)
				ok(t, c.post("/skillset/"+ks+"/ability/"+ab+"/update", `{"meta":`+meta+`}`))
			})
		}
		t.Run("UnchangedFieldsNotChecked", func(t *testing.T) {
			// A bot or an ability saved before the checks existed can still be
			// renamed: what a request does not change is not checked again.
			b, err := a.store.CreateBot(context.Background(), store.BotInput{Bot: models.Bot{Name: "Old", Model: "olama/llama3"}})
			if err != nil {
				t.Fatal(err)
			}
			ok(t, c.post("/bot/"+b.ID+"/update", `{"name":"Renamed"}`))
			old := mustCreateActionAbility(t, a, ks, "Old", models.Meta{"action": "builtin:calculater"})
			ok(t, c.post("/skillset/"+ks+"/ability/"+old.ID+"/update", `{"name":"Renamed"}`))
		})
	})
}
