package handlers

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm/clause"

	"parley/models"
	"parley/models/store/storetest"
)

// BenchmarkExport exports n conversations of four messages each as JSONL and
// as CSV, reporting the bytes written, bytes allocated and the peak live heap
// (sampled every millisecond) per export: the peak must stay flat as n grows
// (memory bounded by the batch, not the export). n is
// PARLEY_BENCH_CONVERSATIONS (2,000 by default; 100000 for the figure in the README).
func BenchmarkExport(b *testing.B) {
	n := 2000
	if v := os.Getenv("PARLEY_BENCH_CONVERSATIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("PARLEY_BENCH_CONVERSATIONS=%q: want a positive number", v)
		}
	}
	for _, d := range storetest.Dialects(b) {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			s := storetest.Open(b, d)
			srv := newServer(b, s)
			now := time.Now().UTC()
			convs := make([]models.Conversation, 0, 1000)
			msgs := make([]models.Message, 0, 4000)
			for i := range n {
				c := models.Conversation{ID: models.NewID(), Name: fmt.Sprintf("Export %d", i), Meta: models.Meta{}, Kind: models.ConversationChat, CreatedAt: now, UpdatedAt: now}
				convs = append(convs, c)
				for j := range 4 {
					typ := models.MessageUser
					if j%2 == 1 {
						typ = models.MessageBot
					}
					msgs = append(msgs, models.Message{ID: models.NewID(), ConversationID: c.ID, Type: typ, Meta: models.Meta{}, CreatedAt: now, UpdatedAt: now,
						Text: fmt.Sprintf("message %d of conversation %d, write to someone%d@example.com about order %d", j, i, i, i*7)})
				}
				if len(convs) == cap(convs) || i == n-1 {
					if err := s.DB().Omit(clause.Associations).CreateInBatches(convs, 1000).Error; err != nil {
						b.Fatal(err)
					}
					if err := s.DB().CreateInBatches(msgs, 1000).Error; err != nil {
						b.Fatal(err)
					}
					convs, msgs = convs[:0], msgs[:0]
				}
			}
			for _, format := range []string{"jsonl", "csv"} {
				b.Run(format, func(b *testing.B) {
					src := func(ctx context.Context, cursor string) ([]models.Conversation, string, error) {
						rows, next, err := s.FindConversationRows(ctx, models.ConversationQuery{ConversationFilter: models.ConversationFilter{Page: models.Page{Cursor: cursor, Limit: exportBatch}}})
						out := make([]models.Conversation, len(rows))
						for i, r := range rows {
							out[i] = r.Conversation
						}
						return out, next, err
					}
					e := exporter{store: srv.store, mask: models.MaskPersonalData, src: src}
					var peak atomic.Uint64
					stop := make(chan struct{})
					var wg sync.WaitGroup
					wg.Add(1)
					go func() {
						defer wg.Done()
						var ms runtime.MemStats
						for {
							select {
							case <-stop:
								return
							case <-time.After(time.Millisecond):
								runtime.ReadMemStats(&ms)
								if ms.HeapAlloc > peak.Load() {
									peak.Store(ms.HeapAlloc)
								}
							}
						}
					}()
					b.ReportAllocs()
					var written int64
					for b.Loop() {
						cw := &countWriter{w: io.Discard}
						var err error
						if format == "csv" {
							err = e.csv(ctx, cw)
						} else {
							err = e.jsonl(ctx, cw)
						}
						if err != nil {
							b.Fatal(err)
						}
						written = cw.n
					}
					close(stop)
					wg.Wait()
					b.ReportMetric(float64(written), "bytes-written")
					b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
				})
			}
		})
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.w.Write(p)
}
