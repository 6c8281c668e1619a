package local_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"parley/app/provider"
	"parley/app/provider/local"
)

var (
	refunds = provider.Document{ID: "r1", Source: "refunds.md", Score: 0.9,
		Text: "# Refunds\nRefunds are issued within 14 days of purchase. Items must be unused and in their original packaging.\n\nOur office is in Lisbon."}
	shipping = provider.Document{ID: "r2", Score: 0.5,
		Text: "Shipping is free for orders over 50 euros. Standard delivery takes 3 to 5 working days."}
	docs = []provider.Document{refunds, shipping}

	clock = provider.Tool{Name: "current_datetime", Description: "Returns the current date and time.",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{}}}
	calculator = provider.Tool{Name: "calculator", Description: "Evaluates an arithmetic expression.",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"expression": map[string]any{"type": "string"}}}}
	status = provider.Tool{Name: "check_service_status", Description: "Tells whether our services are up."}
	tools  = []provider.Tool{clock, calculator, status}
)

func user(s string) provider.Message { return provider.Message{Role: provider.RoleUser, Content: s} }

func called(id, name, args string) provider.Message {
	return provider.Message{Role: provider.RoleAssistant, ToolCalls: []provider.ToolCall{{ID: id, Name: name, Arguments: args}}}
}

func result(id, name, content string) provider.Message {
	return provider.Message{Role: provider.RoleTool, ToolCallID: id, Name: name, Content: content}
}

func text(s string) *provider.Response {
	return &provider.Response{Text: s, FinishReason: provider.FinishStop, Model: "local"}
}

func call(id, name, args string) *provider.Response {
	return &provider.Response{ToolCalls: []provider.ToolCall{{ID: id, Name: name, Arguments: args}}, FinishReason: provider.FinishToolCalls, Model: "local"}
}

