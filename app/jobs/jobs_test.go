package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"parley/app/jobs"
	"parley/models/store"
	"parley/models/store/storetest"
)

// recorder is a Handler that records what it was asked to do, and when;
// later makes the first call for an id ask to be run again after a while.
type recorder struct {
	mu    sync.Mutex
	calls map[string][]time.Time
	later map[string]time.Duration
}

func newRecorder() *recorder {
	return &recorder{calls: map[string][]time.Time{}, later: map[string]time.Duration{}}
}

func (r *recorder) record(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[id] = append(r.calls[id], time.Now())
	if d, snooze := r.later[id]; snooze {
		delete(r.later, id)
		return jobs.Later(d)
	}
	return nil
}

func (r *recorder) ProcessEvent(_ context.Context, id string) error { return r.record("event:" + id) }
func (r *recorder) Deliver(_ context.Context, id string) error      { return r.record("delivery:" + id) }

// wait waits for the nth call with id and returns when it came.
func (r *recorder) wait(t *testing.T, id string, n int) time.Time {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		calls := r.calls[id]
		r.mu.Unlock()
		if len(calls) >= n {
			return calls[n-1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the handler was not called %d times with %s", n, id)
	return time.Time{}
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls[id])
}

func startQueue(t *testing.T, st *store.Store, dbURL string, h jobs.Handler) *jobs.Queue {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := jobs.Migrate(ctx, st, log); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(ctx, jobs.Options{Store: st, DatabaseURL: dbURL, Handler: h, Logger: log,
		EventWorkers: 2, DeliveryWorkers: 2, JobTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	})
	return q
}

func openStore(t *testing.T, dialect string) (*store.Store, string) {
	t.Helper()
	url := storetest.URL(t, dialect)
	st, err := store.Open(context.Background(), url, store.Options{MaxOpenConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, url
}

// TestJobsCommitWithTheirTransaction inserts jobs inside store
// transactions: a committed one runs, a rolled back one never does, and a
// job that asks to wait runs again after the wait. River's tables migrate
// twice without harm.
func TestJobsCommitWithTheirTransaction(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			st, url := openStore(t, d)
			rec := newRecorder()
			q := startQueue(t, st, url, rec)
			if err := jobs.Migrate(context.Background(), st, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			ctx := t.Context()
			insert := func(commit bool, js ...store.Job) {
				t.Helper()
				err := st.DB().WithContext(ctx).Transaction(func(tx *gorm.DB) error {
					if err := q.EnqueueTx(ctx, tx.Statement.ConnPool.(*sql.Tx), js...); err != nil {
						return err
					}
					if !commit {
						return errors.New("roll back")
					}
					return nil
				})
				if commit && err != nil {
					t.Fatal(err)
				}
			}
			insert(false, store.Job{Kind: store.JobEvent, ID: "rolled-back"})
			insert(true, store.Job{Kind: store.JobEvent, ID: "e1"}, store.Job{Kind: store.JobDelivery, ID: "d1"})
			rec.wait(t, "event:e1", 1)
			rec.wait(t, "delivery:d1", 1)

			rec.mu.Lock()
			rec.later["event:e2"] = 300 * time.Millisecond
			rec.mu.Unlock()
			insert(true, store.Job{Kind: store.JobEvent, ID: "e2"})
			first := rec.wait(t, "event:e2", 1)
			second := rec.wait(t, "event:e2", 2)
			if gap := second.Sub(first); gap < 250*time.Millisecond {
				t.Errorf("a job that asked to wait 300ms ran again after %s", gap)
			}
			at := time.Now().Add(400 * time.Millisecond)
			insert(true, store.Job{Kind: store.JobDelivery, ID: "d2", At: at})
			if got := rec.wait(t, "delivery:d2", 1); got.Before(at) {
				t.Errorf("a job scheduled for %s ran at %s", at.Format(time.StampMilli), got.Format(time.StampMilli))
			}
			if n := rec.count("event:rolled-back"); n != 0 {
				t.Errorf("a rolled back job ran %d times", n)
			}
			if err := q.EnqueueTx(ctx, nil, store.Job{Kind: "nope", ID: "x"}); err == nil {
				t.Error("an unknown job kind was accepted")
			}
		})
	}
}

// TestQueueStats counts what waits in the queue, for the metrics: jobs by
// kind and state, and how long the oldest due one has waited. The queue is
// not started, so nothing takes the jobs.
func TestQueueStats(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			st, url := openStore(t, d)
			ctx := t.Context()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			if err := jobs.Migrate(ctx, st, log); err != nil {
				t.Fatal(err)
			}
			q, err := jobs.New(ctx, jobs.Options{Store: st, DatabaseURL: url, Handler: newRecorder(), Logger: log,
				EventWorkers: 1, DeliveryWorkers: 1, JobTimeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(q.Abandon)
			if got, err := st.QueueStats(ctx); err != nil || len(got) != 0 {
				t.Fatalf("empty queue: %+v, %v", got, err)
			}
			now := time.Now()
			err = st.DB().WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				return q.EnqueueTx(ctx, tx.Statement.ConnPool.(*sql.Tx),
					store.Job{Kind: store.JobEvent, ID: "old"},
					store.Job{Kind: store.JobEvent, ID: "new"},
					store.Job{Kind: store.JobDelivery, ID: "later", At: now.Add(time.Hour)})
			})
			if err != nil {
				t.Fatal(err)
			}
			// The first event has waited half a minute.
			if err := st.DB().Exec(`UPDATE river_job SET scheduled_at = ? WHERE id = (SELECT MIN(id) FROM river_job WHERE kind = ?)`,
				now.Add(-30*time.Second).UTC(), store.JobEvent).Error; err != nil {
				t.Fatal(err)
			}
			got, err := st.QueueStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			byKey := map[string]store.QueueStat{}
			for _, s := range got {
				byKey[s.Kind+"/"+s.State] = s
			}
			ev, ok := byKey[store.JobEvent+"/available"]
			if !ok || ev.Jobs != 2 {
				t.Fatalf("stats = %+v, want 2 available events", got)
			}
			if ev.OldestWait < 29*time.Second || ev.OldestWait > 5*time.Minute {
				t.Errorf("oldest event waited %s, want about 30s", ev.OldestWait)
			}
			dl, ok := byKey[store.JobDelivery+"/scheduled"]
			if !ok || dl.Jobs != 1 || dl.OldestWait != 0 {
				t.Errorf("stats = %+v, want 1 scheduled delivery that has not waited", got)
			}
			if len(got) != 2 {
				t.Errorf("stats = %+v, want two rows", got)
			}
		})
	}
}
