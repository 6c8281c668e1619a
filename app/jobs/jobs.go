// Package jobs is Parley's durable job queue: River (riverqueue.com), in the
// same database as everything else — on PostgreSQL through database/sql
// (riverdatabasesql, with a pgx connection for LISTEN), on SQLite through
// riversqlite — so a job is inserted in the same transaction as the rows it
// is about, a crash or restart resumes where it stopped, and several
// instances on one PostgreSQL share the work. It runs the channels' jobs:
// processing an inbound event and sending a thread's replies; the
// datasets' embedding (semantic search); and, periodically, the Analytics
// page's per-day and per-hour rollups.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"parley/models/store"
)

// Queue names: events wait for the bot's answers, so deliveries have
// workers of their own and never queue behind them.
const (
	QueueEvents     = "channel_events"
	QueueDeliveries = "channel_deliveries"
	// QueueEmbeddings embeds datasets' records, one dataset at a time.
	QueueEmbeddings = "embeddings"
	// QueueAnalytics rolls up the Analytics page's past days and today's hours.
	QueueAnalytics = "analytics"
)

// JobAnalyticsRollup is the kind of the periodic analytics rollup job.
const JobAnalyticsRollup = "analytics_rollup"

// AnalyticsRollupEvery is how often the rollup job runs (and once when the
// queue starts): yesterday is rolled up soon after it ends, a past day
// changed since its rollup (marked dirty) within this long, and so are
// today's complete hours, so the page rarely computes a day or an hour
// itself.
const AnalyticsRollupEvery = 10 * time.Minute

// analyticsRollupTimeout bounds one rollup run; days not done go on in the
// next run.
const analyticsRollupTimeout = 30 * time.Minute

// AnalyticsRollupArgs is the job that rolls up the recent and dirty days and
// today's complete hours (store.RollupAnalytics).
type AnalyticsRollupArgs struct{}

// Kind names the job kind.
func (AnalyticsRollupArgs) Kind() string { return JobAnalyticsRollup }

// Embedder embeds the records of a dataset that need it (app/retrieval's
// Retriever is one); it is idempotent.
type Embedder interface {
	EmbedDataset(ctx context.Context, datasetID string) error
}

// EmbedArgs is a job that embeds a dataset's new and changed records.
type EmbedArgs struct {
	DatasetID string `json:"datasetId"`
}

// Kind names the job kind.
func (EmbedArgs) Kind() string { return store.JobEmbed }

// embedTimeout bounds one embedding job; a dataset not done by then goes
// on in the next try, where it stopped.
const embedTimeout = 30 * time.Minute

// Handler does the channels' work; app/channel's Service is one. Work is
// idempotent: a job may run again after a crash, or twice.
type Handler interface {
	// ProcessEvent processes an inbound event.
	ProcessEvent(ctx context.Context, eventID string) error
	// Deliver sends the replies of a delivery's thread that are due, in order.
	Deliver(ctx context.Context, deliveryID string) error
}

// laterError asks for the job to run again after a while, without counting
// an attempt (a platform asked to wait).
type laterError struct{ after time.Duration }

func (e *laterError) Error() string { return fmt.Sprintf("try again in %s", e.after) }

// Later is the error a Handler returns to have its job run again after d
// (River snoozes it: no attempt is counted).
func Later(d time.Duration) error {
	if d < 0 {
		d = 0
	}
	return &laterError{after: d}
}

// EventArgs is a job that processes one inbound event.
type EventArgs struct {
	EventID string `json:"eventId"`
}

// Kind names the job kind.
func (EventArgs) Kind() string { return store.JobEvent }

// DeliveryArgs is a job that sends a delivery (and the due ones before it in its thread).
type DeliveryArgs struct {
	DeliveryID string `json:"deliveryId"`
}

// Kind names the job kind.
func (DeliveryArgs) Kind() string { return store.JobDelivery }

// Options are the queue's collaborators and limits; all are required.
type Options struct {
	Store *store.Store
	// DatabaseURL is the store's, for PostgreSQL's LISTEN connection.
	DatabaseURL string
	Handler     Handler
	// Embedder embeds datasets' records (nil: embedding jobs are not
	// queued, and datasets are keyword-searched until a server with one runs).
	Embedder Embedder
	Logger   *slog.Logger
	// EventWorkers and DeliveryWorkers bound the jobs run at once by this instance.
	EventWorkers    int
	DeliveryWorkers int
	// JobTimeout bounds one job (an event waits for its answer, so: more
	// than the turn timeout). A job running this long after its process
	// died is run again (River's rescue), a little later.
	JobTimeout time.Duration
}

// Queue is River's client, wired to the store's database.
type Queue struct {
	client   *river.Client[*sql.Tx]
	embeds   bool
	listener *pgxpool.Pool
	log      *slog.Logger
	stopping atomic.Bool
	started  atomic.Bool
}

