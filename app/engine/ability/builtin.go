package ability

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"parley/app/provider"
	"parley/models"
)

// datetime is builtin:datetime: the current date and time in UTC, and in the
// meta's optional "timezone" (an IANA name such as "Europe/Berlin").
type datetime struct {
	base
	now func() time.Time
	loc *time.Location
}

func newDatetime(b base, meta models.Meta, now func() time.Time) (Runner, error) {
	d := datetime{base: b, now: now}
	if raw, ok := meta["timezone"]; ok && raw != nil {
		name, ok := raw.(string)
		if !ok {
			return nil, invalid(b.ability, "meta \"timezone\" must be a string, like \"Europe/Berlin\"")
		}
		if name = strings.TrimSpace(name); name != "" {
			loc, err := time.LoadLocation(name)
			if err != nil {
				return nil, invalid(b.ability, fmt.Sprintf("unknown timezone %q (use an IANA name, like \"Europe/Berlin\")", name))
			}
			d.loc = loc
		}
	}
	return d, nil
}

// Tool implements Runner; the datetime takes no arguments.
func (d datetime) Tool() provider.Tool {
	return d.tool(map[string]any{"type": "object", "properties": map[string]any{}})
}

// Run implements Runner. It ignores its arguments.
func (d datetime) Run(context.Context, json.RawMessage) (string, error) {
	t := d.now().UTC()
	var b strings.Builder
	fmt.Fprintf(&b, "Now (UTC): %s\n", t.Format(time.RFC1123))
	fmt.Fprintf(&b, "Weekday: %s\n", t.Weekday())
	fmt.Fprintf(&b, "ISO 8601: %s", t.Format(time.RFC3339))
	if d.loc != nil {
		lt := t.In(d.loc)
		fmt.Fprintf(&b, "\nIn %s: %s (%s)", d.loc, lt.Format(time.RFC1123), lt.Weekday())
	}
	return b.String(), nil
}

// calculator is builtin:calculator: one arithmetic expression, evaluated by
// Calculate.
type calculator struct{ base }

// Tool implements Runner.
func (c calculator) Tool() provider.Tool {
	return c.tool(map[string]any{
		"type": "object",
		"properties": map[string]any{
			"expression": map[string]any{
				"type":        "string",
				"description": "One arithmetic expression with + - * / % ^ and parentheses, e.g. (15 * 12) * 7 or 15% of 80.",
			},
		},
		"required": []string{"expression"},
	})
}

// Run implements Runner. The arguments are {"expression": "…"}; a bare JSON
// string is taken as the expression too.
func (c calculator) Run(_ context.Context, args json.RawMessage) (string, error) {
	var expr string
	if err := json.Unmarshal(args, &expr); err != nil {
		m, err := objectArgs(args)
		if err != nil {
			return "", c.errorf("%v", err)
		}
		switch v := m["expression"].(type) {
		case string:
			expr = v
		case json.Number:
			expr = v.String()
		case nil:
			return "", c.errorf("the argument \"expression\" is required")
		default:
			return "", c.errorf("the argument \"expression\" must be a string")
		}
	}
	v, err := Calculate(expr)
	if err != nil {
		return "", c.errorf("%v", err)
	}
	return FormatNumber(v), nil
}
