package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app/engine"
	"parley/app/live"
	"parley/app/provider"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// newService wraps a fixture's engine in the turn service, with a broker
// the test can watch.
func newService(t *testing.T, f *fixture) (*engine.Service, *live.Broker) {
	t.Helper()
	b := live.NewBroker()
	svc, err := engine.NewService(engine.ServiceOptions{Engine: f.e, Store: f.s, Broker: b,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TurnTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
	return svc, b
}

func TestService(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()

		t.Run("ErrMissingCollaborators", func(t *testing.T) {
			if _, err := engine.NewService(engine.ServiceOptions{}); err == nil {
				t.Error("NewService accepted no collaborators")
			}
		})

		// Ten messages posted at once: each stored before Post returns, each
		// answered once, in the order they were accepted.
		t.Run("ConcurrentPostsAnsweredInOrder", func(t *testing.T) {
			f := newFixture(t, s, echo)
			f.p.delay = 5 * time.Millisecond
			svc, _ := newService(t, f)
			var wg sync.WaitGroup
			turns := make(chan string, 10)
			for i := range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p, err := svc.Post(ctx, f.conv.ID, engine.Input{Text: fmt.Sprintf("question %d", i)})
					if err != nil {
						t.Error(err)
						return
					}
					turns <- p.Turn.ID
				}()
			}
			wg.Wait()
			close(turns)
			for id := range turns {
				if _, err := svc.Await(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			answeredInOrder(t, f.messages(t), 10)
		})

		// A retried delivery with the same key: one message, one answer, and
		// every retry gets that answer.
		t.Run("IdempotencyKeyRetried", func(t *testing.T) {
			f := newFixture(t, s, echo)
			f.p.delay = 20 * time.Millisecond
			svc, _ := newService(t, f)
			in := engine.Input{Text: "charge me once", ExternalID: "test:delivery-1"}
			var (
				wg  sync.WaitGroup
				mu  sync.Mutex
				ids = map[string]int{}
			)
			for range 5 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := svc.Complete(ctx, f.conv.ID, in, nil)
					if err != nil || res.Bot == nil {
						t.Errorf("Complete: %v %+v", err, res)
						return
					}
					mu.Lock()
					ids[res.Bot.ID]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			for range 5 { // and retried later, one after another
				res, err := svc.Complete(ctx, f.conv.ID, in, nil)
				if err != nil || res.Bot == nil {
					t.Fatalf("Complete: %v", err)
				}
				ids[res.Bot.ID]++
			}
			if len(ids) != 1 {
				t.Errorf("answers = %v, want the same one for every retry", ids)
			}
			if got := types(f.messages(t)); got != "user,bot" {
				t.Errorf("timeline = %s, want one message and one answer", got)
			}
			if n := len(f.p.requests()); n != 1 {
				t.Errorf("the model was called %d times, want 1", n)
			}
		})

		// SIGTERM while a turn runs: shutdown waits for its answer.
		t.Run("ShutdownWaitsForRunningTurns", func(t *testing.T) {
			f := newFixture(t, s, echo)
			f.p.delay = 300 * time.Millisecond
			svc, _ := newService(t, f)
			p, err := svc.Post(ctx, f.conv.ID, engine.Input{Text: "slow one"})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // the turn is running
			start := time.Now()
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := svc.Shutdown(sctx); err != nil {
				t.Fatal(err)
			}
			if time.Since(start) < 100*time.Millisecond {
				t.Error("Shutdown returned before the turn could have finished")
			}
			tr, err := s.FindTurn(ctx, p.Turn.ID)
			if err != nil || tr.Status != models.TurnDone || tr.BotMessageID == nil {
				t.Errorf("after shutdown the turn is %+v (%v), want done with an answer", tr, err)
			}
			if _, err := svc.Post(ctx, f.conv.ID, engine.Input{Text: "too late"}); models.ErrorCode(err) != models.CodeUnavailable {
				t.Errorf("Post after shutdown: %v, want unavailable", err)
			}
		})

		t.Run("ShutdownGraceEnds", func(t *testing.T) {
			f := newFixture(t, s, echo)
			f.p.delay = 2 * time.Second
			svc, _ := newService(t, f)
			if _, err := svc.Post(ctx, f.conv.ID, engine.Input{Text: "very slow"}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			if err := svc.Shutdown(sctx); err == nil {
				t.Error("Shutdown reported success although a turn was still running when the grace ended")
			}
		})

		// The context (what was retrieved) is written with the turn's next
		// write, not on its own: the caller streaming the answer sees it at
		// once and once; live views hear of it only when it is stored — with
		// the answer, with the first ability's activity, or with a failure.
		t.Run("ContextShownAtOnceAndPublishedOnceStored", func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				script func(int, provider.Request) (*provider.Response, error)
				want   string // the stored timeline
			}{
				{"Answer", echo, "user,context,bot"},
				{"Ability", func(n int, req provider.Request) (*provider.Response, error) {
					if n == 0 {
						return &provider.Response{ToolCalls: []provider.ToolCall{{ID: "c1", Name: "clock", Arguments: "{}"}}}, nil
					}
					return echo(n, req)
				}, "user,context,activity,bot"},
				{"Failure", func(int, provider.Request) (*provider.Response, error) {
					return nil, &provider.Error{Message: "the model is down"}
				}, "user,context,activity"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					f := newFixture(t, s, tc.script)
					f.p.delay = 150 * time.Millisecond // a wide gap between retrieval and the next write
					ds, err := s.CreateDataset(ctx, models.Dataset{Name: "Refunds", SearchMaxRecords: 3})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := s.CreateRecord(ctx, models.DatasetRecord{DatasetID: ds.ID, Text: "Refunds take five days."}); err != nil {
						t.Fatal(err)
					}
					bot := *f.bot
					if _, err := s.UpdateBot(ctx, store.BotInput{Bot: bot, DatasetIDs: []string{ds.ID}}); err != nil {
						t.Fatal(err)
					}
					svc, b := newService(t, f)
					events, stop := b.Subscribe(f.conv.ID)
					defer stop()
					// Every message a live view hears of is in the store when it hears.
					unstored := make(chan string, 10)
					heard := make(chan []string, 1)
					go func() {
						var got []string
						for ev := range events {
							if ev.Type != live.EventMessage {
								continue
							}
							if _, err := s.FindMessage(ctx, f.conv.ID, ev.MessageID); err != nil {
								unstored <- ev.MessageID
							}
							got = append(got, ev.MessageID)
						}
						heard <- got
					}()
					var mu sync.Mutex
					var order []string // what the caller saw: message types and "token"
					res, err := svc.Complete(ctx, f.conv.ID, engine.Input{Text: "how long do refunds take?"}, func(ev engine.Event) {
						mu.Lock()
						defer mu.Unlock()
						switch {
						case ev.Type == engine.EventToken && (len(order) == 0 || order[len(order)-1] != "token"):
							order = append(order, "token")
						case ev.Type == engine.EventMessage:
							order = append(order, ev.Message.Type)
						}
					})
					if err != nil {
						t.Fatal(err)
					}
					if res.Context == nil {
						t.Fatal("nothing was retrieved")
					}
					if got := types(f.messages(t)); got != tc.want {
						t.Errorf("timeline = %s, want %s", got, tc.want)
					}
					tr, err := s.FindTurn(ctx, res.Turn.ID)
					if err != nil || tr.ContextMessageID == nil || *tr.ContextMessageID != res.Context.ID || len(tr.Records) != 1 {
						t.Errorf("stored turn = %+v (%v), want its context %s and one record", tr, err, res.Context.ID)
					}
					mu.Lock()
					seen := strings.Join(order, ",")
					mu.Unlock()
					if strings.Count(seen, "context") != 1 || !strings.HasPrefix(seen, "user,context") {
						t.Errorf("the caller saw %s, want the context once, right after the question", seen)
					}
					stop()
					ids := <-heard
					select {
					case id := <-unstored:
						t.Errorf("live views heard of message %s before it was stored", id)
					default:
					}
					n := 0
					for _, id := range ids {
						if id == res.Context.ID {
							n++
						}
					}
					if n != 1 {
						t.Errorf("live views heard of the context %d times, want once (events %v)", n, ids)
					}
				})
			}
		})

		// Every event of a turn is published to live views.
		t.Run("PublishesEveryEvent", func(t *testing.T) {
			f := newFixture(t, s, echo)
			svc, b := newService(t, f)
			events, stop := b.Subscribe(f.conv.ID)
			defer stop()
			if _, err := svc.Complete(ctx, f.conv.ID, engine.Input{Text: "hello there"}, nil); err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for len(events) > 0 {
				ev := <-events
				seen[ev.Type]++
			}
			if seen[live.EventMessage] != 2 || seen[live.EventToken] == 0 || seen[live.EventTurn] != 2 {
				t.Errorf("events = %v, want 2 messages (question, answer), tokens and 2 turn events (started, finished)", seen)
			}
			msgs := f.messages(t)
			if err := svc.DeleteMessage(ctx, f.conv.ID, msgs[1].ID); err != nil {
				t.Fatal(err)
			}
			if ev := <-events; ev.Type != live.EventDeleted || ev.MessageID != msgs[1].ID {
				t.Errorf("after a delete: %+v", ev)
			}
		})
	})
}
