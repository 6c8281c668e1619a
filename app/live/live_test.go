package live

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"
)

func TestBroker(t *testing.T) {
	b := NewBroker()
	a, cancelA := b.Subscribe("c1")
	other, cancelOther := b.Subscribe("c2")
	defer cancelOther()
	b.Publish(Event{Type: EventToken, ConversationID: "c1", Token: "hi"})
	select {
	case ev := <-a:
		if ev.Token != "hi" {
			t.Errorf("got %+v", ev)
		}
	case <-time.After(time.Second):
		t.Fatal("no event")
	}
	select {
	case ev := <-other:
		t.Errorf("c2 watcher got c1's event %+v", ev)
	default:
	}
	cancelA()
	cancelA() // twice is harmless
	if n := b.Watchers("c1"); n != 0 {
		t.Errorf("watchers after cancel = %d", n)
	}
}

func TestBrokerDropsSlowWatcher(t *testing.T) {
	b := NewBroker()
	ch, cancel := b.Subscribe("c")
	defer cancel()
	for i := 0; i < subscriberBuffer+10; i++ {
		b.Publish(Event{Type: EventToken, ConversationID: "c"})
	}
	n := 0
	for range ch {
		n++
	}
	if n != subscriberBuffer {
		t.Errorf("slow watcher got %d events before being dropped, want %d", n, subscriberBuffer)
	}
}

// Two brokers on one PostgreSQL are two instances: a message published on one
// reaches the other's watchers; tokens stay local.
func TestListenAcrossInstances(t *testing.T) {
	url := os.Getenv("TEST_DATABASE_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but TEST_DATABASE_URL is not set")
		}
		t.Skip("TEST_DATABASE_URL not set")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	one, two := NewBroker(), NewBroker()
	if err := one.Listen(ctx, url, log); err != nil {
		t.Fatal(err)
	}
	if err := two.Listen(ctx, url, log); err != nil {
		t.Fatal(err)
	}
	ch, stop := two.Subscribe("conv")
	defer stop()
	mine, stopMine := one.Subscribe("conv")
	defer stopMine()
	deadline := time.After(10 * time.Second)
	for {
		// LISTEN may not be up yet: publish until the other instance hears it.
		one.Publish(Event{Type: EventMessage, ConversationID: "conv", MessageID: "m1"})
		select {
		case ev := <-ch:
			if ev.MessageID != "m1" {
				t.Fatalf("got %+v", ev)
			}
			// The origin hears its own event once, locally, not again via NOTIFY.
			got := 0
			timeout := time.After(300 * time.Millisecond)
		drain:
			for {
				select {
				case <-mine:
					got++
				case <-timeout:
					break drain
				}
			}
			if got == 0 {
				t.Error("the publishing instance's own watcher got nothing")
			}
			one.Publish(Event{Type: EventToken, ConversationID: "conv", Token: "x"})
			select {
			case ev := <-ch:
				if ev.Type == EventToken {
					t.Errorf("a token crossed instances: %+v", ev)
				}
			case <-time.After(300 * time.Millisecond):
			}
			// A burst (sent in batches of up to maxBatch per NOTIFY
			// statement) arrives whole and in order. It fits the watcher's
			// buffer, which is read only once all is published: a watcher
			// lagging more is dropped by design.
			const burst = subscriberBuffer - 16
			for i := range burst {
				one.Publish(Event{Type: EventMessage, ConversationID: "conv", MessageID: fmt.Sprintf("b%d", i)})
			}
			for i := 0; i < burst; {
				select {
				case ev, ok := <-ch:
					if !ok {
						t.Fatalf("the watcher was dropped after %d of %d events", i, burst)
					}
					if ev.MessageID == "m1" {
						continue // a repeat of the first message published before it was heard
					}
					if want := fmt.Sprintf("b%d", i); ev.MessageID != want {
						t.Fatalf("event %d of the burst = %+v, want %s", i, ev, want)
					}
					i++
				case <-time.After(10 * time.Second):
					t.Fatalf("the other instance heard %d of %d events", i, burst)
				}
			}
			return
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("the other instance never heard the message")
		}
	}
}
