package handlers

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"parley/app/crypto"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// BenchmarkWidgetSession measures POST /widget/{id}/session through the whole
// server (origin check, both rate-limit counters, contact, thread,
// conversation, token), for a new visitor each time and for a returning one
// (its conversation and history found), on each database, from 4 ×
// GOMAXPROCS concurrent clients; sessions/s is reported. The rate limits are on, set high enough never to refuse.
func BenchmarkWidgetSession(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		for _, kind := range []string{"new", "returning"} {
			b.Run(d+"/"+kind, func(b *testing.B) {
				ctx := context.Background()
				s := storetest.Open(b, d)
				box, err := crypto.NewBox(bytes.Repeat([]byte{3}, crypto.KeySize))
				if err != nil {
					b.Fatal(err)
				}
				s.SetBox(box)
				srv := newServer(b, s, func(su *serverSetup) { su.Config.WidgetAddressRate, su.Config.WidgetRate = 1<<30, 1<<30 })
				bot, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Bench", Model: "local"}})
				if err != nil {
					b.Fatal(err)
				}
				it, _, err := s.CreateIntegration(ctx, store.IntegrationInput{Integration: models.Integration{Type: models.IntegrationWidget,
					BotID: &bot.ID, Widget: models.WidgetSettings{Origin: widgetSite}}})
				if err != nil {
					b.Fatal(err)
				}
				path := "/widget/" + it.ID + "/session"
				call := func(fp string) {
					req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(sessionBody(fp)))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Origin", widgetSite)
					res, err := srv.App().Test(req, -1)
					if err != nil || res.StatusCode != http.StatusOK {
						b.Fatalf("session: %v %v", err, res.StatusCode)
					}
					res.Body.Close()
				}
				if kind == "returning" {
					call(testFingerprint)
				}
				var n atomic.Int64
				b.SetParallelism(4) // 4 × GOMAXPROCS clients at once
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						fp := testFingerprint
						if kind == "new" {
							fp = fmt.Sprintf("fp_bench_%016d", n.Add(1))
						}
						call(fp)
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
			})
		}
	}
}
