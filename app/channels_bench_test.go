package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"parley/app/channel/telegram"
	"parley/app/channel/telegram/telegramtest"
	"parley/app/config"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// benchDialects are the databases the channel benchmarks run on.
func benchDialects(b *testing.B) []string { return storetest.Dialects(b) }

// useLocal makes the app's bot answer with the built-in offline provider.
func (a *chanApp) useLocal() {
	a.t.Helper()
	a.bot.Model = "local"
	if _, err := a.st.UpdateBot(context.Background(), store.BotInput{Bot: *a.bot}); err != nil {
		a.t.Fatal(err)
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// BenchmarkChannelAck measures how long Telegram waits for its 200: each
// iteration posts 200 updates at once (200 chats), with the bot (local)
// answering the earlier ones meanwhile. Reported: p50 and p99 of the
// acknowledgement, in milliseconds.
func BenchmarkChannelAck(b *testing.B) {
	for _, d := range benchDialects(b) {
		b.Run(d, func(b *testing.B) {
			a := newChanApp(b, d, func(c *config.Config) {
				if os.Getenv("ACK_WORKERS") != "" {
					c.Channels.EventWorkers, c.Channels.DeliveryWorkers = 1, 1
				}
			})
			a.useLocal()
			bot := a.newTelegram()
			const concurrent = 200
			var (
				mu   sync.Mutex
				lats []time.Duration
			)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrent}}
			b.ResetTimer()
			for range b.N {
				var wg sync.WaitGroup
				for c := range concurrent {
					wg.Add(1)
					go func() {
						defer wg.Done()
						u := telegramtest.TextUpdate(int64(20000+c), 0, "how do I reset my password?")
						start := time.Now()
						status := postUpdate(b, client, bot, u)
						lat := time.Since(start)
						if status != http.StatusOK {
							b.Errorf("status %d", status)
						}
						mu.Lock()
						lats = append(lats, lat)
						mu.Unlock()
					}()
				}
				wg.Wait()
			}
			b.StopTimer()
			slices.Sort(lats)
			b.ReportMetric(float64(percentile(lats, 0.50).Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(percentile(lats, 0.99).Microseconds())/1000, "p99_ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// postUpdate posts an update with a shared client (many connections).
func postUpdate(tb testing.TB, client *http.Client, bot *telegramBot, u any) int {
	tb.Helper()
	res, err := client.Do(updateRequest(tb, bot, u))
	if err != nil {
		tb.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// BenchmarkChannelEndToEnd measures updates answered per second: b.N
// updates over 20 chats, each chat's sent one after the other as Telegram
// does (the next once the previous is acknowledged), the bot answering
// with local, until every reply has reached the fake Telegram.
func BenchmarkChannelEndToEnd(b *testing.B) {
	for _, d := range benchDialects(b) {
		b.Run(d, func(b *testing.B) {
			a := newChanApp(b, d)
			a.useLocal()
			bot := a.newTelegram()
			const chats = 20
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: chats}}
			delivered := func() int64 {
				var n int64
				a.st.DB().Model(&models.OutboundDelivery{}).Where("status = ?", models.DeliveryDelivered).Count(&n)
				return n
			}
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for c := range chats {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := c; i < b.N; i += chats {
						u := telegramtest.TextUpdate(int64(30000+c), 0, fmt.Sprintf("question %d", i))
						if s := postUpdate(b, client, bot, u); s != http.StatusOK {
							b.Errorf("status %d", s)
						}
					}
				}()
			}
			wg.Wait()
			deadline := time.Now().Add(5 * time.Minute)
			for delivered() < int64(b.N) {
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d replies delivered after 5 minutes", delivered(), b.N)
				}
				time.Sleep(10 * time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// updateRequest is the request Telegram makes to deliver an update.
func updateRequest(tb testing.TB, bot *telegramBot, u any) *http.Request {
	tb.Helper()
	body, err := json.Marshal(u)
	if err != nil {
		tb.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, bot.url, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(telegram.SecretHeader, bot.secret)
	return req
}

// BenchmarkChannelAckOne measures one acknowledgement at a time: the cost
// of authenticating, recording and queueing an update.
func BenchmarkChannelAckOne(b *testing.B) {
	for _, d := range benchDialects(b) {
		b.Run(d, func(b *testing.B) {
			a := newChanApp(b, d)
			a.useLocal()
			bot := a.newTelegram()
			client := &http.Client{}
			b.ResetTimer()
			for i := range b.N {
				u := telegramtest.TextUpdate(int64(40000+i%50), 0, "hello")
				if s := postUpdate(b, client, bot, u); s != http.StatusOK {
					b.Fatalf("status %d", s)
				}
			}
		})
	}
}
