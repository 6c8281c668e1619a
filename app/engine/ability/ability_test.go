package ability_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"parley/app/engine/ability"
	"parley/app/provider"
	"parley/models"
)

// mustParse parses an ability that must have an action.
func mustParse(t *testing.T, a models.Ability, opts ...ability.Option) ability.Runner {
	t.Helper()
	r, err := ability.Parse(a, opts...)
	if err != nil {
		t.Fatalf("Parse(%q): %v", a.Name, err)
	}
	if r == nil {
		t.Fatalf("Parse(%q) = nil, want a runner", a.Name)
	}
	return r
}

func TestParseInstructionOnly(t *testing.T) {
	tests := []struct {
		name string
		meta models.Meta
	}{
		{"NilMeta", nil},
		{"EmptyMeta", models.Meta{}},
		{"OtherKeys", models.Meta{"seed": "demo"}},
		{"NullAction", models.Meta{"action": nil}},
		{"BlankAction", models.Meta{"action": "  "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ability.Parse(models.Ability{Name: "Tone", Instruction: "Be kind.", Meta: tt.meta})
			if err != nil || r != nil {
				t.Errorf("Parse = (%v, %v), want (nil, nil)", r, err)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name    string
		meta    models.Meta
		wantErr string
	}{
		{"ErrActionNotString", models.Meta{"action": 3}, `"action" must be a string`},
		{"ErrUnknownAction", models.Meta{"action": "builtin:weather"}, `unknown action "builtin:weather"`},
		{"ErrTimezone", models.Meta{"action": "builtin:datetime", "timezone": "Mars/Olympus"}, `unknown timezone "Mars/Olympus"`},
		{"ErrTimezoneType", models.Meta{"action": "builtin:datetime", "timezone": 1}, `"timezone" must be a string`},
		{"ErrFetchNoURL", models.Meta{"action": "fetch"}, "needs a url"},
		{"ErrFetchURLType", models.Meta{"action": "fetch", "url": 5}, `"url" has the wrong type`},
		{"ErrFetchRelativeURL", models.Meta{"action": "fetch", "url": "/api/status"}, "must start with http:// or https://"},
		{"ErrFetchRelativeTemplate", models.Meta{"action": "fetch", "url": "/api/{x}"}, "must start with http:// or https://"},
		{"ErrFetchScheme", models.Meta{"action": "fetch", "url": "ftp://files.example/x"}, "must start with http:// or https://"},
		{"ErrFetchFileScheme", models.Meta{"action": "fetch", "url": "file:///etc/passwd"}, "must start with http:// or https://"},
		{"ErrFetchNoHost", models.Meta{"action": "fetch", "url": "https:///path"}, "has no host"},
		{"ErrFetchUnclosed", models.Meta{"action": "fetch", "url": "https://a.example/{query"}, `"{" at position 19 without a closing "}"`},
		{"ErrFetchStrayBrace", models.Meta{"action": "fetch", "url": "https://a.example/x}"}, `"}" at position 20 without an opening "{"`},
		{"ErrFetchBadPlaceholder", models.Meta{"action": "fetch", "url": "https://a.example/{a b}"}, "placeholder {a b}"},
		{"ErrFetchPlaceholderInHost", models.Meta{"action": "fetch", "url": "https://{host}/x"}, "in its scheme or host"},
		{"ErrFetchPlaceholderInPort", models.Meta{"action": "fetch", "url": "https://a.example:{port}/x"}, "in its scheme or host"},
		{"ErrFetchSecretInURL", models.Meta{"action": "fetch", "url": "https://a.example/?key={{secret:k}}"}, "put {{secret:NAME}} in a header"},
		{"ErrFetchMethod", models.Meta{"action": "fetch", "method": "DELETE", "url": "https://a.example/"}, `method "DELETE" is not supported`},
		{"ErrParamName", models.Meta{"action": "fetch", "url": "https://a.example/", "parameters": []any{map[string]any{"name": "a-b"}}}, `parameter 1 has the name "a-b"`},
		{"ErrParamTwice", models.Meta{"action": "fetch", "url": "https://a.example/", "parameters": []any{map[string]any{"name": "q"}, map[string]any{"name": "q"}}}, `parameter "q" is declared twice`},
		{"ErrParamType", models.Meta{"action": "fetch", "url": "https://a.example/", "parameters": []any{map[string]any{"name": "q", "type": "date"}}}, `has the type "date"`},
		{"ErrParamsNotList", models.Meta{"action": "fetch", "url": "https://a.example/", "parameters": "q"}, `"parameters" has the wrong type`},
		{"ErrHeaderName", models.Meta{"action": "fetch", "url": "https://a.example/", "headers": map[string]any{"X Token": "v"}}, `header name "X Token" is not valid`},
		{"ErrHeaderValueType", models.Meta{"action": "fetch", "url": "https://a.example/", "headers": map[string]any{"X-Token": 5}}, `has the wrong type`},
		{"ErrHeaderSecretUnclosed", models.Meta{"action": "fetch", "url": "https://a.example/", "headers": map[string]any{"X-Token": "{{secret:k"}}, `without a closing "}}"`},
		{"ErrHeaderSecretName", models.Meta{"action": "fetch", "url": "https://a.example/", "headers": map[string]any{"X-Token": "{{secret:a b}}"}}, `secret name "a b" is not valid`},
		{"ErrHeaderNewline", models.Meta{"action": "fetch", "url": "https://a.example/", "headers": map[string]any{"X-Token": "a\r\nHost: evil"}}, "line breaks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ability.Parse(models.Ability{Name: "Status check", Meta: tt.meta})
			if err == nil {
				t.Fatalf("Parse = %v, want an error containing %q", r, tt.wantErr)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", msg, tt.wantErr)
			}
			if !strings.HasPrefix(msg, `Ability "Status check": `) {
				t.Errorf("error = %q, want it to name the ability", msg)
			}
			if got := models.ErrorCode(err); got != models.CodeInvalid {
				t.Errorf("code = %q, want %q", got, models.CodeInvalid)
			}
		})
	}
}

func TestToolName(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"Spaces", "Current date and time", "current_date_and_time"},
		{"Punctuation", "  Check: service status! ", "check_service_status"},
		{"KeepsDashAndDigits", "geo-lookup v2", "geo-lookup_v2"},
		{"Underscores", "a__b", "a_b"},
		{"NonASCII", "Café crème", "caf_cr_me"},
		{"Long", strings.Repeat("ab ", 40), strings.TrimSuffix(strings.Repeat("ab_", 22), "_")[:64]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ability.ToolName(tt.in); got != tt.want {
				t.Errorf("ToolName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	t.Run("NothingUsable", func(t *testing.T) {
		a, b := ability.ToolName("计算器"), ability.ToolName("天气")
		if !strings.HasPrefix(a, "ability_") || a == b {
			t.Errorf("ToolName = %q and %q, want distinct ability_<hash> names", a, b)
		}
	})
	t.Run("AlwaysValid", func(t *testing.T) {
		for _, in := range []string{"", "_", "---", strings.Repeat("é", 100), strings.Repeat("a", 63) + " b", "ok"} {
			got := ability.ToolName(in)
			if len(got) < 1 || len(got) > 64 || strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
				t.Errorf("ToolName(%q) = %q, not ^[a-zA-Z0-9_-]{1,64}$", in, got)
			}
		}
	})
}

// The demo abilities' meta, as seed/content.go writes it.
var (
	seedDatetime = models.Ability{
		Name:        "Current date and time",
		Description: "Use when an answer depends on today's date.",
		Instruction: "Returns the current date and time in UTC.",
		Meta:        models.Meta{"action": "builtin:datetime", "seed": "demo"},
	}
	seedCalculator = models.Ability{
		Name:        "Calculator",
		Description: "Use for any arithmetic.",
		Instruction: "Evaluate one arithmetic expression.",
		Meta:        models.Meta{"action": "builtin:calculator", "seed": "demo"},
	}
	seedStatus = models.Ability{
		Name:        "Check service status",
		Description: "Use when a customer reports errors.",
		Meta:        models.Meta{"action": "fetch", "method": "GET", "url": "https://status.northwind.example/api/status", "seed": "demo"},
	}
	seedTicket = models.Ability{
		Name:        "Create support ticket",
		Description: "Use when the case needs a human.",
		Instruction: "Opens a ticket for the support team.",
		Meta: models.Meta{
			"action": "fetch",
			"method": "POST",
			"url":    "https://support.northwind.example/api/tickets",
			"parameters": []any{
				map[string]any{"name": "email", "type": "string", "required": true, "description": "The customer's account email."},
				map[string]any{"name": "subject", "type": "string", "required": true, "description": "One-line summary."},
				map[string]any{"name": "priority", "type": "string", "enum": []any{"normal", "urgent"}, "description": "urgent for data loss."},
			},
			"seed": "demo",
		},
	}
)

func TestTool(t *testing.T) {
	tests := []struct {
		name       string
		ability    models.Ability
		wantAction string
		want       provider.Tool
	}{
		{"Datetime", seedDatetime, ability.ActionDatetime, provider.Tool{
			Name:        "current_date_and_time",
			Description: "Use when an answer depends on today's date.\n\nReturns the current date and time in UTC.",
			Parameters:  map[string]any{"type": "object", "properties": map[string]any{}},
		}},
		{"Calculator", seedCalculator, ability.ActionCalculator, provider.Tool{
			Name:        "calculator",
			Description: "Use for any arithmetic.\n\nEvaluate one arithmetic expression.",
			Parameters: map[string]any{
				"type": "object",
				"properties": map[string]any{"expression": map[string]any{
					"type":        "string",
					"description": "One arithmetic expression with + - * / % ^ and parentheses, e.g. (15 * 12) * 7 or 15% of 80.",
				}},
				"required": []string{"expression"},
			},
		}},
		{"FetchWithoutParameters", seedStatus, ability.ActionFetch, provider.Tool{
			Name:        "check_service_status",
			Description: "Use when a customer reports errors.",
			Parameters:  map[string]any{"type": "object", "properties": map[string]any{}},
		}},
		{"FetchPOST", seedTicket, ability.ActionFetch, provider.Tool{
			Name:        "create_support_ticket",
			Description: "Use when the case needs a human.\n\nOpens a ticket for the support team.",
			Parameters: map[string]any{
				"type": "object",
				"properties": map[string]any{
					"email":    map[string]any{"type": "string", "description": "The customer's account email."},
					"subject":  map[string]any{"type": "string", "description": "One-line summary."},
					"priority": map[string]any{"type": "string", "description": "urgent for data loss.", "enum": []any{"normal", "urgent"}},
				},
				"required": []string{"email", "subject"},
			},
		}},
		{"FetchPlaceholderUndeclared", models.Ability{
			Name: "Order",
			Meta: models.Meta{"action": "fetch", "url": "https://shop.example/orders/{id}?q={query}", "parameters": []any{
				map[string]any{"name": "query", "description": "Search words.", "required": true},
				map[string]any{"name": "limit", "type": "integer"},
			}},
		}, ability.ActionFetch, provider.Tool{
			Name:        "order",
			Description: "Order",
			Parameters: map[string]any{
				"type": "object",
				"properties": map[string]any{
					"query": map[string]any{"type": "string", "description": "Search words."},
					"limit": map[string]any{"type": "integer"},
					"id":    map[string]any{"type": "string"},
				},
				"required": []string{"query", "id"},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustParse(t, tt.ability)
			if got := r.Action(); got != tt.wantAction {
				t.Errorf("Action() = %q, want %q", got, tt.wantAction)
			}
			if diff := cmp.Diff(tt.want, r.Tool()); diff != "" {
				t.Errorf("Tool() mismatch (-want +got):\n%s", diff)
			}
			// The schema must survive the trip to a model API.
			if _, err := json.Marshal(r.Tool().Parameters); err != nil {
				t.Errorf("schema does not marshal: %v", err)
			}
		})
	}
}

func TestDatetime(t *testing.T) {
	clock := func() time.Time { return time.Date(2026, 3, 14, 9, 26, 53, 0, time.FixedZone("UTC+1", 3600)) }
	t.Run("OK", func(t *testing.T) {
		r := mustParse(t, seedDatetime, ability.WithClock(clock))
		got, err := r.Run(context.Background(), json.RawMessage(`{"ignored": true}`))
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		want := "Now (UTC): Sat, 14 Mar 2026 08:26:53 UTC\nWeekday: Saturday\nISO 8601: 2026-03-14T08:26:53Z"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Run mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("Timezone", func(t *testing.T) {
		if _, err := time.LoadLocation("Europe/Berlin"); err != nil {
			t.Skip("no time zone database:", err)
		}
		a := seedDatetime
		a.Meta = models.Meta{"action": "builtin:datetime", "timezone": "Europe/Berlin"}
		r := mustParse(t, a, ability.WithClock(clock))
		got, err := r.Run(context.Background(), nil)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if want := "\nIn Europe/Berlin: Sat, 14 Mar 2026 09:26:53 CET (Saturday)"; !strings.HasSuffix(got, want) {
			t.Errorf("Run = %q, want it to end with %q", got, want)
		}
	})
	t.Run("DefaultClock", func(t *testing.T) {
		r := mustParse(t, seedDatetime)
		got, err := r.Run(context.Background(), nil)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if want := "Weekday: " + time.Now().UTC().Weekday().String(); !strings.Contains(got, want) {
			t.Logf("Run = %q (ran across midnight?), want it to contain %q", got, want)
		}
	})
}

func TestCalculatorRun(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		want    string
		wantErr string
	}{
		{"OK", `{"expression": "15% of 80"}`, "12", ""},
		{"Precedence", `{"expression": "(15 * 12) * 7"}`, "1260", ""},
		{"BareString", `"2 + 2"`, "4", ""},
		{"Number", `{"expression": 5}`, "5", ""},
		{"ExtraArguments", `{"expression": "1+1", "note": "x"}`, "2", ""},
		{"ErrMissing", `{}`, "", `ability "Calculator": the argument "expression" is required`},
		{"ErrEmptyArguments", ``, "", `the argument "expression" is required`},
		{"ErrWrongType", `{"expression": ["1"]}`, "", `"expression" must be a string`},
		{"ErrNotObject", `[1]`, "", "arguments must be a JSON object"},
		{"ErrMalformedJSON", `{"expression": `, "", "arguments must be a JSON object"},
		{"ErrDivisionByZero", `{"expression": "1/0"}`, "", `ability "Calculator": division by zero`},
	}
	r := mustParse(t, seedCalculator)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Run(context.Background(), json.RawMessage(tt.args))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run = (%q, %v), want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got != tt.want {
				t.Errorf("Run = %q, want %q", got, tt.want)
			}
		})
	}
}