// driver picks River's driver for the store's database.
func driver(st *store.Store, listener *pgxpool.Pool) (riverdriver.Driver[*sql.Tx], error) {
	sqlDB, err := st.DB().DB()
	if err != nil {
		return nil, err
	}
	if st.Dialect() == store.Postgres {
		if listener == nil {
			return riverdatabasesql.New(sqlDB), nil
		}
		return riverdatabasesql.NewWithPgxListener(sqlDB, listener), nil
	}
	return riversqlite.New(sqlDB), nil
}

// Migrate brings River's own tables (river_job, river_leader, …) up to date
// with rivermigrate, on either database; several instances starting at once
// migrate one after the other. Running it again is a no-op.
func Migrate(ctx context.Context, st *store.Store, log *slog.Logger) error {
	drv, err := driver(st, nil)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: quiet(log)})
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	unlock, err := st.Lock(ctx, "river-migrate")
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	defer unlock()
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("jobs: migrate River's tables: %w", err)
	}
	for _, v := range res.Versions {
		log.Info("job queue migration applied", "version", v.Version, "name", v.Name)
	}
	return nil
}

// New builds the queue (not started: Start runs the workers; jobs can be
// inserted before). It refuses missing collaborators.
func New(ctx context.Context, o Options) (*Queue, error) {
	switch {
	case o.Store == nil, o.Handler == nil, o.Logger == nil:
		return nil, errors.New("jobs: New needs a store, a handler and a logger")
	case o.EventWorkers <= 0, o.DeliveryWorkers <= 0, o.JobTimeout <= 0:
		return nil, errors.New("jobs: New needs worker counts and a job timeout")
	}
	q := &Queue{log: o.Logger, embeds: o.Embedder != nil}
	if o.Store.Dialect() == store.Postgres {
		cfg, err := pgxpool.ParseConfig(o.DatabaseURL)
		if err != nil {
			return nil, errors.New("jobs: DATABASE_URL does not parse for the LISTEN connection")
		}
		cfg.MinConns, cfg.MaxConns = 0, 1
		if q.listener, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			return nil, fmt.Errorf("jobs: LISTEN connection: %w", err)
		}
	}
	drv, err := driver(o.Store, q.listener)
	if err != nil {
		q.closeListener()
		return nil, err
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &eventWorker{q: q, h: o.Handler, timeout: o.JobTimeout})
	river.AddWorker(workers, &deliveryWorker{q: q, h: o.Handler})
	queues := map[string]river.QueueConfig{
		QueueEvents:     {MaxWorkers: o.EventWorkers},
		QueueDeliveries: {MaxWorkers: o.DeliveryWorkers},
	}
	if o.Embedder != nil {
		river.AddWorker(workers, &embedWorker{q: q, e: o.Embedder})
		queues[QueueEmbeddings] = river.QueueConfig{MaxWorkers: 1}
	}
	river.AddWorker(workers, &analyticsWorker{q: q, st: o.Store})
	queues[QueueAnalytics] = river.QueueConfig{MaxWorkers: 1}
	// Only the leader instance inserts periodic jobs; one at a time runs.
	rollup := river.NewPeriodicJob(river.PeriodicInterval(AnalyticsRollupEvery), func() (river.JobArgs, *river.InsertOpts) {
		return AnalyticsRollupArgs{}, &river.InsertOpts{Queue: QueueAnalytics, MaxAttempts: 3,
			UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
				rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
	}, &river.PeriodicJobOpts{ID: JobAnalyticsRollup, RunOnStart: true})
	cfg := &river.Config{
		PeriodicJobs: []*river.PeriodicJob{rollup},
		Logger:       quiet(o.Logger),
		Workers:      workers,
		Queues:       queues,
		JobTimeout:   o.JobTimeout,
		// A job still "running" this long after it started belonged to a
		// process that died (its own timeout ended it otherwise).
		RescueStuckJobsAfter: o.JobTimeout + time.Minute,
		// Jobs are picked up on notification; polling is the fallback.
		FetchPollInterval: 500 * time.Millisecond,
		FetchCooldown:     20 * time.Millisecond,
	}
	q.client, err = river.NewClient(drv, cfg)
	if err != nil {
		q.closeListener()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return q, nil
}

// quiet passes River's warnings and errors to log, not its chatter.
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{min: slog.LevelWarn, Handler: log.Handler()})
}

type levelFilter struct {
	min slog.Level
	slog.Handler
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{min: f.min, Handler: f.Handler.WithAttrs(a)}
}

func (f levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{min: f.min, Handler: f.Handler.WithGroup(name)}
}

