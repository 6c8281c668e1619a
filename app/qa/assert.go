package qa

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"parley/app/engine/ability"
	"parley/models"
)

// observed is what a replayed turn did, read back from the store: its typed
// turn (status, figures, records, calls) and its answer.
type observed struct {
	turn      *models.Turn
	text      string // the answer; "" when the turn failed
	messageID string // the answer, or the failed turn's activity entry
}

// failed reports a turn that ended without an answer.
func (o observed) failed() bool { return o.turn.Status != models.TurnDone }

// why says how a failed turn ended.
func (o observed) why() string {
	t := o.turn
	if t.ErrorStage != "" {
		return fmt.Sprintf("the turn %s at %s: %s", t.Status, t.ErrorStage, t.Error)
	}
	return fmt.Sprintf("the turn %s: %s", t.Status, t.Error)
}

// evaluateTurn checks a turn's assertions. A turn that failed fails its case
// unless an assertion expects that ending (end reason error or
// interrupted): every turn gets an "answered without error" result first,
// unless it has one already or expects to fail.
func evaluateTurn(ctx context.Context, n int, expects []models.Assertion, o observed, j judge) []models.AssertionResult {
	explicit := false
	for _, a := range expects {
		if a.Kind == models.AssertNoError || a.Kind == models.AssertEndReason && (a.Text == models.EndError || a.Text == models.EndInterrupted) {
			explicit = true
		}
	}
	var out []models.AssertionResult
	if !explicit {
		out = append(out, evaluate(ctx, models.Assertion{Kind: models.AssertNoError}, o, j))
	}
	for _, a := range expects {
		out = append(out, evaluate(ctx, a, o, j))
	}
	for i := range out {
		out[i].Turn, out[i].TurnID, out[i].MessageID = n, o.turn.ID, o.messageID
	}
	return out
}

// quoteLen bounds how much of an answer a message quotes.
const quoteLen = 240

func quote(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > quoteLen {
		s = models.TruncateUTF8(s, quoteLen) + "…"
	}
	return strconv.Quote(s)
}

// evaluate checks one assertion against a turn; its message says what was
// seen, so a failure says why.
func evaluate(ctx context.Context, a models.Assertion, o observed, j judge) models.AssertionResult {
	r := models.AssertionResult{Kind: a.Kind, Label: a.Label()}
	pass := func(format string, args ...any) models.AssertionResult {
		r.Pass, r.Message = true, fmt.Sprintf(format, args...)
		return r
	}
	fail := func(format string, args ...any) models.AssertionResult {
		r.Pass, r.Message = false, fmt.Sprintf(format, args...)
		return r
	}
	t := o.turn
	textual := a.Kind == models.AssertContains || a.Kind == models.AssertNotContains || a.Kind == models.AssertRegex ||
		a.Kind == models.AssertEquals || a.Kind == models.AssertCites || a.Kind == models.AssertSimilar
	if textual && o.failed() {
		return fail("there is no answer to check: %s", o.why())
	}
	text := o.text
	switch a.Kind {
	case models.AssertNoError:
		if o.failed() {
			return fail("%s", o.why())
		}
		return pass("the turn answered (end reason %s)", t.EndReason)
	case models.AssertContains:
		if strings.Contains(strings.ToLower(text), strings.ToLower(a.Text)) {
			return pass("found")
		}
		return fail("the answer does not contain it; the answer is %s", quote(text))
	case models.AssertNotContains:
		if i := strings.Index(strings.ToLower(text), strings.ToLower(a.Text)); i >= 0 {
			from := max(0, i-60)
			return fail("the answer contains it: …%s…", quote(text[from:min(len(text), i+len(a.Text)+60)]))
		}
		return pass("not found")
	case models.AssertRegex:
		re, err := regexp.Compile(a.Text)
		if err != nil {
			return fail("the pattern is not valid: %v", err)
		}
		if m := re.FindString(text); m != "" || re.MatchString(text) {
			return pass("matched %s", quote(m))
		}
		return fail("no match in the answer %s", quote(text))
	case models.AssertEquals:
		if strings.TrimSpace(text) == strings.TrimSpace(a.Text) {
			return pass("equal")
		}
		return fail("the answer is %s", quote(text))
	case models.AssertCites:
		if strings.Contains(text, a.Text) {
			return pass("cited")
		}
		urls := urlPattern.FindAllString(text, 10)
		if len(urls) == 0 {
			return fail("the answer cites no URL")
		}
		return fail("the answer cites %s instead", strings.Join(urls, ", "))
	case models.AssertRetrieved:
		return retrieved(a, t, pass, fail)
	case models.AssertNoRetrieval:
		if len(t.Records) == 0 {
			return pass("nothing was retrieved")
		}
		return fail("%s retrieved: %s", plural(len(t.Records), "record was", "records were"), recordList(t.Records))
	case models.AssertCalled, models.AssertNotCalled:
		return called(a, t, pass, fail)
	case models.AssertEndReason:
		if t.EndReason == a.Text {
			return pass("ended with %s", t.EndReason)
		}
		if o.failed() {
			return fail("it ended with %s: %s", t.EndReason, o.why())
		}
		return fail("it ended with %s", t.EndReason)
	case models.AssertLatency:
		if t.LatencyMs <= a.Max {
			return pass("%d ms", t.LatencyMs)
		}
		return fail("it took %d ms, %d ms over", t.LatencyMs, t.LatencyMs-a.Max)
	case models.AssertOutputTokens:
		if t.OutputTokens <= a.Max {
			return pass("%d output tokens", t.OutputTokens)
		}
		return fail("it used %d output tokens, %d over", t.OutputTokens, t.OutputTokens-a.Max)
	case models.AssertSimilar:
		return similar(ctx, a, text, j, r)
	}
	return fail("unknown assertion kind %q", a.Kind)
}

