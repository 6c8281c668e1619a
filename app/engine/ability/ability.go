// Package ability turns a skillset's abilities into tools a model can call:
// it reads the action in an ability's meta (a built-in, or an HTTP fetch with
// parameters the model fills in), describes it as a provider.Tool, and runs
// it with the model's JSON arguments. Outbound requests go through an SSRF
// guard (guard.go) that refuses internal addresses unless allowed.
//
// An ability's meta carries its action:
//
//	{"action": "builtin:datetime"}                  // optional "timezone": "Europe/Berlin"
//	{"action": "builtin:calculator"}
//	{"action": "fetch", "method": "GET",
//	 "url": "https://status.example/api/status?q={query}",
//	 "parameters": [{"name": "query", "description": "…", "required": true}],
//	 "headers": {"X-Token": "{{secret:status-token}}"}}
//
// An ability without an action is instruction-only: its instruction goes into
// the prompt and there is nothing to run.
package ability

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"sync"
	"time"

	"parley/app/provider"
	"parley/models"
)

// Action names, as written in an ability's meta "action".
const (
	ActionDatetime   = "builtin:datetime"
	ActionCalculator = "builtin:calculator"
	ActionFetch      = "fetch"
)

// Actions lists every action, in the order messages name them.
var Actions = []string{ActionDatetime, ActionCalculator, ActionFetch}

// Defaults of a fetch action.
const (
	DefaultMaxBody = 64 << 10
)

// Runner is an ability with an action: it describes itself to the model as a
// tool and runs with the model's arguments. It satisfies engine.Runner.
type Runner interface {
	// Action is the meta action that runs: ActionDatetime, ActionCalculator
	// or ActionFetch.
	Action() string
	// Tool describes the ability to the model: a sanitised name, the
	// ability's description and instruction, and a JSON Schema of the
	// arguments.
	Tool() provider.Tool
	// Run runs the action with JSON arguments (an object; empty means {}) and
	// returns its result as text for the model. Errors name the ability and
	// never contain secret values.
	Run(ctx context.Context, args json.RawMessage) (string, error)
}

// SecretLookup returns the value of a named secret (decrypted by its owner)
// for fetch headers that say {{secret:NAME}}.
type SecretLookup func(ctx context.Context, name string) (string, error)

// Option adjusts how Parse builds runners.
type Option func(*options)

type options struct {
	now     func() time.Time
	secrets SecretLookup
	client  *http.Client
	maxBody int64
	timeout time.Duration
}

// WithClock sets the clock builtin:datetime reads (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithSecrets sets where fetch headers' {{secret:NAME}} values come from;
// without it, an ability whose headers need a secret fails when run.
func WithSecrets(fn SecretLookup) Option { return func(o *options) { o.secrets = fn } }

// WithClient sets the HTTP client fetch uses; it should come from
// NewGuardedClient (with the PARLEY_FETCH_ALLOW list). The default is a
// guarded client that allows nothing internal.
func WithClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithMaxBody caps how much of a fetched response is kept (default
// DefaultMaxBody); the rest is dropped with a note.
func WithMaxBody(n int64) Option { return func(o *options) { o.maxBody = n } }

// WithTimeout caps a whole fetch, redirects and body included (default
// DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// defaultClient is the guarded client used when Parse is given none.
var defaultClient = sync.OnceValue(func() *http.Client { return NewGuardedClient(GuardOptions{}) })

// Parse reads an ability's action from its meta and returns its Runner. An
// ability without an action (no "action" key, or a blank one) is
// instruction-only: Parse returns (nil, nil). Invalid meta (an unknown
// action, a fetch without a url, a bad URL template…) is a models.Error with
// code invalid on the field "meta" whose message names the ability.
func Parse(a models.Ability, opts ...Option) (Runner, error) {
	o := options{now: time.Now, maxBody: DefaultMaxBody, timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.client == nil {
		o.client = defaultClient()
	}
	if o.maxBody <= 0 {
		o.maxBody = DefaultMaxBody
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}

	action, err := actionOf(a)
	if err != nil || action == "" {
		return nil, err
	}
	b := base{ability: a, action: action}
	switch action {
	case ActionDatetime:
		return newDatetime(b, a.Meta, o.now)
	case ActionCalculator:
		return calculator{base: b}, nil
	case ActionFetch:
		return newFetch(b, a.Meta, o)
	default:
		return nil, invalid(a, fmt.Sprintf("unknown action %q (known: %s, %s, %s)", action, ActionDatetime, ActionCalculator, ActionFetch))
	}
}

// actionOf reads the action an ability's meta names, lower-cased and
// trimmed: "" when it has none.
func actionOf(a models.Ability) (string, error) {
	raw, ok := a.Meta["action"]
	if !ok || raw == nil {
		return "", nil
	}
	action, ok := raw.(string)
	if !ok {
		return "", invalid(a, "meta \"action\" must be a string, like \"builtin:datetime\" or \"fetch\"")
	}
	return strings.ToLower(strings.TrimSpace(action)), nil
}

// invalid is a Parse error: an invalid-input error on the meta field that
// names the ability.
func invalid(a models.Ability, detail string) error {
	return models.FieldError("meta", fmt.Sprintf("Ability %s: %s.", abilityLabel(a), detail))
}

func abilityLabel(a models.Ability) string {
	if a.Name != "" {
		return fmt.Sprintf("%q", a.Name)
	}
	if a.ID != "" {
		return a.ID
	}
	return "(unnamed)"
}

// base holds what every runner shares.
type base struct {
	ability models.Ability
	action  string
}

// Action implements Runner.
func (b base) Action() string { return b.action }

// tool builds the runner's provider.Tool around a parameters schema.
func (b base) tool(params map[string]any) provider.Tool {
	return provider.Tool{Name: ToolName(b.ability.Name), Description: Description(b.ability), Parameters: params}
}

// errorf wraps a run error with the ability's name.
func (b base) errorf(format string, args ...any) error {
	return fmt.Errorf("ability %s: "+format, append([]any{abilityLabel(b.ability)}, args...)...)
}

// ToolName turns an ability name into a tool name matching
// ^[a-zA-Z0-9_-]{1,64}$, as model APIs require: lower case, every run of
// other characters one underscore ("Check service status" →
// "check_service_status"). A name with nothing usable becomes "ability_"
// and a hash of the name, so different names stay apart. Two abilities can
// still share a tool name (e.g. "A b" and "a_b"); callers that offer several
// must de-duplicate.
func ToolName(name string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
			under = false
		default:
			if !under {
				b.WriteByte('_')
				under = true
			}
		}
	}
	s := strings.Trim(b.String(), "_-")
	if len(s) > 64 {
		s = strings.TrimRight(s[:64], "_-")
	}
	if s == "" {
		h := fnv.New32a()
		h.Write([]byte(name))
		s = fmt.Sprintf("ability_%08x", h.Sum32())
	}
	return s
}

// Description is a tool's description: the ability's description (when to
// use it) and its instruction (what it does), or its name if both are empty.
func Description(a models.Ability) string {
	var parts []string
	for _, s := range []string{a.Description, a.Instruction} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return strings.TrimSpace(a.Name)
	}
	return strings.Join(parts, "\n\n")
}

// objectArgs decodes a run's arguments as a JSON object (empty or null: {}),
// keeping numbers exact.
func objectArgs(args json.RawMessage) (map[string]any, error) {
	s := strings.TrimSpace(string(args))
	if s == "" || s == "null" {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("arguments must be a JSON object, like {\"name\": \"value\"}")
	}
	if dec.More() {
		return nil, fmt.Errorf("arguments must be one JSON object")
	}
	return m, nil
}