// EnqueueTx inserts jobs in the caller's transaction: store.Enqueuer.
func (q *Queue) EnqueueTx(ctx context.Context, tx *sql.Tx, jobs ...store.Job) error {
	params := make([]river.InsertManyParams, 0, len(jobs))
	for _, j := range jobs {
		opts := &river.InsertOpts{}
		if !j.At.IsZero() && j.At.After(time.Now()) {
			opts.ScheduledAt = j.At
		}
		var args river.JobArgs
		switch j.Kind {
		case store.JobEvent:
			args, opts.Queue = EventArgs{EventID: j.ID}, QueueEvents
		case store.JobDelivery:
			args, opts.Queue = DeliveryArgs{DeliveryID: j.ID}, QueueDeliveries
		case store.JobEmbed:
			if !q.embeds {
				continue
			}
			args, opts.Queue = EmbedArgs{DatasetID: j.ID}, QueueEmbeddings
		default:
			return fmt.Errorf("jobs: unknown job kind %q", j.Kind)
		}
		params = append(params, river.InsertManyParams{Args: args, InsertOpts: opts})
	}
	if len(params) == 0 {
		return nil
	}
	if len(params) == 1 {
		_, err := q.client.InsertTx(ctx, tx, params[0].Args, params[0].InsertOpts)
		return err
	}
	_, err := q.client.InsertManyTx(ctx, tx, params)
	return err
}

// Start runs the workers until Stop.
func (q *Queue) Start(ctx context.Context) error {
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	q.started.Store(true)
	return nil
}

// Stop stops fetching jobs and waits for running ones until ctx ends, then
// cancels them: a cancelled job is made available again at once, for the
// next start (or another instance) to take up where it stopped.
func (q *Queue) Stop(ctx context.Context) error {
	defer q.closeListener()
	if !q.started.Load() {
		return nil
	}
	q.stopping.Store(true)
	err := q.client.Stop(ctx)
	if err == nil {
		return nil
	}
	hard, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if herr := q.client.StopAndCancel(hard); herr != nil {
		return fmt.Errorf("jobs: stop: %w", herr)
	}
	return errors.New("jobs: stop: jobs still running when the grace period ended were cancelled (they run again at the next start)")
}

// Abandon releases what New opened, for a queue that will not run (the
// server failed to start).
func (q *Queue) Abandon() { q.closeListener() }

func (q *Queue) closeListener() {
	if q.listener != nil {
		q.listener.Close()
	}
}

// outcome turns a handler's result into River's: Later snoozes; a job cut
// short by a stop is made available again at once.
func (q *Queue) outcome(ctx context.Context, kind, id string, err error) error {
	var later *laterError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &later):
		return river.JobSnooze(later.after)
	case ctx.Err() != nil && q.stopping.Load():
		return river.JobSnooze(0)
	}
	q.log.Warn("job failed: it will be retried", "kind", kind, "id", id, "error", err)
	return err
}

type eventWorker struct {
	river.WorkerDefaults[EventArgs]
	q       *Queue
	h       Handler
	timeout time.Duration
}

func (w *eventWorker) Timeout(*river.Job[EventArgs]) time.Duration { return w.timeout }

func (w *eventWorker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	return w.q.outcome(ctx, store.JobEvent, job.Args.EventID, w.h.ProcessEvent(ctx, job.Args.EventID))
}

type deliveryWorker struct {
	river.WorkerDefaults[DeliveryArgs]
	q *Queue
	h Handler
}

func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[DeliveryArgs]) error {
	return w.q.outcome(ctx, store.JobDelivery, job.Args.DeliveryID, w.h.Deliver(ctx, job.Args.DeliveryID))
}

type embedWorker struct {
	river.WorkerDefaults[EmbedArgs]
	q *Queue
	e Embedder
}

func (w *embedWorker) Timeout(*river.Job[EmbedArgs]) time.Duration { return embedTimeout }

func (w *embedWorker) Work(ctx context.Context, job *river.Job[EmbedArgs]) error {
	return w.q.outcome(ctx, store.JobEmbed, job.Args.DatasetID, w.e.EmbedDataset(ctx, job.Args.DatasetID))
}

type analyticsWorker struct {
	river.WorkerDefaults[AnalyticsRollupArgs]
	q  *Queue
	st *store.Store
}

func (w *analyticsWorker) Timeout(*river.Job[AnalyticsRollupArgs]) time.Duration {
	return analyticsRollupTimeout
}

func (w *analyticsWorker) Work(ctx context.Context, _ *river.Job[AnalyticsRollupArgs]) error {
	days, hours, err := w.st.RollupAnalytics(ctx)
	if days > 0 || hours > 0 {
		w.q.log.Info("analytics rolled up", "days", days, "hours", hours)
	}
	return w.q.outcome(ctx, JobAnalyticsRollup, "", err)
}
