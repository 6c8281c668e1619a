package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"

	"parley/models"
)

// Job kinds the store puts in the queue.
const (
	// JobEvent processes an inbound event (its ID).
	JobEvent = "channel_event"
	// JobDelivery sends the replies of a delivery's thread, in order (its ID).
	JobDelivery = "channel_delivery"
)

// Job is background work that the store puts in the database's job queue in
// the same transaction as the rows it is about, so accepted work is never
// lost and never runs before its rows are committed.
type Job struct {
	Kind string
	// ID is the row the job is about (an inbound event, a delivery).
	ID string
	// At is when the job may run (zero: now).
	At time.Time
}

// Enqueuer inserts jobs into the queue within a store transaction: tx is
// that transaction's *sql.Tx, so the jobs commit or roll back with it.
// app/jobs' River client is one; the store does not import it.
type Enqueuer interface {
	EnqueueTx(ctx context.Context, tx *sql.Tx, jobs ...Job) error
}

// SetQueue sets where the store puts background jobs. Without one,
// recording work that needs a job (an inbound event, a reply) fails with a
// clear "unavailable" error and nothing is stored.
func (s *Store) SetQueue(q Enqueuer) {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	s.queue = q
}

var errNoQueue = models.Errorf(models.CodeUnavailable, "The job queue is not set up on this server: the event was not recorded. Try again shortly.")

// enqueue puts jobs in the queue inside tx, a transaction of the store's.
func (s *Store) enqueue(tx *gorm.DB, jobs ...Job) error {
	if len(jobs) == 0 {
		return nil
	}
	s.queueMu.RLock()
	q := s.queue
	s.queueMu.RUnlock()
	if q == nil {
		return errNoQueue
	}
	sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return fmt.Errorf("store: enqueue: not inside a transaction (%T)", tx.Statement.ConnPool)
	}
	ctx := tx.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if err := q.EnqueueTx(ctx, sqlTx, jobs...); err != nil {
		return translate(err, "job")
	}
	return nil
}

// QueueStat is how much work of one kind waits in the job queue in one state
// (available, running, retryable, scheduled, pending).
type QueueStat struct {
	Kind  string
	State string
	Jobs  int64
	// OldestWait is how long the oldest job of this kind that is due and not
	// yet taken (state available, scheduled at or before now) has waited; 0
	// for other states and when none waits.
	OldestWait time.Duration
}

// QueueStats counts the queue's unfinished jobs by kind and state, and how
// long the oldest due one has waited — for the metrics. Finished jobs
// (completed, cancelled, discarded) are not counted; the query reads River's
// state index only for the unfinished ones.
func (s *Store) QueueStats(ctx context.Context) ([]QueueStat, error) {
	age := `COALESCE(EXTRACT(EPOCH FROM now() - MIN(CASE WHEN state = 'available' AND scheduled_at <= now() THEN scheduled_at END)), 0)`
	if s.dialect != Postgres {
		age = `COALESCE((julianday('now') - MIN(CASE WHEN state = 'available' AND julianday(scheduled_at) <= julianday('now') THEN julianday(scheduled_at) END)) * 86400.0, 0)`
	}
	var rows []struct {
		Kind, State string
		Jobs        int64
		Oldest      float64
	}
	err := s.conn(ctx).Raw(`SELECT kind, state, COUNT(*) AS jobs, ` + age + ` AS oldest
		FROM river_job WHERE state IN ('available', 'running', 'retryable', 'scheduled', 'pending')
		GROUP BY kind, state ORDER BY kind, state`).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "job queue")
	}
	out := make([]QueueStat, 0, len(rows))
	for _, r := range rows {
		out = append(out, QueueStat{Kind: r.Kind, State: r.State, Jobs: r.Jobs, OldestWait: time.Duration(max(r.Oldest, 0) * float64(time.Second))})
	}
	return out, nil
}
