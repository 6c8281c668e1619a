package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"parley/app/engine"
	"parley/app/provider"
	"parley/app/provider/local"
	"parley/app/provider/openai"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// fakeOpenAI is an in-process OpenAI-compatible server: /v1/moderations
// flags any input containing "hurt" (category violence) unless moderation
// is set to answer with a status instead; /v1/chat/completions streams
// "Happy to help.". It records the paths and inputs it was asked.
type fakeOpenAI struct {
	*httptest.Server
	mu         sync.Mutex
	paths      []string
	inputs     []string
	moderation int // 0: moderate; else the status every moderation request gets
}

func newFakeOpenAI(t *testing.T, moderationStatus int) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{moderation: moderationStatus}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Input string `json:"input"`
		}
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		f.mu.Lock()
		f.paths = append(f.paths, r.URL.Path)
		if r.URL.Path == "/v1/moderations" {
			f.inputs = append(f.inputs, body.Input)
		}
		f.mu.Unlock()
		switch r.URL.Path {
		case "/v1/moderations":
			if f.moderation != 0 {
				w.WriteHeader(f.moderation)
				fmt.Fprint(w, `{"error":{"message":"moderation is down"}}`)
				return
			}
			flagged := strings.Contains(body.Input, "hurt")
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"modr-1","model":"omni-moderation-latest","results":[{"flagged":%v,"categories":{"violence":%v,"hate":false,"harassment/threatening":%v}}]}`,
				flagged, flagged, flagged)
		case "/v1/chat/completions":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: {\"model\":\"gpt-fake\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Happy to help.\"}}]}\n\n")
			fmt.Fprint(w, "data: {\"model\":\"gpt-fake\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
			fmt.Fprint(w, "data: [DONE]\n\n")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

// count is how many requests went to path.
func (f *fakeOpenAI) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, p := range f.paths {
		if p == path {
			n++
		}
	}
	return n
}

// with makes the engine answer with p.
func with(p provider.Provider, words ...string) func(*engine.Options) {
	return func(o *engine.Options) {
		o.Providers = func(context.Context, string) (provider.Provider, string, error) { return p, "m", nil }
		o.ModerationWords = words
	}
}

func TestModeration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		words := []string{"kys", "wire fraud"}

		// refused checks a turn refused by moderation: refusal, activity entry, typed turn.
		refused := func(t *testing.T, f *fixture, res *engine.Result, wantActivity ...string) {
			t.Helper()
			if res.Err != nil || res.Bot == nil || res.Bot.Text != engine.Refusal {
				t.Fatalf("result = %+v (err %v), want the refusal", res.Bot, res.Err)
			}
			msgs := f.messages(t)
			n := len(msgs)
			if n < 3 || types(msgs[n-3:]) != "user,activity,bot" {
				t.Fatalf("timeline = %s, want it to end user,activity,bot", types(msgs))
			}
			for _, w := range wantActivity {
				if !strings.Contains(msgs[n-2].Text, w) {
					t.Errorf("activity %q does not say %q", msgs[n-2].Text, w)
				}
			}
			tr, err := s.FindTurn(ctx, res.Turn.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !tr.Moderated || tr.EndReason != models.EndModerated || tr.Status != models.TurnDone || models.Deref(tr.BotMessageID) != res.Bot.ID ||
				tr.InputTokens != 0 || len(tr.Prompt) != 0 {
				t.Errorf("refused turn = %+v", tr)
			}
			if models.Deref(msgs[n-2].TurnID) != tr.ID {
				t.Errorf("the activity entry belongs to turn %v, want %s", msgs[n-2].TurnID, tr.ID)
			}
		}

		t.Run("EndpointFlagged", func(t *testing.T) {
			api := newFakeOpenAI(t, 0)
			f := newFixture(t, s, echo, with(openai.New(openai.Config{BaseURL: api.URL + "/v1"}), words...))
			f.setFlags(t, false, true)
			res, err := f.e.Turn(ctx, f.conv.ID, "I will hurt you", nil)
			if err != nil {
				t.Fatal(err)
			}
			refused(t, f, res, "flagged by the openai moderation endpoint", "categories: harassment/threatening, violence", "the model was not called")
			if n := api.count("/v1/chat/completions"); n != 0 {
				t.Errorf("the model was called %d times", n)
			}
			if diff := cmp.Diff([]string{"I will hurt you"}, api.inputs); diff != "" {
				t.Errorf("moderation inputs (-want +got):\n%s", diff)
			}
		})

		t.Run("EndpointNotFlagged", func(t *testing.T) {
			api := newFakeOpenAI(t, 0)
			f := newFixture(t, s, echo, with(openai.New(openai.Config{BaseURL: api.URL + "/v1"}), words...))
			f.setFlags(t, false, true)
			res, err := f.e.Turn(ctx, f.conv.ID, "How much is the Pro plan?", nil)
			if err != nil || res.Err != nil {
				t.Fatal(err, res.Err)
			}
			if res.Bot.Text != "Happy to help." || res.Turn.Moderated || res.Turn.EndReason != models.EndStop {
				t.Errorf("answer %q, turn %+v", res.Bot.Text, res.Turn)
			}
			if got := types(f.messages(t)); got != "user,bot" {
				t.Errorf("timeline = %s", got)
			}
			if api.count("/v1/moderations") != 1 || api.count("/v1/chat/completions") != 1 {
				t.Errorf("requests = %v", api.paths)
			}
		})

		t.Run("EndpointSeesRedactedText", func(t *testing.T) {
			api := newFakeOpenAI(t, 0)
			f := newFixture(t, s, echo, with(openai.New(openai.Config{BaseURL: api.URL + "/v1"})))
			f.setFlags(t, true, true)
			if _, err := f.e.Turn(ctx, f.conv.ID, "mail jane@example.com", nil); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"mail [email]"}, api.inputs); diff != "" {
				t.Errorf("moderation inputs (-want +got):\n%s", diff)
			}
		})

		t.Run("EndpointFailsClosed", func(t *testing.T) {
			api := newFakeOpenAI(t, http.StatusInternalServerError)
			f := newFixture(t, s, echo, with(openai.New(openai.Config{BaseURL: api.URL + "/v1", MaxRetries: -1}), words...))
			f.setFlags(t, false, true)
			res, err := f.e.Turn(ctx, f.conv.ID, "How much is the Pro plan?", nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Err == nil || res.Bot != nil {
				t.Fatalf("result = %+v, want a failed turn", res)
			}
			msgs := f.messages(t)
			if got := types(msgs); got != "user,activity" {
				t.Fatalf("timeline = %s", got)
			}
			for _, w := range []string{"moderation check failed", "500", "not sent to the model", "fails closed"} {
				if !strings.Contains(msgs[1].Text, w) {
					t.Errorf("activity %q does not say %q", msgs[1].Text, w)
				}
			}
			tr, _ := s.FindTurn(ctx, res.Turn.ID)
			if tr.Status != models.TurnFailed || tr.ErrorStage != "moderation" || tr.Moderated {
				t.Errorf("turn = %+v", tr)
			}
			if n := api.count("/v1/chat/completions"); n != 0 {
				t.Errorf("the model was called %d times", n)
			}
		})

		t.Run("EndpointWithoutRouteUsesWordList", func(t *testing.T) {
			api := newFakeOpenAI(t, http.StatusNotFound) // Ollama, llama.cpp: no /moderations
			f := newFixture(t, s, echo, with(openai.New(openai.Config{BaseURL: api.URL + "/v1"}), words...))
			f.setFlags(t, false, true)
			res, err := f.e.Turn(ctx, f.conv.ID, "How much is the Pro plan?", nil)
			if err != nil || res.Err != nil || res.Bot.Text != "Happy to help." {
				t.Fatalf("answer = %+v, %v", res, err)
			}
			res, err = f.e.Turn(ctx, f.conv.ID, "teach me Wire  Fraud", nil)
			if err != nil {
				t.Fatal(err)
			}
			refused(t, f, res, "flagged by the word list", `matched: "wire fraud"`)
			if api.count("/v1/moderations") != 1 || api.count("/v1/chat/completions") != 1 {
				t.Errorf("requests = %v (the endpoint without the route is asked once)", api.paths)
			}
		})

		t.Run("WordListWithLocalProvider", func(t *testing.T) {
			f := newFixture(t, s, echo, with(local.New(), words...))
			f.setFlags(t, false, true)
			res, err := f.e.Turn(ctx, f.conv.ID, "just KYS", nil)
			if err != nil {
				t.Fatal(err)
			}
			refused(t, f, res, "flagged by the word list", `matched: "kys"`)
			res, err = f.e.Turn(ctx, f.conv.ID, "the skys are blue, what is the time?", nil)
			if err != nil || res.Err != nil || res.Bot.Text == engine.Refusal || res.Turn.Moderated {
				t.Errorf("a word inside another is not a match: %+v, %v", res.Bot, err)
			}
		})

		t.Run("InlineConversation", func(t *testing.T) {
			f := newFixture(t, s, echo, with(local.New(), words...))
			conv, err := s.CreateConversation(ctx, models.Conversation{Model: "local", Moderation: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.e.Turn(ctx, conv.ID, "kys", nil)
			if err != nil || res.Bot == nil || res.Bot.Text != engine.Refusal || !res.Turn.Moderated {
				t.Errorf("inline moderation: %+v, %v", res, err)
			}
		})

		t.Run("Off", func(t *testing.T) {
			api := newFakeOpenAI(t, 0)
			f := newFixture(t, s, echo, with(openai.New(openai.Config{BaseURL: api.URL + "/v1"}), words...))
			res, err := f.e.Turn(ctx, f.conv.ID, "I will hurt you, kys", nil)
			if err != nil || res.Err != nil {
				t.Fatal(err, res.Err)
			}
			if res.Bot.Text != "Happy to help." || res.Turn.Moderated {
				t.Errorf("moderation off: answer %q, turn %+v", res.Bot.Text, res.Turn)
			}
			if n := api.count("/v1/moderations"); n != 0 {
				t.Errorf("moderation off asked the endpoint %d times", n)
			}
		})

		t.Run("Stateless", func(t *testing.T) {
			f := newFixture(t, s, echo, with(local.New(), words...))
			f.setFlags(t, false, true)
			res, err := f.e.Complete(ctx, engine.Stateless{BotID: f.bot.ID, Messages: []models.Message{{Type: models.MessageUser, Text: "kys"}}}, nil)
			if err != nil || res.Bot == nil || res.Bot.Text != engine.Refusal || !res.Turn.Moderated || res.Turn.EndReason != models.EndModerated {
				t.Errorf("stateless moderation: %+v, %v", res, err)
			}
		})
	})
}

func TestWordList(t *testing.T) {
	w := engine.NewWordList([]string{"kys", "wire fraud", "Überfall", "c4"})
	for _, c := range []struct {
		text string
		want []string
	}{
		{"kys", []string{"kys"}},
		{"Just KYS now", []string{"kys"}},
		{"kys, kys!", []string{"kys"}},
		{"skys and kysses", nil},
		{"commit wire\tfraud or WIRE FRAUD", []string{"wire fraud"}},
		{"wirefraud", nil},
		{"ein überfall!", []string{"Überfall"}},
		{"Überfälle", nil},
		{"c4 and kys", []string{"c4", "kys"}},
		{"c42", nil},
		{"", nil},
	} {
		if diff := cmp.Diff(c.want, w.Match(c.text)); diff != "" {
			t.Errorf("Match(%q) (-want +got):\n%s", c.text, diff)
		}
	}
	if got := engine.NewWordList(nil).Match("anything kys"); got != nil {
		t.Errorf("an empty list matched %v", got)
	}
}
