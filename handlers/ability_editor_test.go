package handlers

import (
	"context"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"parley/models"
)

// TestAbilityEditor builds abilities through the form alone — no JSON typed —
// and checks what they become, the errors next to the rows at fault, the
// switch to the JSON view and back, and that edits keep meta the form does
// not own.
func TestAbilityEditor(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		c := a.as(models.RoleBuilder)
		k := mustCreateSkillset(t, a, models.Skillset{Name: "Tools"})
		a.store.SetBox(testBox(t))
		if _, err := a.store.CreateVaultSecret(ctx, models.VaultSecret{Name: "WEATHER_KEY"}, "k-123"); err != nil {
			t.Fatal(err)
		}
		base := func(extra url.Values) url.Values {
			v := url.Values{"name": {"Weather"}, "description": {"Use for the weather."}, "editor": {"form"}, "action": {"fetch"},
				"method": {"GET"}, "url": {"https://api.example/weather?city={city}&days={days}"},
				"paramName": {"city", "days", ""}, "paramDescription": {"The city", "How many days", ""},
				"paramType": {"string", "integer", "string"}, "paramRequired": {"yes", "no", "yes"},
				"headerName": {"Authorization", ""}, "headerValue": {"Bearer {{secret:WEATHER_KEY}}", ""}}
			for k, vs := range extra {
				v[k] = vs
			}
			return v
		}
		var fetchID string
		t.Run("FetchThroughTheForm", func(t *testing.T) {
			r := c.post("/skillsets/"+k.ID+"/abilities", base(nil))
			wantStatus(t, r, 303)
			got := mustFindAbilities(t, a, k.ID)
			if len(got) != 1 {
				t.Fatalf("abilities = %+v", got)
			}
			fetchID = got[0].ID
			want := models.Meta{"action": "fetch", "method": "GET", "url": "https://api.example/weather?city={city}&days={days}",
				"parameters": []any{
					map[string]any{"name": "city", "description": "The city", "required": true},
					map[string]any{"name": "days", "description": "How many days", "type": "integer", "required": false},
				},
				"headers": map[string]any{"Authorization": "Bearer {{secret:WEATHER_KEY}}"}}
			if diff := cmp.Diff(want, got[0].Meta); diff != "" {
				t.Errorf("meta (-want +got):\n%s", diff)
			}
			edit := c.get("/skillsets/" + k.ID + "/abilities/" + fetchID + "/edit")
			wantBody(t, edit, `name="action" value="fetch" checked`, `value="city"`, `value="How many days"`,
				`value="Bearer {{secret:WEATHER_KEY}}"`, `<option value="{{secret:WEATHER_KEY}}">`)
		})
		for _, tc := range []struct {
			name  string
			extra url.Values
			field string
			want  string
		}{
			{"ErrPlaceholderWithoutParameter", url.Values{"paramName": {"city", ""}, "paramDescription": {"", ""}, "paramType": {"string", "string"}, "paramRequired": {"yes", "yes"}},
				"e-url", "The URL uses {days}, but no parameter has that name"},
			{"ErrDuplicateParameter", url.Values{"paramName": {"city", "city", "days"}, "paramDescription": {"", "", ""}, "paramType": {"string", "string", "string"}, "paramRequired": {"yes", "yes", "yes"}},
				"e-p-1", "There are two parameters named city."},
			{"ErrBadParameterName", url.Values{"paramName": {"city", "two words", "days"}, "paramDescription": {"", "", ""}, "paramType": {"string", "string", "string"}, "paramRequired": {"yes", "yes", "yes"}},
				"e-p-1", "A parameter name is letters, digits and _"},
			{"ErrBadHeaderName", url.Values{"headerName": {"Bad Header"}, "headerValue": {"x"}}, "e-h-0", "A header name is letters"},
			{"ErrNoURL", url.Values{"url": {" "}, "paramName": {""}, "paramDescription": {""}, "paramType": {"string"}, "paramRequired": {"yes"}}, "e-url", "URL is required"},
			{"ErrMethod", url.Values{"method": {"DELETE"}}, "", "Method must be GET or POST."},
			{"ErrUnknownSecret", url.Values{"headerValue": {"Bearer {{secret:NOPE}}"}}, "", "No vault secret named NOPE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := len(mustFindAbilities(t, a, k.ID))
				r := c.post("/skillsets/"+k.ID+"/abilities", base(tc.extra))
				wantStatus(t, r, 422)
				if tc.field != "" {
					wantBody(t, r, `id="`+tc.field+`"`)
				}
				wantBody(t, r, tc.want, `value="Weather"`)
				if n := len(mustFindAbilities(t, a, k.ID)); n != before {
					t.Errorf("a refused form wrote an ability (%d → %d)", before, n)
				}
			})
		}
		t.Run("SwitchToJSONAndBack", func(t *testing.T) {
			r := c.post("/skillsets/"+k.ID+"/abilities", url.Values{"name": {"Clock"}, "editor": {"form"}, "action": {"builtin:datetime"},
				"timezone": {"Europe/Berlin"}, "switch": {"json"}})
			wantStatus(t, r, 200)
			wantBody(t, r, `<label for="f-meta">`, "&#34;timezone&#34;: &#34;Europe/Berlin&#34;", `name="editor" value="json"`)
			if n := len(mustFindAbilities(t, a, k.ID)); n > 1 {
				t.Error("switching the editor saved the ability")
			}
			r = c.post("/skillsets/"+k.ID+"/abilities", url.Values{"name": {"Clock"}, "editor": {"json"},
				"meta": {`{"action": "builtin:datetime", "timezone": "Asia/Tokyo", "team": "ops"}`}, "switch": {"form"}})
			wantStatus(t, r, 200)
			wantBody(t, r, `name="action" value="builtin:datetime" checked`, `value="Asia/Tokyo"`, `name="extra" value="{&#34;team&#34;:&#34;ops&#34;}"`)
		})
		t.Run("OptionsTheFormCannotShowOpenAsJSON", func(t *testing.T) {
			ab, err := a.store.CreateAbility(ctx, models.Ability{SkillsetID: k.ID, Name: "Units", Meta: models.Meta{"action": "fetch", "url": "https://u.example/{unit}",
				"parameters": []any{map[string]any{"name": "unit", "required": true, "enum": []any{"c", "f"}}}}})
			if err != nil {
				t.Fatal(err)
			}
			edit := c.get("/skillsets/" + k.ID + "/abilities/" + ab.ID + "/edit")
			wantBody(t, edit, `<label for="f-meta">`, "&#34;enum&#34;")
		})
		t.Run("FormEditKeepsOtherMeta", func(t *testing.T) {
			ab, err := a.store.CreateAbility(ctx, models.Ability{SkillsetID: k.ID, Name: "Calc", Meta: models.Meta{"action": "builtin:calculator", "owner": "finance"}})
			if err != nil {
				t.Fatal(err)
			}
			edit := c.get("/skillsets/" + k.ID + "/abilities/" + ab.ID + "/edit")
			wantBody(t, edit, `name="action" value="builtin:calculator" checked`)
			r := c.post("/skillsets/"+k.ID+"/abilities/"+ab.ID, url.Values{"name": {"Calculator"}, "editor": {"form"}, "action": {"builtin:calculator"},
				"extra": {`{"owner":"finance"}`}})
			wantStatus(t, r, 303)
			got, err := a.store.FindAbility(ctx, k.ID, ab.ID)
			if err != nil || got.Meta["owner"] != "finance" || got.Meta["action"] != "builtin:calculator" || got.Name != "Calculator" {
				t.Errorf("after a form edit: %+v (%v)", got, err)
			}
		})
		t.Run("InstructionOnly", func(t *testing.T) {
			r := c.post("/skillsets/"+k.ID+"/abilities", url.Values{"name": {"Tone"}, "editor": {"form"}, "action": {""}, "instruction": {"Be kind."}})
			wantStatus(t, r, 303)
		})
	})
}
