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