func TestComplete(t *testing.T) {
	system := provider.Message{Role: provider.RoleSystem, Content: "You are a helpful shop assistant."}
	tests := []struct {
		name string
		req  provider.Request
		want *provider.Response
	}{
		{"Greeting", provider.Request{Messages: []provider.Message{system, user("Hi there!")}, Documents: docs, Tools: tools},
			text("Hello! How can I help you today?")},
		{"GreetingGoodMorning", provider.Request{Messages: []provider.Message{user("good morning")}},
			text("Hello! How can I help you today?")},
		{"Thanks", provider.Request{Messages: []provider.Message{user("thanks a lot")}, Documents: docs},
			text("You're welcome! Is there anything else I can help you with?")},
		{"GreetingWithQuestionIsNotAGreeting", provider.Request{Messages: []provider.Message{user("hi, when are refunds issued?")}, Documents: docs},
			text("Refunds are issued within 14 days of purchase.\n\nSource: refunds.md")},
		{"ExtractiveQuotesBestRecordAndSource", provider.Request{Messages: []provider.Message{system, user("Within how many days are refunds issued?")}, Documents: docs},
			text("Refunds are issued within 14 days of purchase.\n\nSource: refunds.md")},
		{"ExtractiveSeveralSourcesIDWhenNoSource", provider.Request{Messages: []provider.Message{user("Is shipping free, and when are refunds issued?")}, Documents: docs},
			text("Refunds are issued within 14 days of purchase. Shipping is free for orders over 50 euros.\n\nSource: refunds.md\nSource: r2")},
		{"ExtractiveAnswersTheLastUserMessage", provider.Request{Messages: []provider.Message{user("When are refunds issued?"), {Role: provider.RoleAssistant, Content: "Within 14 days."}, user("Where is your office?")}, Documents: docs},
			text("Our office is in Lisbon.\n\nSource: refunds.md")},
		{"IrrelevantQuestionDoesNotKnow", provider.Request{Messages: []provider.Message{user("What is the capital of France?")}, Documents: docs},
			text(local.DontKnow)},
		{"OnlyStopWordsDoesNotKnow", provider.Request{Messages: []provider.Message{user("What is it?")}, Documents: docs},
			text(local.DontKnow)},
		{"NoDocumentsDoesNotKnow", provider.Request{Messages: []provider.Message{user("When are refunds issued?")}},
			text(local.DontKnow)},
		{"ModelFromRequest", provider.Request{Model: "demo", Messages: []provider.Message{user("hello")}},
			&provider.Response{Text: "Hello! How can I help you today?", FinishReason: provider.FinishStop, Model: "demo"}},

		{"ToolCallDate", provider.Request{Messages: []provider.Message{user("What's the date today?")}, Documents: docs, Tools: tools},
			call("call_1", "current_datetime", `{}`)},
		{"ToolCallTime", provider.Request{Messages: []provider.Message{user("what time is it?")}, Tools: tools},
			call("call_1", "current_datetime", `{}`)},
		{"ToolCallDay", provider.Request{Messages: []provider.Message{user("What day is it?")}, Tools: tools},
			call("call_1", "current_datetime", `{}`)},
		{"TimeOfSomethingElseIsNoToolCall", provider.Request{Messages: []provider.Message{user("What time does your office open?")}, Documents: docs, Tools: tools},
			text("Our office is in Lisbon.\n\nSource: refunds.md")},
		{"ToolCallArithmetic", provider.Request{Messages: []provider.Message{user("what is 12*7")}, Tools: tools},
			call("call_1", "calculator", `{"expression":"12 * 7"}`)},
		{"ToolCallPercent", provider.Request{Messages: []provider.Message{user("What is 15% of 80?")}, Tools: tools},
			call("call_1", "calculator", `{"expression":"(15 / 100) * 80"}`)},
		{"ToolCallParentheses", provider.Request{Messages: []provider.Message{user("(3+4)/2")}, Tools: tools},
			call("call_1", "calculator", `{"expression":"(3 + 4) / 2"}`)},
		{"ToolCallWordOperators", provider.Request{Messages: []provider.Message{user("how much is 10 divided by 4 plus 1")}, Tools: tools},
			call("call_1", "calculator", `{"expression":"10 / 4 + 1"}`)},
		{"DateIsNotArithmetic", provider.Request{Messages: []provider.Message{user("Were refunds issued on 2024-01-05?")}, Documents: docs, Tools: []provider.Tool{calculator}},
			text("Refunds are issued within 14 days of purchase.\n\nSource: refunds.md")},
		{"ToolCallGenericByName", provider.Request{Messages: []provider.Message{user("Can you check the service status?")}, Tools: tools},
			call("call_1", "check_service_status", `{}`)},
		{"ToolCallIDCountsEarlierCalls", provider.Request{Messages: []provider.Message{
			user("what time is it"), called("call_1", "current_datetime", "{}"), result("call_1", "current_datetime", "10:00"),
			{Role: provider.RoleAssistant, Content: "It is 10:00."}, user("and what is 2 + 2?")}, Tools: tools},
			call("call_2", "calculator", `{"expression":"2 + 2"}`)},
		{"NoMatchingToolAnswersFromDocuments", provider.Request{Messages: []provider.Message{user("When are refunds issued?")}, Documents: docs, Tools: tools},
			text("Refunds are issued within 14 days of purchase.\n\nSource: refunds.md")},
		{"NoToolOfThatKindDoesNotKnow", provider.Request{Messages: []provider.Message{user("what is 12*7")}, Tools: []provider.Tool{clock}},
			text(local.DontKnow)},

		{"WeavesDate", provider.Request{Messages: []provider.Message{user("What's the date today?"), called("call_1", "current_datetime", "{}"),
			result("call_1", "current_datetime", "Tuesday, 5 March 2024 14:03 UTC")}, Tools: tools},
			text("The current date and time is Tuesday, 5 March 2024 14:03 UTC.")},
		{"WeavesArithmetic", provider.Request{Messages: []provider.Message{user("what is 12*7"), called("call_1", "calculator", `{"expression":"12 * 7"}`),
			result("call_1", "calculator", "84")}, Tools: tools},
			text("12 * 7 = 84.")},
		{"WeavesJSONResult", provider.Request{Messages: []provider.Message{user("what is 12*7"), called("call_1", "calculator", `{"expression":"12 * 7"}`),
			result("call_1", "", `{"result": 84}`)}, Tools: tools},
			text("12 * 7 = 84.")},
		{"WeavesGeneric", provider.Request{Messages: []provider.Message{user("check service status"), called("call_1", "check_service_status", `{}`),
			result("call_1", "check_service_status", "all systems operational")}, Tools: tools},
			text("Here is the result of check service status: all systems operational.")},
		{"ToolError", provider.Request{Messages: []provider.Message{user("what is 1/0"), called("call_1", "calculator", `{"expression":"1 / 0"}`),
			result("call_1", "calculator", "error: division by zero")}, Tools: tools},
			text("Sorry, the calculator ability failed: division by zero.")},
	}
	ignoreUsage := cmpopts.IgnoreFields(provider.Response{}, "Usage")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tokens []string
			got, err := local.New().Complete(context.Background(), tt.req, func(s string) { tokens = append(tokens, s) })
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreUsage); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if joined := strings.Join(tokens, ""); joined != got.Text {
				t.Errorf("tokens joined = %q, want Text %q", joined, got.Text)
			}
			if got.Text != "" && len(tokens) != len(strings.Fields(got.Text)) {
				t.Errorf("got %d tokens for %d words: %q", len(tokens), len(strings.Fields(got.Text)), tokens)
			}
			if got.Usage.InputTokens <= 0 {
				t.Errorf("InputTokens = %d, want > 0", got.Usage.InputTokens)
			}

			again, err := local.New().Complete(context.Background(), tt.req, nil)
			if err != nil {
				t.Fatalf("Complete again: %v", err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("same request, different answer (-first +second):\n%s", diff)
			}
		})
	}
}

