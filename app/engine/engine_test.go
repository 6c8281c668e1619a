package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app/engine"
	"parley/app/provider"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// scripted is a fake provider: each call gets the request and returns what
// the script says. It records every request.
type scripted struct {
	mu     sync.Mutex
	calls  []provider.Request
	script func(n int, req provider.Request) (*provider.Response, error)
	delay  time.Duration
}

func (p *scripted) Name() string { return "scripted" }

func (p *scripted) Complete(ctx context.Context, req provider.Request, onToken func(string)) (*provider.Response, error) {
	p.mu.Lock()
	n := len(p.calls)
	p.calls = append(p.calls, req)
	p.mu.Unlock()
	if p.delay > 0 {
		time.Sleep(p.delay)
	}
	resp, err := p.script(n, req)
	if err != nil {
		return nil, err
	}
	for _, w := range strings.SplitAfter(resp.Text, " ") {
		if w != "" && onToken != nil {
			onToken(w)
		}
	}
	return resp, nil
}

func (p *scripted) requests() []provider.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]provider.Request(nil), p.calls...)
}

// echo answers "echo: <last user message>".
func echo(_ int, req provider.Request) (*provider.Response, error) {
	last := ""
	for _, m := range req.Messages {
		if m.Role == provider.RoleUser {
			last = m.Content
		}
	}
	return &provider.Response{Text: "echo: " + last, FinishReason: provider.FinishStop, Usage: provider.Usage{InputTokens: 10, OutputTokens: 3}}, nil
}

// clockRunner is an ability that returns a fixed time, or fails.
type clockRunner struct{ fail bool }

func (c clockRunner) Tool() provider.Tool {
	return provider.Tool{Name: "clock", Description: "current time", Parameters: map[string]any{"type": "object"}}
}

func (c clockRunner) Run(context.Context, json.RawMessage) (string, error) {
	if c.fail {
		return "", errors.New("clock is broken")
	}
	return "12:00", nil
}

type fixture struct {
	s    *store.Store
	conv *models.Conversation
	bot  *models.Bot
	p    *scripted
	e    *engine.Engine
}

