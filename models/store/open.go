// Package store keeps Parley's data in SQLite or PostgreSQL through GORM. It is
// the one place that turns database errors into coded domain errors.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"parley/models"
)

// Dialect names.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// DefaultURL is the embedded default database.
const DefaultURL = "sqlite:data/parley.db"

// Store is Parley's persistence: every query runs through it.
type Store struct {
	db      *gorm.DB
	dialect string
	// PostgreSQL only: the connection settings (for the lazy pool and the locks).
	pgConfig *pgx.ConnConfig
	// pgLocks holds this instance's advisory locks (PostgreSQL only).
	pgLocks pgLocks
	// lazy runs writes whose loss in a database crash costs nothing — rate
	// limit counts, last-used times, a turn marked running (its answer,
	// written durably later, carries the same) — on PostgreSQL without
	// waiting for the WAL flush (synchronous_commit off: a crash may lose the
	// last fraction of a second of them, never corrupts). On SQLite it is db.
	lazy *gorm.DB
	// SQLite only: in-process locks.
	mem memLocks
	// box encrypts provider keys and vault secrets (SetBox).
	boxMu sync.RWMutex
	box   Sealer
	// queue takes the background jobs of channels (SetQueue).
	queueMu sync.RWMutex
	queue   Enqueuer
	// Now is the clock; tests replace it.
	Now func() time.Time
	// msgStats caches messages.search's term statistics for message
	// search (PostgreSQL only, see searchEstimate).
	msgStats messageTermStatsCache
	// recordStats caches dataset_terms' statistics for record search
	// (PostgreSQL only, see termStatsCache).
	recordStats termStatsCache
	// lastPurge is when Hit last purged stale rate-limit windows (Unix
	// nanoseconds of the store clock).
	lastPurge atomic.Int64
}

// Options tune Open.
type Options struct {
	Logger *slog.Logger
	// MaxOpenConns bounds the pool (0: a default per dialect).
	MaxOpenConns int
}

// Open connects to the database named by rawURL: "postgres://…" or
// "postgresql://…" for PostgreSQL, "sqlite:PATH" (or "sqlite::memory:") for SQLite.
// An empty URL means DefaultURL. It does not migrate.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	if rawURL == "" {
		rawURL = DefaultURL
	}
	cfg := &gorm.Config{
		TranslateError: true,
		NowFunc:        func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		Logger:         logger.Discard,
		PrepareStmt:    false,
	}
	var (
		dial     gorm.Dialector
		dialect  string
		pgConfig *pgx.ConnConfig
	)
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		pgCfg, err := pgx.ParseConfig(rawURL)
		if err != nil {
			return nil, fmt.Errorf("store: DATABASE_URL: %v", redactErr(err, rawURL))
		}
		conn := stdlib.OpenDB(*pgCfg, stdlib.OptionAfterConnect(utcTimestamps))
		dial, dialect, pgConfig = postgres.New(postgres.Config{Conn: conn}), Postgres, pgCfg
	case strings.HasPrefix(rawURL, "sqlite:"):
		dsn, err := sqliteDSN(strings.TrimPrefix(rawURL, "sqlite:"))
		if err != nil {
			return nil, err
		}
		dial, dialect = sqlite.Open(dsn), SQLite
	default:
		return nil, fmt.Errorf("store: DATABASE_URL must start with postgres://, postgresql:// or sqlite: (got %q)", redact(rawURL))
	}
	db, err := gorm.Open(dial, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dialect, err)
	}
	if dialect == Postgres {
		if err := statementSavepoints(db); err != nil {
			return nil, fmt.Errorf("store: open %s: %w", dialect, err)
		}
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	maxOpen := opts.MaxOpenConns
	if maxOpen == 0 {
		maxOpen = 20
		if dialect == SQLite {
			// One writer at a time in SQLite; readers share WAL snapshots.
			maxOpen = 8
		}
	}
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(maxOpen)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, lazy: db, dialect: dialect, pgConfig: pgConfig, Now: func() time.Time { return time.Now().UTC() }}
	if pgConfig != nil {
		s.pgLocks.cfg = pgConfig
		lazyCfg := pgConfig.Copy()
		lazyCfg.RuntimeParams["synchronous_commit"] = "off"
		lazyConn := stdlib.OpenDB(*lazyCfg, stdlib.OptionAfterConnect(utcTimestamps))
		lazyConn.SetMaxOpenConns(lazyPoolSize)
		lazyConn.SetMaxIdleConns(lazyPoolSize)
		lazyConn.SetConnMaxIdleTime(5 * time.Minute)
		// Each lazy write is one statement: no transaction around it.
		lazyGorm := *cfg
		lazyGorm.SkipDefaultTransaction = true
		if s.lazy, err = gorm.Open(postgres.New(postgres.Config{Conn: lazyConn}), &lazyGorm); err != nil {
			_ = sqlDB.Close()
			return nil, fmt.Errorf("store: open %s: %w", dialect, err)
		}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Ping(pingCtx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: connect %s: %w", dialect, err)
	}
	return s, nil
}

