package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"parley/app/engine/ability"
	"parley/app/provider"
	"parley/models"
)

// Templates of the "try it" card on an ability's edit page. The fragments are
// defined in the card's file.
const (
	tplAbilityTry     = "partials/ability_try"
	tplAbilityTrySwap = "partials/ability_try_swap"
)

// Limits of a try.
const (
	// abilityTryTimeout caps one run, as the engine's fetches are capped.
	abilityTryTimeout = 10 * time.Second
	// abilityTryMaxInput caps the sample input, in characters.
	abilityTryMaxInput = 20000
)

// abilityTryForm is the body of the "try it" form.
type abilityTryForm struct {
	Input string `form:"input" validate:"max=20000"`
}

// tryParam is one argument of an ability's tool, as the card lists it.
type tryParam struct {
	Name        string
	Type        string
	Description string
	Required    bool
	// Enum holds the allowed values, each as JSON.
	Enum []string
}

// abilityTry is what the "try it" card shows: the ability as the model sees
// it, the sample input, and the result of the last run.
type abilityTry struct {
	Skillset *models.Skillset
	Ability  *models.Ability
	CSRF     string
	// ParseError is why the ability's action cannot be read; InstructionOnly
	// says it has no action. Either way there is nothing to run.
	ParseError      string
	InstructionOnly bool
	Action          string
	Tool            provider.Tool
	Params          []tryParam
	// Input is the sample input as submitted, or the example built from the
	// parameters; InputError says why it cannot be run.
	Input      string
	InputError string
	// Ran: Output or RunError hold the result of a run that took DurationMS.
	Ran        bool
	Output     string
	RunError   string
	DurationMS int64
	// OOB marks the input field for an htmx out-of-band swap, so an answer
	// to a run also clears an earlier input error.
	OOB bool
}

// URL is where the card's form posts.
func (t abilityTry) URL() string {
	return "/skillsets/" + t.Skillset.ID + "/abilities/" + t.Ability.ID + "/try"
}

// MaxInput is the longest sample input, in characters.
func (abilityTry) MaxInput() int { return abilityTryMaxInput }

// Runnable reports whether the ability has an action that can run.
func (t abilityTry) Runnable() bool { return t.ParseError == "" && !t.InstructionOnly }

// newAbilityTry describes an ability for the card from what Parse made of it.
// An invalid action is shown, not returned; other errors are returned.
func newAbilityTry(k *models.Skillset, a *models.Ability, csrf string, r ability.Runner, parseErr error) (abilityTry, error) {
	t := abilityTry{Skillset: k, Ability: a, CSRF: csrf}
	switch {
	case parseErr != nil && models.ErrorCode(parseErr) == models.CodeInvalid:
		t.ParseError = models.ErrorMessage(parseErr)
		return t, nil
	case parseErr != nil:
		return t, fmt.Errorf("handlers: read ability %s: %w", a.ID, parseErr)
	case r == nil:
		t.InstructionOnly = true
		return t, nil
	}
	t.Action = r.Action()
	t.Tool = r.Tool()
	t.Params = toolParams(t.Tool.Parameters)
	t.Input = sampleInput(t.Params)
	return t, nil
}

// abilityTryOf is the Try it card of an ability, before any run. Describing
// an action does not run it, so no client is needed here.
func (s *Server) abilityTryOf(c *fiber.Ctx, k *models.Skillset, a *models.Ability) (abilityTry, error) {
	r, err := ability.Parse(*a)
	return newAbilityTry(k, a, csrfToken(c), r, err)
}

// handleAbilityTry handles POST /skillsets/:id/abilities/:abilityId/try: it
// runs the saved ability's action with the sample input, through the same
// SSRF-guarded client and vault as the engine, and shows the output or the
// error and how long it took. htmx gets the result fragment; other browsers
// get the ability's page with the result.
func (s *Server) handleAbilityTry(c *fiber.Ctx) error {
	k, a, err := s.findAbility(c)
	if err != nil {
		return err
	}
	var f abilityTryForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	r, parseErr := s.opts.Abilities.Load(*a, ability.WithTimeout(abilityTryTimeout))
	t, err := newAbilityTry(k, a, csrfToken(c), r, parseErr)
	if err != nil {
		return err
	}
	if !t.Runnable() {
		return s.renderAbilityTry(c, fiber.StatusOK, t)
	}
	t.Input = f.Input
	args, err := f.args()
	if err != nil {
		t.InputError = models.ErrorMessage(err)
		return s.renderAbilityTry(c, fiber.StatusUnprocessableEntity, t)
	}
	start := time.Now()
	out, err := r.Run(c.UserContext(), args)
	t.Ran, t.DurationMS = true, time.Since(start).Milliseconds()
	if err != nil {
		// Run errors name the ability and never carry secret values.
		t.RunError = err.Error()
	} else {
		t.Output = out
	}
	return s.renderAbilityTry(c, fiber.StatusOK, t)
}