func newFixture(t *testing.T, s *store.Store, script func(int, provider.Request) (*provider.Response, error), opts ...func(*engine.Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	k, err := s.CreateSkillset(ctx, models.Skillset{Name: "Tools"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAbility(ctx, models.Ability{SkillsetID: k.ID, Name: "clock", Description: "current time", Meta: models.Meta{"action": "test:clock"}}); err != nil {
		t.Fatal(err)
	}
	bot, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "B", Backstory: "You are B.", Model: "scripted"}, SkillsetIDs: []string{k.ID}})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := s.CreateConversation(ctx, models.Conversation{BotID: &bot.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &scripted{script: script}
	o := engine.Options{
		Store: s,
		Providers: func(context.Context, string) (provider.Provider, string, error) {
			return p, "scripted-1", nil
		},
		Abilities: func(a models.Ability) (engine.Runner, error) {
			if a.Meta["action"] == "test:clock" {
				return clockRunner{fail: a.Meta["fail"] == true}, nil
			}
			return nil, nil
		},
	}
	for _, f := range opts {
		f(&o)
	}
	return &fixture{s: s, conv: conv, bot: bot, p: p, e: engine.New(o)}
}

func (f *fixture) messages(t *testing.T) []models.Message {
	t.Helper()
	msgs, _, err := f.s.FindMessages(context.Background(), f.conv.ID, models.Page{Limit: models.MaxPageSize, Order: models.OrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func types(msgs []models.Message) string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Type)
	}
	return strings.Join(out, ",")
}

func TestTurn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()

		t.Run("OK", func(t *testing.T) {
			f := newFixture(t, s, echo)
			var tokens []string
			res, err := f.e.Turn(ctx, f.conv.ID, "hello there", func(ev engine.Event) {
				if ev.Type == "token" {
					tokens = append(tokens, ev.Token)
				}
			})
			if err != nil || res.Err != nil {
				t.Fatalf("Turn: %v / %v", err, res.Err)
			}
			if got, want := res.Bot.Text, "echo: hello there"; got != want {
				t.Errorf("bot text = %q, want %q", got, want)
			}
			if strings.Join(tokens, "") != res.Bot.Text {
				t.Errorf("tokens %q do not add up to %q", tokens, res.Bot.Text)
			}
			if got := types(f.messages(t)); got != "user,bot" {
				t.Errorf("timeline = %s", got)
			}
			// The turn's figures are typed, stored with the answer.
			tr, err := s.FindTurn(ctx, res.Turn.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Status != models.TurnDone || tr.Provider != "scripted" || tr.Model != "scripted-1" || tr.EndReason != models.EndStop {
				t.Errorf("turn = %+v", tr)
			}
			if tr.InputTokens != 10 || tr.OutputTokens != 3 || tr.StartedAt == nil || tr.FinishedAt == nil || tr.TTFTMs == nil {
				t.Errorf("turn figures = %+v", tr)
			}
			if tr.BotID == nil || *tr.BotID != f.bot.ID || models.Deref(tr.UserMessageID) != res.User.ID || models.Deref(tr.BotMessageID) != res.Bot.ID {
				t.Errorf("turn links = bot %v user %v answer %v", tr.BotID, tr.UserMessageID, tr.BotMessageID)
			}
			if models.Deref(res.Bot.TurnID) != tr.ID || len(res.Bot.Meta) != 0 {
				t.Errorf("answer's turn %v, meta %v: the figures belong to the turn, not meta", res.Bot.TurnID, res.Bot.Meta)
			}
			raw, err := s.FindTurnPrompt(ctx, f.conv.ID, tr.ID)
			if err != nil {
				t.Fatal(err)
			}
			prompt, err := engine.DecodePrompt(raw)
			if err != nil || prompt == nil || prompt.Model != "scripted-1" || len(prompt.Messages) != 2 ||
				!strings.Contains(prompt.Messages[0].Content, "You are B.") || prompt.Messages[1].Content != "hello there" || len(prompt.Tools) != 1 {
				t.Errorf("kept prompt = %+v (%v)", prompt, err)
			}
			req := f.p.requests()[0]
			if req.Messages[0].Role != provider.RoleSystem || !strings.Contains(req.Messages[0].Content, "You are B.") {
				t.Errorf("first prompt message = %+v, want the backstory", req.Messages[0])
			}
			if len(req.Tools) != 1 || req.Tools[0].Name != "clock" {
				t.Errorf("tools = %+v", req.Tools)
			}
		})

		t.Run("ErrEmptyMessage", func(t *testing.T) {
			f := newFixture(t, s, echo)
			if _, err := f.e.Turn(ctx, f.conv.ID, "  ", nil); models.ErrorCode(err) != models.CodeInvalid {
				t.Errorf("err = %v, want invalid", err)
			}
			if n := len(f.messages(t)); n != 0 {
				t.Errorf("%d messages written", n)
			}
		})

		t.Run("ProviderFailureKeepsUserMessage", func(t *testing.T) {
			calls := 0
			f := newFixture(t, s, func(n int, req provider.Request) (*provider.Response, error) {
				calls++
				if calls == 1 {
					return nil, &provider.Error{Message: "the model is overloaded (HTTP 503)", Retryable: true}
				}
				return echo(n, req)
			})
			res, err := f.e.Turn(ctx, f.conv.ID, "are you there?", nil)
			if err != nil {
				t.Fatalf("Turn returned %v; a model failure must be recorded, not returned", err)
			}
			if res.Err == nil || !strings.Contains(res.Err.Error(), "overloaded") {
				t.Errorf("res.Err = %v", res.Err)
			}
			msgs := f.messages(t)
			if got := types(msgs); got != "user,activity" {
				t.Fatalf("timeline = %s, want user,activity", got)
			}
			if msgs[0].Text != "are you there?" || !strings.Contains(msgs[1].Text, "overloaded") || models.Deref(msgs[1].TurnID) != res.Turn.ID {
				t.Errorf("messages = %+v", msgs)
			}
			if tr, _ := s.FindTurn(ctx, res.Turn.ID); tr.Status != models.TurnFailed || tr.ErrorStage != "model" ||
				!strings.Contains(tr.Error, "overloaded") || models.Deref(tr.ErrorMessageID) != msgs[1].ID || tr.EndReason != models.EndError {
				t.Errorf("failed turn = %+v", tr)
			}
			// The conversation stays usable.
			res, err = f.e.Turn(ctx, f.conv.ID, "try again", nil)
			if err != nil || res.Err != nil || res.Bot.Text != "echo: try again" {
				t.Errorf("next turn: %v / %+v", err, res)
			}
		})

		t.Run("ToolLoop", func(t *testing.T) {
			f := newFixture(t, s, func(n int, req provider.Request) (*provider.Response, error) {
				last := req.Messages[len(req.Messages)-1]
				if last.Role == provider.RoleTool {
					return &provider.Response{Text: "It is " + last.Content + ".", FinishReason: provider.FinishStop}, nil
				}
				return &provider.Response{ToolCalls: []provider.ToolCall{{ID: "c1", Name: "clock", Arguments: "{}"}}, FinishReason: provider.FinishToolCalls}, nil
			})
			res, err := f.e.Turn(ctx, f.conv.ID, "what time is it?", nil)
			if err != nil || res.Err != nil {
				t.Fatal(err, res.Err)
			}
			if res.Bot.Text != "It is 12:00." {
				t.Errorf("answer = %q", res.Bot.Text)
			}
			msgs := f.messages(t)
			if got := types(msgs); got != "user,activity,bot" {
				t.Fatalf("timeline = %s", got)
			}
			tr, _ := s.FindTurn(ctx, res.Turn.ID)
			if len(tr.Calls) != 1 || tr.Calls[0].Ability != "clock" || tr.Calls[0].Output != "12:00" || tr.Calls[0].Input != "{}" ||
				tr.Calls[0].MessageID != msgs[1].ID || tr.ToolRounds != 1 {
				t.Errorf("turn calls = %+v, rounds %d", tr.Calls, tr.ToolRounds)
			}
		})

		t.Run("ToolLoopIsBounded", func(t *testing.T) {
			f := newFixture(t, s, func(int, provider.Request) (*provider.Response, error) {
				return &provider.Response{ToolCalls: []provider.ToolCall{{ID: "c", Name: "clock", Arguments: "{}"}}, FinishReason: provider.FinishToolCalls}, nil
			}, func(o *engine.Options) { o.MaxToolRounds = 3 })
			res, err := f.e.Turn(ctx, f.conv.ID, "loop forever", nil)
			if err != nil || res.Err != nil {
				t.Fatal(err, res.Err)
			}
			if res.Turn.EndReason != models.EndToolLimit || res.Bot.Text == "" {
				t.Errorf("bot = %q, end %q", res.Bot.Text, res.Turn.EndReason)
			}
			if got := strings.Count(types(f.messages(t)), "activity"); got != 3 {
				t.Errorf("%d ability runs, want 3", got)
			}
			if got := len(f.p.requests()); got != 4 {
				t.Errorf("%d model calls, want 4", got)
			}
		})

		t.Run("ToolErrorIsRecordedAndFedBack", func(t *testing.T) {
			f := newFixture(t, s, func(n int, req provider.Request) (*provider.Response, error) {
				last := req.Messages[len(req.Messages)-1]
				if last.Role == provider.RoleTool {
					return &provider.Response{Text: "Sorry: " + last.Content, FinishReason: provider.FinishStop}, nil
				}
				return &provider.Response{ToolCalls: []provider.ToolCall{{ID: "c1", Name: "nope", Arguments: "{}"}}, FinishReason: provider.FinishToolCalls}, nil
			})
			res, err := f.e.Turn(ctx, f.conv.ID, "use a missing tool", nil)
			if err != nil || res.Err != nil {
				t.Fatal(err, res.Err)
			}
			msgs := f.messages(t)
			if msgs[1].Type != models.MessageActivity || len(res.Turn.Calls) != 1 || !strings.Contains(res.Turn.Calls[0].Error, "no ability named") {
				t.Errorf("activity = %+v, calls %+v", msgs[1], res.Turn.Calls)
			}
			if !strings.Contains(res.Bot.Text, "no ability named") {
				t.Errorf("answer = %q", res.Bot.Text)
			}
		})

		t.Run("HistoryWindowDropsOldestKeepsBackstory", func(t *testing.T) {
			f := newFixture(t, s, echo, func(o *engine.Options) { o.HistoryTokens = 40 })
			for i := 0; i < 6; i++ {
				if _, err := f.e.Turn(ctx, f.conv.ID, fmt.Sprintf("message %d %s", i, strings.Repeat("word ", 10)), nil); err != nil {
					t.Fatal(err)
				}
			}
			reqs := f.p.requests()
			last := reqs[len(reqs)-1]
			if last.Messages[0].Role != provider.RoleSystem || !strings.Contains(last.Messages[0].Content, "You are B.") {
				t.Fatalf("backstory dropped: %+v", last.Messages[0])
			}
			all := ""
			for _, m := range last.Messages[1:] {
				all += m.Content + "|"
			}
			if strings.Contains(all, "message 0") || !strings.Contains(all, "message 5") {
				t.Errorf("history = %s; want the oldest dropped and the newest kept", all)
			}
			if len(last.Messages) >= 12 {
				t.Errorf("history not bounded: %d messages", len(last.Messages))
			}
		})

		t.Run("ConcurrentTurnsRunInOrder", func(t *testing.T) {
			f := newFixture(t, s, echo)
			f.p.delay = 20 * time.Millisecond
			var wg sync.WaitGroup
			for i := 0; i < 5; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := f.e.Turn(ctx, f.conv.ID, fmt.Sprintf("q%d", i), nil); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			answeredInOrder(t, f.messages(t), 5)
		})
	})
}