var urlPattern = regexp.MustCompile(`https?://[^\s<>()"']+[^\s<>()"'.,;:!?]`)

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// recordList names retrieved records with their ranks and scores.
func recordList(rs []models.TurnRecord) string {
	parts := make([]string, 0, len(rs))
	for _, x := range rs {
		name := x.Source
		if name == "" {
			name = "record " + x.RecordID
		}
		parts = append(parts, fmt.Sprintf("%d. %s (%.2f)", x.Rank, name, x.Score))
	}
	return strings.Join(parts, ", ")
}

func retrieved(a models.Assertion, t *models.Turn, pass, fail func(string, ...any) models.AssertionResult) models.AssertionResult {
	var hit *models.TurnRecord
	for i := range t.Records {
		x := &t.Records[i]
		if (a.Record != "" && x.RecordID == a.Record) || (a.Record == "" && x.Source == a.Source) {
			hit = x
			break
		}
	}
	name := a.RecordName()
	switch {
	case hit == nil && len(t.Records) == 0:
		return fail("%s was not retrieved: nothing was (is its dataset still attached to the bot?)", name)
	case hit == nil:
		return fail("%s was not retrieved; retrieved instead: %s", name, recordList(t.Records))
	case a.TopK > 0 && hit.Rank > a.TopK:
		return fail("%s was retrieved at rank %d, not within the top %d; above it: %s", name, hit.Rank, a.TopK, recordList(t.Records[:hit.Rank-1]))
	case hit.Score < a.MinScore:
		return fail("%s scored %.2f, below %s", name, hit.Score, strconv.FormatFloat(a.MinScore, 'g', -1, 64))
	}
	return pass("retrieved at rank %d with score %.2f", hit.Rank, hit.Score)
}

// sameAbility reports whether a call's tool name is the ability's (by its
// name as written or as the model sees it).
func sameAbility(name, tool string) bool {
	return strings.EqualFold(name, tool) || ability.ToolName(name) == tool
}

func called(a models.Assertion, t *models.Turn, pass, fail func(string, ...any) models.AssertionResult) models.AssertionResult {
	var matching []models.TurnCall
	var names []string
	for _, c := range t.Calls {
		names = append(names, c.Ability)
		if sameAbility(a.Ability, c.Ability) {
			matching = append(matching, c)
		}
	}
	if a.Kind == models.AssertNotCalled {
		if len(matching) == 0 {
			return pass("not called")
		}
		return fail("it was called with %s", matching[0].Input)
	}
	if len(matching) == 0 {
		if len(names) == 0 {
			return fail("it was not called; no ability was")
		}
		return fail("it was not called; called instead: %s", strings.Join(names, ", "))
	}
	want := strings.TrimSpace(a.Args)
	if want == "" {
		return pass("called with %s", matching[0].Input)
	}
	var wantV any
	if err := json.Unmarshal([]byte(want), &wantV); err != nil {
		return fail("the expected arguments are not JSON: %v", err)
	}
	var inputs []string
	for _, c := range matching {
		var got any
		if json.Unmarshal([]byte(c.Input), &got) == nil && containsJSON(got, wantV) {
			return pass("called with %s", c.Input)
		}
		inputs = append(inputs, c.Input)
	}
	return fail("it was called with %s, which does not contain %s", strings.Join(inputs, "; "), want)
}

// containsJSON reports whether got holds want: objects by their keys
// (recursively), arrays element by element, other values equal (numbers by
// value).
func containsJSON(got, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !containsJSON(gv, wv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !containsJSON(g[i], w[i]) {
				return false
			}
		}
		return true
	case string:
		g, ok := got.(string)
		return ok && strings.EqualFold(strings.TrimSpace(g), strings.TrimSpace(w))
	}
	return reflect.DeepEqual(got, want)
}
