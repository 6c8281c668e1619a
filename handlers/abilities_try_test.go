package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parley/models"
)

// mustCreateActionAbility inserts an ability of skillsetID with meta straight into the store.
func mustCreateActionAbility(t *testing.T, a *testApp, skillsetID, name string, meta models.Meta) *models.Ability {
	t.Helper()
	got, err := a.store.CreateAbility(context.Background(), models.Ability{SkillsetID: skillsetID, Name: name,
		Description: "Use when " + name + " helps.", Meta: meta})
	if err != nil {
		t.Fatalf("CreateAbility: %v", err)
	}
	return got
}

// tryURL is where an ability's "try it" form posts.
func tryURL(ab *models.Ability) string {
	return "/skillsets/" + ab.SkillsetID + "/abilities/" + ab.ID + "/try"
}

func TestAbilityTry(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		k := mustCreateSkillset(t, a, models.Skillset{Name: "Try tools"})
		calc := mustCreateActionAbility(t, a, k.ID, "Calculator", models.Meta{"action": "builtin:calculator"})
		clock := mustCreateActionAbility(t, a, k.ID, "Clock", models.Meta{"action": "builtin:datetime"})
		plain := mustCreateActionAbility(t, a, k.ID, "Refund policy", nil)
		broken := mustCreateActionAbility(t, a, k.ID, "Broken", models.Meta{"action": "builtin:teleport"})

		var hits atomic.Int64
		internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			hits.Add(1)
			_, _ = w.Write([]byte("internal secret"))
		}))
		t.Cleanup(internal.Close)
		fetch := mustCreateActionAbility(t, a, k.ID, "Status", models.Meta{"action": "fetch", "method": "GET",
			"url":        internal.URL + "/status?q={query}",
			"parameters": []any{map[string]any{"name": "query", "description": "What to look up.", "required": true}}})

		builder := a.as(models.RoleBuilder)

		t.Run("EditPageShowsCard", func(t *testing.T) {
			r := builder.get("/skillsets/" + k.ID + "/abilities/" + calc.ID)
			wantStatus(t, r, 200)
			wantBody(t, r, `id="ability-try"`, "<code>calculator</code>", "<code>expression</code>", "required",
				"Sample input (JSON)", `&#34;expression&#34;: &#34;…&#34;`, `hx-post="`+tryURL(calc)+`"`, "Try it")
		})
		t.Run("EditPageNoParams", func(t *testing.T) {
			r := builder.get("/skillsets/" + k.ID + "/abilities/" + clock.ID)
			wantStatus(t, r, 200)
			wantBody(t, r, "None: it runs without input.", `>{}</textarea>`)
		})
		t.Run("NewPageHasNoCard", func(t *testing.T) {
			r := builder.get("/skillsets/" + k.ID + "/abilities/new")
			wantStatus(t, r, 200)
			wantNoBody(t, r, `id="ability-try"`)
		})

		t.Run("Calculator", func(t *testing.T) {
			r := builder.htmx(tryURL(calc), url.Values{"input": {`{"expression": "6*7"}`}})
			wantStatus(t, r, 200)
			wantBody(t, r, "<pre>42</pre>", " ms", `hx-swap-oob="true"`)
			wantNoBody(t, r, "<html", "error-text")
		})
		t.Run("CalculatorError", func(t *testing.T) {
			r := builder.htmx(tryURL(calc), url.Values{"input": {`{"expression": "6*"}`}})
			wantStatus(t, r, 200)
			wantBody(t, r, "Failed after", `ability &#34;Calculator&#34;`)
		})
		t.Run("Datetime", func(t *testing.T) {
			before := time.Now().UTC().Year()
			r := builder.htmx(tryURL(clock), url.Values{"input": {""}})
			after := time.Now().UTC().Year()
			wantStatus(t, r, 200)
			if !strings.Contains(r.Body, strconv.Itoa(before)) && !strings.Contains(r.Body, strconv.Itoa(after)) {
				t.Errorf("body does not contain the year %d; body:\n%s", before, shorten(r.Body, 2000))
			}
			wantBody(t, r, "Now (UTC)")
		})
		t.Run("WithoutJS", func(t *testing.T) {
			r := builder.post(tryURL(calc), url.Values{"input": {`{"expression": "6*7"}`}})
			wantStatus(t, r, 200)
			wantBody(t, r, "<html", "<h1>Calculator</h1>", "Built-in calculator", "<pre>42</pre>", `&#34;6*7&#34;`)
		})
		t.Run("ErrBadJSON", func(t *testing.T) {
			r := builder.htmx(tryURL(calc), url.Values{"input": {`{"expression": `}})
			wantStatus(t, r, 422)
			wantBody(t, r, "Sample input is not valid JSON", `aria-invalid="true"`, `>{&#34;expression&#34;: </textarea>`)
			wantNoBody(t, r, "<pre>")
		})
		t.Run("ErrBadJSONWithoutJS", func(t *testing.T) {
			r := builder.post(tryURL(calc), url.Values{"input": {`[1, 2]`}})
			wantStatus(t, r, 422)
			wantBody(t, r, "<html", "Sample input must be a JSON object", `>[1, 2]</textarea>`)
		})
		t.Run("ErrInputTooLong", func(t *testing.T) {
			long := `{"expression": "` + strings.Repeat("6", abilityTryMaxInput) + `"}`
			r := builder.htmx(tryURL(calc), url.Values{"input": {long}})
			wantStatus(t, r, 422)
			wantBody(t, r, "at most 20000 characters")
		})
		t.Run("InstructionOnly", func(t *testing.T) {
			r := builder.get("/skillsets/" + k.ID + "/abilities/" + plain.ID)
			wantStatus(t, r, 200)
			wantBody(t, r, "no action to run")
			wantNoBody(t, r, "Sample input (JSON)")

			r = builder.htmx(tryURL(plain), url.Values{"input": {"{}"}})
			wantStatus(t, r, 200)
			wantBody(t, r, "no action to run")
			if got := r.Header.Get("HX-Retarget"); got != "#ability-try" {
				t.Errorf("HX-Retarget = %q, want #ability-try", got)
			}
		})
		t.Run("InvalidAction", func(t *testing.T) {
			r := builder.htmx(tryURL(broken), url.Values{"input": {"{}"}})
			wantStatus(t, r, 200)
			wantBody(t, r, "unknown action", "builtin:teleport")
			wantNoBody(t, r, "Sample input (JSON)")
		})
		t.Run("FetchIsGuarded", func(t *testing.T) {
			r := builder.get("/skillsets/" + k.ID + "/abilities/" + fetch.ID)
			wantStatus(t, r, 200)
			wantBody(t, r, "<code>query</code>", "What to look up.")

			r = builder.htmx(tryURL(fetch), url.Values{"input": {`{"query": "orders"}`}})
			wantStatus(t, r, 200)
			wantBody(t, r, "Failed after", "blocked", "loopback")
			wantNoBody(t, r, "internal secret")
			if n := hits.Load(); n != 0 {
				t.Errorf("the internal server got %d requests, want 0", n)
			}
		})
		t.Run("ErrNotOnGET", func(t *testing.T) {
			r := builder.get(tryURL(calc))
			wantStatus(t, r, 404)
			wantNoBody(t, r, "<pre>")
		})
		t.Run("QAMayTry", func(t *testing.T) {
			qa := a.as(models.RoleQA)
			page := qa.get("/skillsets/" + k.ID + "/abilities/" + calc.ID)
			wantStatus(t, page, 200)
			wantBody(t, page, `id="ability-try"`)
			wantNoBody(t, page, `/edit">Edit</a>`)
			r := qa.htmx(tryURL(calc), url.Values{"input": {`{"expression": "6*7"}`}})
			wantStatus(t, r, 200)
			wantBody(t, r, "<pre>42</pre>")
		})
		t.Run("ErrSupport", func(t *testing.T) {
			r := a.as(models.RoleSupport).htmx(tryURL(calc), url.Values{"input": {`{"expression": "6*7"}`}})
			wantStatus(t, r, 403)
			wantNoBody(t, r, "<pre>42</pre>")
		})
		t.Run("ErrNoCSRF", func(t *testing.T) {
			r := builder.post(tryURL(calc), url.Values{"_csrf": {""}, "input": {`{"expression": "6*7"}`}})
			wantStatus(t, r, 403)
			wantNoBody(t, r, "<pre>42</pre>")
		})
		t.Run("ErrUnknownAbility", func(t *testing.T) {
			r := builder.htmx("/skillsets/"+k.ID+"/abilities/"+models.NewID()+"/try", url.Values{"input": {"{}"}})
			wantStatus(t, r, 404)
		})
		t.Run("ErrAbilityOfAnotherSkillset", func(t *testing.T) {
			other := mustCreateSkillset(t, a, models.Skillset{Name: "Other tools"})
			r := builder.htmx("/skillsets/"+other.ID+"/abilities/"+calc.ID+"/try", url.Values{"input": {"{}"}})
			wantStatus(t, r, 404)
		})
	})
}