// lazyPoolSize bounds the connections of the lazy pool: its writes are one
// short statement each.
const lazyPoolSize = 8

// utcTimestamps makes a PostgreSQL connection scan timestamps in UTC
// whatever the process's time zone is.
func utcTimestamps(_ context.Context, c *pgx.Conn) error {
	c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
	return nil
}

// sqliteDSN builds the driver's DSN: foreign keys on, WAL, a busy timeout and
// immediate transactions (so writers queue instead of failing on lock upgrade).
func sqliteDSN(path string) (string, error) {
	if path == "" {
		return "", errors.New("store: sqlite: needs a path, like sqlite:data/parley.db")
	}
	pragmas := "_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_txlock=immediate"
	if path == ":memory:" {
		return "file::memory:?cache=shared&" + pragmas, nil
	}
	// The database holds password hashes and encrypted secrets: only the
	// owner may read it. Its directory (which also holds the key file) is
	// made 0700 and the file created 0600; SQLite gives its -wal and -shm
	// files the database file's mode.
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("store: sqlite: create %s: %w", dir, err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_ = f.Close()
	case !errors.Is(err, os.ErrExist):
		return "", fmt.Errorf("store: sqlite: create %s: %w", path, err)
	}
	// Escape what a file: URI would read as a query, fragment or escape.
	path = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + path + "?" + pragmas + "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)", nil
}

