package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// channel is the PostgreSQL NOTIFY channel for stored messages.
const channel = "parley_messages"

type relayed struct {
	Event
	Origin string `json:"origin"`
}

// Listen connects the broker to other instances through PostgreSQL: message
// events published here are sent with NOTIFY, and NOTIFYs from other
// instances are delivered to local watchers. It reconnects until ctx ends.
func (b *Broker) Listen(ctx context.Context, databaseURL string, log *slog.Logger) error {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return err
	}
	idb := make([]byte, 8)
	_, _ = rand.Read(idb)
	origin := hex.EncodeToString(idb)

	notify := make(chan relayed, 1024)
	b.mu.Lock()
	b.relay = func(ev Event) {
		select {
		case notify <- relayed{Event: ev, Origin: origin}:
		default:
			log.Warn("live: notify queue full; an instance may miss a message event", "conversation_id", ev.ConversationID)
		}
	}
	b.mu.Unlock()

	// A notification is not durable anyway: its commit need not wait for the
	// WAL flush.
	sendCfg := cfg.Copy()
	sendCfg.RuntimeParams["synchronous_commit"] = "off"
	go b.sendLoop(ctx, sendCfg, notify, log)
	go b.listenLoop(ctx, cfg, origin, log)
	return nil
}

func (b *Broker) sendLoop(ctx context.Context, cfg *pgx.ConnConfig, notify <-chan relayed, log *slog.Logger) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-notify:
			// What comes within notifyLinger goes in the same statement: one
			// transaction for many events (under load, those of many turns).
			payloads := []string{encode(r)}
			linger := time.NewTimer(notifyLinger)
		drain:
			for len(payloads) < maxBatch {
				select {
				case r := <-notify:
					payloads = append(payloads, encode(r))
				case <-linger.C:
					break drain
				case <-ctx.Done():
					break drain
				}
			}
			linger.Stop()
			for attempt := 0; attempt < 2; attempt++ {
				if conn == nil {
					c, err := pgx.ConnectConfig(ctx, cfg)
					if err != nil {
						if ctx.Err() == nil { // not merely shutting down
							log.Warn("live: connect for NOTIFY", "error", err)
						}
						break
					}
					conn = c
				}
				if _, err := conn.Exec(ctx, "SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS n(p, i) ORDER BY i", channel, payloads); err != nil {
					_ = conn.Close(context.Background())
					conn = nil
					continue
				}
				break
			}
		}
	}
}

// maxBatch bounds the events sent in one NOTIFY statement.
const maxBatch = 100

// notifyLinger is how long an event waits for others to share its NOTIFY
// statement: other instances see it that much later, and a busy instance
// sends one statement for the events of many turns.
const notifyLinger = 2 * time.Millisecond

func encode(r relayed) string {
	b, _ := json.Marshal(r)
	return string(b)
}

func (b *Broker) listenLoop(ctx context.Context, cfg *pgx.ConnConfig, origin string, log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+channel)
		}
		if err == nil {
			backoff = 100 * time.Millisecond
			for {
				n, werr := conn.WaitForNotification(ctx)
				if werr != nil {
					err = werr
					break
				}
				var r relayed
				if json.Unmarshal([]byte(n.Payload), &r) != nil || r.Origin == origin {
					continue
				}
				b.deliver(r.Event)
			}
		}
		if conn != nil {
			_ = conn.Close(context.Background())
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("live: LISTEN connection lost; reconnecting", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}