func TestCompleteUsage(t *testing.T) {
	req := provider.Request{Messages: []provider.Message{user("When are refunds issued?")}, Documents: docs}
	got, err := local.New().Complete(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	prompt := "When are refunds issued?\n" + refunds.Text + "\n" + shipping.Text + "\n"
	want := provider.Usage{InputTokens: provider.EstimateTokens(prompt), OutputTokens: provider.EstimateTokens(got.Text)}
	if diff := cmp.Diff(want, got.Usage); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
}

func TestCompleteMaxTokens(t *testing.T) {
	req := provider.Request{Messages: []provider.Message{user("Is shipping free, and when are refunds issued?")}, Documents: docs, MaxTokens: 5}
	var tokens []string
	got, err := local.New().Complete(context.Background(), req, func(s string) { tokens = append(tokens, s) })
	if err != nil {
		t.Fatal(err)
	}
	if got.FinishReason != provider.FinishLength {
		t.Errorf("FinishReason = %q, want %q", got.FinishReason, provider.FinishLength)
	}
	if n := provider.EstimateTokens(got.Text); n > 5 || n == 0 {
		t.Errorf("answer of %d tokens, want 1..5: %q", n, got.Text)
	}
	if strings.Join(tokens, "") != got.Text {
		t.Errorf("tokens %q do not make Text %q", tokens, got.Text)
	}
}

func TestCompleteCancelled(t *testing.T) {
	req := provider.Request{Messages: []provider.Message{user("Is shipping free, and when are refunds issued?")}, Documents: docs}

	t.Run("BetweenTokens", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var tokens []string
		got, err := local.New().Complete(ctx, req, func(s string) {
			tokens = append(tokens, s)
			cancel()
		})
		assertCancelled(t, got, err)
		if len(tokens) != 1 {
			t.Errorf("got %d tokens after cancelling at the first, want 1", len(tokens))
		}
	})
	t.Run("Before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		got, err := local.New().Complete(ctx, req, func(string) { t.Error("token after cancel") })
		assertCancelled(t, got, err)
	})
}

func assertCancelled(t *testing.T, got *provider.Response, err error) {
	t.Helper()
	if got != nil {
		t.Errorf("response = %+v, want nil", got)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want *provider.Error", err, err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want it to wrap context.Canceled", err)
	}
}

func TestName(t *testing.T) {
	if got := local.New().Name(); got != "local" {
		t.Errorf("Name() = %q, want local", got)
	}
}

// TestLocalSkipsToolsItCannotFill: a tool named in the message but needing an
// argument the message does not give (a city) is not called with it missing;
// the answer comes from the records instead.
func TestLocalSkipsToolsItCannotFill(t *testing.T) {
	forecast := provider.Tool{Name: "forecast", Description: "Use when asked about the weather.",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []any{"city"}}}
	req := provider.Request{Messages: []provider.Message{{Role: provider.RoleUser, Content: "How many days do forecasts cover?"}},
		Tools:     []provider.Tool{forecast},
		Documents: []provider.Document{{ID: "r1", Text: "Forecasts cover the next 5 days and are updated every hour.", Score: 0.8}}}
	res, err := local.New().Complete(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ToolCalls) != 0 {
		t.Errorf("called %+v without the city it needs", res.ToolCalls)
	}
	if !strings.Contains(res.Text, "next 5 days") {
		t.Errorf("answer = %q, want it from the record", res.Text)
	}
}