// answeredInOrder checks that n questions got n answers, one each, in the
// order they were asked: the k-th answer echoes the k-th question, and every
// answer comes after its question.
func answeredInOrder(t *testing.T, msgs []models.Message, n int) {
	t.Helper()
	var qs, as []models.Message
	for _, m := range msgs {
		switch m.Type {
		case models.MessageUser:
			qs = append(qs, m)
		case models.MessageBot:
			as = append(as, m)
		}
	}
	if len(qs) != n || len(as) != n {
		t.Fatalf("%d questions and %d answers, want %d each: %s", len(qs), len(as), n, types(msgs))
	}
	for i := range qs {
		if want := "echo: " + qs[i].Text; as[i].Text != want {
			t.Errorf("answer %d = %q, want %q (answers out of order)", i, as[i].Text, want)
		}
		if as[i].ID < qs[i].ID {
			t.Errorf("answer %d comes before its question", i)
		}
	}
}

func TestTurnAcrossEngines(t *testing.T) {
	// Two engines on one PostgreSQL database are two instances: the advisory
	// lock must order their turns.
	for _, d := range storetest.Dialects(t) {
		if d != store.Postgres {
			continue
		}
		t.Run(d, func(t *testing.T) {
			url := storetest.URL(t, d)
			open := func() *store.Store {
				s, err := store.Open(context.Background(), url, store.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			s1 := open()
			if _, err := s1.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, s1, echo)
			f.p.delay = 20 * time.Millisecond
			f2 := &fixture{s: open(), conv: f.conv, p: f.p}
			f2.e = engine.New(engine.Options{Store: f2.s, Providers: func(context.Context, string) (provider.Provider, string, error) { return f.p, "m", nil }})
			var wg sync.WaitGroup
			for i := 0; i < 6; i++ {
				e := f.e
				if i%2 == 1 {
					e = f2.e
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := e.Turn(context.Background(), f.conv.ID, fmt.Sprintf("q%d", i), nil); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			answeredInOrder(t, f.messages(t), 6)
		})
	}
}

func TestRetryKeepsBothAnswers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newFixture(t, s, func(n int, req provider.Request) (*provider.Response, error) {
			return &provider.Response{Text: "answer " + fmt.Sprint(n) + " from: " + req.Messages[0].Content, FinishReason: provider.FinishStop}, nil
		})
		if _, err := f.e.Turn(ctx, f.conv.ID, "why?", nil); err != nil {
			t.Fatal(err)
		}
		b := *f.bot
		b.Backstory = "You are B, revised."
		if _, err := s.UpdateBot(ctx, store.BotInput{Bot: b}); err != nil {
			t.Fatal(err)
		}
		res, err := f.e.Retry(ctx, f.conv.ID, nil)
		if err != nil || res.Err != nil {
			t.Fatal(err, res.Err)
		}
		msgs := f.messages(t)
		if got := types(msgs); got != "user,bot,bot" {
			t.Fatalf("timeline = %s, want both answers kept", got)
		}
		if !strings.Contains(msgs[2].Text, "revised") || strings.Contains(msgs[1].Text, "revised") {
			t.Errorf("answers = %q / %q", msgs[1].Text, msgs[2].Text)
		}
		last := f.p.requests()[1]
		if got := last.Messages[len(last.Messages)-1]; got.Role != provider.RoleUser || got.Content != "why?" {
			t.Errorf("retry prompt ends with %+v, want the user's question", got)
		}
		if res.Turn.Retry != true || models.Deref(res.Turn.UserMessageID) != msgs[0].ID {
			t.Errorf("retry turn = %+v", res.Turn)
		}
	})
}

// TestRecoverEveryPage: turns a stop left unfinished in more conversations
// than recovery reads at once are all closed, each with its activity entry,
// not only the first page's.
func TestRecoverEveryPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newFixture(t, s, echo)
		defer engine.SetRecoverPage(2)()
		var turns []string
		for i := range 5 {
			conv, err := s.CreateConversation(ctx, models.Conversation{BotID: &f.bot.ID}, nil)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := s.CreateMessage(ctx, models.Message{ConversationID: conv.ID, Type: models.MessageUser, Text: fmt.Sprintf("q%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			turn, err := s.QueueTurn(ctx, conv.ID, msg.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			turns = append(turns, turn.ID)
		}
		msgs, err := f.e.Recover(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != len(turns) {
			t.Errorf("%d activity entries, want %d", len(msgs), len(turns))
		}
		for _, id := range turns {
			if turn, err := s.FindTurn(ctx, id); err != nil || turn.Status != models.TurnInterrupted {
				t.Errorf("turn %s after recovery: %v, %v", id, turn.Status, err)
			}
		}
	})
}
