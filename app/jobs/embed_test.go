package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"parley/app/jobs"
	"parley/models"
	"parley/models/store/storetest"
)

// embedRecorder is an Embedder that records the datasets it was asked to
// embed and fails the first call for each (a provider error).
type embedRecorder struct {
	mu    sync.Mutex
	calls map[string][]time.Time
}

func (e *embedRecorder) EmbedDataset(_ context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls[id] = append(e.calls[id], time.Now())
	if len(e.calls[id]) == 1 {
		return errors.New("the provider answered 503")
	}
	return nil
}

func (e *embedRecorder) wait(t *testing.T, id string, n int) []time.Time {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		e.mu.Lock()
		c := append([]time.Time(nil), e.calls[id]...)
		e.mu.Unlock()
		if len(c) >= n {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("dataset %s was not embedded %d times", id, n)
	return nil
}

// TestRecordWritesQueueEmbedding: with a queue running, adding a record to
// a dataset that has an embeddings model queues its embedding in the same
// transaction; the job runs, and a failure is retried after a backoff. A
// dataset without an embeddings model queues nothing.
func TestRecordWritesQueueEmbedding(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			st, url := openStore(t, d)
			ctx := t.Context()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			if err := jobs.Migrate(ctx, st, log); err != nil {
				t.Fatal(err)
			}
			emb := &embedRecorder{calls: map[string][]time.Time{}}
			q, err := jobs.New(ctx, jobs.Options{Store: st, DatabaseURL: url, Handler: newRecorder(), Embedder: emb, Logger: log,
				EventWorkers: 1, DeliveryWorkers: 1, JobTimeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			st.SetQueue(q)
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = q.Stop(sctx)
			})
			p, err := st.CreateProvider(ctx, models.Provider{Name: "emb", Kind: models.ProviderKindOpenAI, BaseURL: "http://127.0.0.1:9/v1", TimeoutSeconds: 5}, "")
			if err != nil {
				t.Fatal(err)
			}
			plain := models.NewDataset()
			plain.Name = "Keywords only"
			kw, err := st.CreateDataset(ctx, plain)
			if err != nil {
				t.Fatal(err)
			}
			sem := models.NewDataset()
			sem.Name, sem.EmbedProviderID, sem.EmbedModel = "Semantic", &p.ID, "m"
			ds, err := st.CreateDataset(ctx, sem) // queues one job
			if err != nil {
				t.Fatal(err)
			}
			first := emb.wait(t, ds.ID, 1)[0]
			if _, err := st.CreateRecord(ctx, models.DatasetRecord{DatasetID: kw.ID, Text: "not embedded"}); err != nil {
				t.Fatal(err)
			}
			// The failed first job is retried after River's backoff (about a second).
			calls := emb.wait(t, ds.ID, 2)
			if gap := calls[1].Sub(first); gap < 500*time.Millisecond {
				t.Errorf("a failed embedding was retried after %s, want a backoff", gap)
			}
			if _, err := st.CreateRecord(ctx, models.DatasetRecord{DatasetID: ds.ID, Text: "new record"}); err != nil {
				t.Fatal(err)
			}
			emb.wait(t, ds.ID, 3)
			if n, err := st.EnqueueEmbeddings(ctx); err != nil || n != 1 {
				t.Errorf("EnqueueEmbeddings = %d, %v; want the one semantic dataset", n, err)
			}
			emb.wait(t, ds.ID, 4)
			emb.mu.Lock()
			defer emb.mu.Unlock()
			if n := len(emb.calls[kw.ID]); n != 0 {
				t.Errorf("a dataset without an embeddings model was embedded %d times", n)
			}
		})
	}
}