// args validates the sample input and returns it as the arguments of a run:
// one JSON object (blank means {}).
func (f *abilityTryForm) args() (json.RawMessage, error) {
	if err := models.Validate(f); err != nil {
		return nil, models.FieldError("input", fmt.Sprintf("Sample input must be at most %d characters.", abilityTryMaxInput))
	}
	in := strings.TrimSpace(f.Input)
	if in == "" {
		return json.RawMessage("{}"), nil
	}
	var v any
	if err := json.Unmarshal([]byte(in), &v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, models.FieldError("input", fmt.Sprintf("Sample input is not valid JSON: %s (at character %d).", syn.Error(), syn.Offset))
		}
		return nil, models.FieldError("input", "Sample input is not valid JSON: "+err.Error()+".")
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, models.FieldError("input", `Sample input must be a JSON object, like {"name": "value"}.`)
	}
	return json.RawMessage(in), nil
}

// renderAbilityTry answers a try: for htmx, the result (and the input field,
// out of band) or, when there is nothing to run, the whole card; otherwise the
// edit page with the card.
func (s *Server) renderAbilityTry(c *fiber.Ctx, status int, t abilityTry) error {
	if c.Get("HX-Request") == "true" {
		if !t.Runnable() {
			c.Set("HX-Retarget", "#ability-try")
			c.Set("HX-Reswap", "outerHTML")
			return s.render(c, status, tplAbilityTry, t)
		}
		t.OOB = true
		return s.render(c, status, tplAbilityTrySwap, t)
	}
	k, a := t.Skillset, t.Ability
	return s.render(c, status, tplAbilityShow, abilityShowPage{Page: s.page(c, a.Name, "skillsets"),
		Skillset: k, Ability: a, Form: abilityFormOf(a), try: t})
}

// toolParams lists the properties of a tool's JSON Schema: the required ones
// first, in the schema's order, then the others by name.
func toolParams(schema map[string]any) []tryParam {
	props, _ := schema["properties"].(map[string]any)
	required := map[string]bool{}
	var order []string
	switch req := schema["required"].(type) {
	case []string:
		order = append(order, req...)
	case []any:
		for _, v := range req {
			if name, ok := v.(string); ok {
				order = append(order, name)
			}
		}
	}
	for _, name := range order {
		required[name] = true
	}
	var rest []string
	for name := range props {
		if !required[name] {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	var out []tryParam
	for _, name := range append(order, rest...) {
		p := tryParam{Name: name, Required: required[name], Type: "any"}
		prop, _ := props[name].(map[string]any)
		if t, ok := prop["type"].(string); ok && t != "" {
			p.Type = t
		}
		p.Description, _ = prop["description"].(string)
		if enum, ok := prop["enum"].([]any); ok {
			for _, v := range enum {
				b, err := json.Marshal(v)
				if err == nil {
					p.Enum = append(p.Enum, string(b))
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// sampleInput is an example of arguments: every required parameter with a
// placeholder of its type (or its first allowed value), "{}" when none.
func sampleInput(params []tryParam) string {
	m := map[string]any{}
	for _, p := range params {
		if !p.Required {
			continue
		}
		if len(p.Enum) > 0 {
			m[p.Name] = json.RawMessage(p.Enum[0])
			continue
		}
		switch p.Type {
		case "number", "integer":
			m[p.Name] = 0
		case "boolean":
			m[p.Name] = false
		case "array":
			m[p.Name] = []any{}
		case "object":
			m[p.Name] = map[string]any{}
		default:
			m[p.Name] = "…"
		}
	}
	if len(m) == 0 {
		return "{}"
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return "{}"
	}
	return strings.TrimSpace(b.String())
}