func TestSampleInput(t *testing.T) {
	tests := []struct {
		name   string
		schema map[string]any
		want   string
	}{
		{"None", map[string]any{"type": "object", "properties": map[string]any{}}, "{}"},
		{"OptionalOnly", map[string]any{"type": "object", "properties": map[string]any{"q": map[string]any{"type": "string"}}}, "{}"},
		{"Types", map[string]any{"type": "object", "properties": map[string]any{
			"s": map[string]any{"type": "string"},
			"n": map[string]any{"type": "integer"},
			"b": map[string]any{"type": "boolean"},
			"e": map[string]any{"type": "string", "enum": []any{"eu", "us"}},
			"o": map[string]any{"type": "string"},
		}, "required": []string{"s", "n", "b", "e"}},
			"{\n  \"b\": false,\n  \"e\": \"eu\",\n  \"n\": 0,\n  \"s\": \"…\"\n}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sampleInput(toolParams(tt.schema)); got != tt.want {
				t.Errorf("sampleInput = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestToolParamsOrder(t *testing.T) {
	params := toolParams(map[string]any{"type": "object", "properties": map[string]any{
		"z": map[string]any{"type": "string"}, "a": map[string]any{"type": "string"}, "m": map[string]any{"type": "number"},
	}, "required": []any{"m"}})
	var got []string
	for _, p := range params {
		got = append(got, p.Name)
	}
	if want := []string{"m", "a", "z"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}