// redactErr keeps a password that a parse error may quote out of messages.
func redactErr(err error, raw string) string {
	msg := err.Error()
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// redact hides a password in a database URL for error messages and logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Dialect returns "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close closes the connection pools.
func (s *Store) Close() error {
	s.pgLocks.close()
	if s.lazy != s.db {
		if db, err := s.lazy.DB(); err == nil {
			_ = db.Close()
		}
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Pools returns the database connection pools by name ("main", and on
// PostgreSQL "lazy"), for their statistics.
func (s *Store) Pools() map[string]*sql.DB {
	out := map[string]*sql.DB{}
	if db, err := s.db.DB(); err == nil {
		out["main"] = db
	}
	if s.lazy != s.db {
		if db, err := s.lazy.DB(); err == nil {
			out["lazy"] = db
		}
	}
	return out
}

// DB exposes the GORM handle to sibling packages' tests and to later store
// extensions; handlers never call it.
func (s *Store) DB() *gorm.DB { return s.db }

// now returns the store clock in UTC, truncated to what both databases keep.
func (s *Store) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// tx runs fn in one transaction.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.conn(ctx).Transaction(fn)
}

// lazyConn is the handle of a lazy write (a last-used time, a rate count):
// the lazy pool on PostgreSQL; on SQLite, where there is one writer, the
// transaction ctx carries if any (a write from another connection would
// wait for it to end).
func (s *Store) lazyConn(ctx context.Context) *gorm.DB {
	if s.lazy == s.db {
		return s.conn(ctx)
	}
	return s.lazy.WithContext(ctx)
}

// statementSavepoints makes each write inside an Audited transaction on
// PostgreSQL its own savepoint. PostgreSQL aborts a whole transaction at
// its first failed statement, so a refused write (a unique name taken,
// answered with a form error) would leave the handler unable to read what
// it shows next; with the savepoint only that statement is undone, as on
// SQLite. Writes outside Audited are untouched.
func statementSavepoints(db *gorm.DB) error {
	const sp = "parley_statement"
	inAudited := func(db *gorm.DB) bool {
		return db.Statement.Context != nil && db.Statement.Context.Value(txKey{}) != nil
	}
	begin := func(db *gorm.DB) {
		// Not around GORM's own savepoints: releasing ours would release
		// theirs with it, and their rollback would then undo nothing.
		sql := strings.ToUpper(strings.TrimSpace(db.Statement.SQL.String()))
		for _, p := range []string{"SAVEPOINT", "RELEASE", "ROLLBACK", "SET "} {
			if strings.HasPrefix(sql, p) {
				return
			}
		}
		if db.Error == nil && inAudited(db) {
			if _, err := db.Statement.ConnPool.ExecContext(db.Statement.Context, "SAVEPOINT "+sp); err != nil {
				_ = db.AddError(err)
			} else {
				db.InstanceSet(sp, true)
			}
		}
	}
	end := func(db *gorm.DB) {
		if _, ok := db.InstanceGet(sp); !ok {
			return
		}
		q := "RELEASE SAVEPOINT " + sp
		if db.Error != nil {
			q = "ROLLBACK TO SAVEPOINT " + sp
		}
		if _, err := db.Statement.ConnPool.ExecContext(db.Statement.Context, q); err != nil {
			_ = db.AddError(err)
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().Before("gorm:begin_transaction").Register("parley:savepoint", begin),
		cb.Create().After("gorm:commit_or_rollback_transaction").Register("parley:savepoint_end", end),
		cb.Update().Before("gorm:begin_transaction").Register("parley:savepoint", begin),
		cb.Update().After("gorm:commit_or_rollback_transaction").Register("parley:savepoint_end", end),
		cb.Delete().Before("gorm:begin_transaction").Register("parley:savepoint", begin),
		cb.Delete().After("gorm:commit_or_rollback_transaction").Register("parley:savepoint_end", end),
		cb.Raw().Before("gorm:raw").Register("parley:savepoint", begin),
		cb.Raw().After("gorm:raw").Register("parley:savepoint_end", end),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// txKey is the context key of the transaction Audited runs its work in.
type txKey struct{}

// conn is the database handle every query of ctx uses: the transaction of
// Audited when ctx carries one (so every store method called inside it
// joins it, and a transaction of its own becomes a savepoint), otherwise
// the pool.
func (s *Store) conn(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx.WithContext(ctx)
	}
	return s.db.WithContext(ctx)
}

// translate turns a database error into a coded domain error; what names the thing.
func translate(err error, what string) error {
	var me *models.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &me):
		return err
	case errors.Is(err, gorm.ErrRecordNotFound):
		return models.Errorf(models.CodeNotFound, "%s not found.", capitalize(what))
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return models.Errorf(models.CodeConflict, "A %s with these details already exists.", what)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return models.Errorf(models.CodeInvalid, "The %s refers to something that does not exist.", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return models.Errorf(models.CodeUnavailable, "The request was cancelled or timed out.")
	case databaseDown(err):
		return fmt.Errorf("store: %s: %w", what, down(err))
	}
	if bad := badText(err, what); bad != nil {
		return bad
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func notFound(what string) error {
	return models.Errorf(models.CodeNotFound, "%s not found.", capitalize(what))
}
