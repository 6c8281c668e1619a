package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/jackc/pgx/v5/stdlib"

	"parley/models"
)

// lockPoolSize bounds the PostgreSQL connections that hold or wait for locks.
// They come from their own pool, so turns waiting for a lock never starve the
// queries of the turn holding it.
const lockPoolSize = 32

// Lock takes an exclusive lock named name (e.g. a conversation id) and returns
// its release. On PostgreSQL it is a session advisory lock, so it holds across
// every instance sharing the database, and waiters are served in arrival order;
// on SQLite (one instance) it is an in-process lock. Waiting ends with ctx.
func (s *Store) Lock(ctx context.Context, name string) (func(), error) {
	if s.dialect != Postgres {
		return s.mem.lock(ctx, name)
	}
	db, err := s.lockPool()
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, busy(err)
	}
	key := lockKey(name)
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		_ = conn.Close()
		return nil, busy(err)
	}
	return pgUnlock(conn, key), nil
}

// TryLock takes the lock named name only if nobody holds it (ok false: held).
func (s *Store) TryLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	if s.dialect != Postgres {
		release, ok = s.mem.tryLock(name)
		return release, ok, nil
	}
	db, err := s.lockPool()
	if err != nil {
		return nil, false, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, false, busy(err)
	}
	key := lockKey(name)
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		_ = conn.Close()
		return nil, false, busy(err)
	}
	if !ok {
		_ = conn.Close()
		return nil, false, nil
	}
	return pgUnlock(conn, key), true, nil
}

// lockKey is the advisory lock key of a name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// pgUnlock releases an advisory lock held on conn and returns conn to its pool.
func pgUnlock(conn *sql.Conn, key int64) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", key); err != nil {
				// A connection that may still hold the lock must not go back to the pool.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			_ = conn.Close()
		})
	}
}

// busy reports a lock that could not be taken: the database is down, or the
// wait ended. The cause stays out of the message (it names the database).
func busy(err error) error {
	if databaseDown(err) {
		return down(err)
	}
	return fmt.Errorf("store: lock: %w", &causeError{Err: models.Errorf(models.CodeUnavailable,
		"Busy: another request holds this conversation. Try again shortly."), cause: err})
}

func (s *Store) lockPool() (*sql.DB, error) {
	s.lockOnce.Do(func() {
		if s.pgConfig == nil {
			s.lockErr = fmt.Errorf("store: lock pool: no PostgreSQL configuration")
			return
		}
		s.lockDB = stdlib.OpenDB(*s.pgConfig)
		s.lockDB.SetMaxOpenConns(lockPoolSize)
		s.lockDB.SetMaxIdleConns(4)
	})
	return s.lockDB, s.lockErr
}

// memLocks are per-name locks for a single process, honouring ctx while waiting.
type memLocks struct {
	mu    sync.Mutex
	chans map[string]chan struct{}
}

func (l *memLocks) tryLock(name string) (func(), bool) {
	l.mu.Lock()
	if l.chans == nil {
		l.chans = map[string]chan struct{}{}
	}
	if _, held := l.chans[name]; held {
		l.mu.Unlock()
		return nil, false
	}
	ch := make(chan struct{})
	l.chans[name] = ch
	l.mu.Unlock()
	return l.releaser(name, ch), true
}

func (l *memLocks) releaser(name string, ch chan struct{}) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.chans, name)
			l.mu.Unlock()
			close(ch)
		})
	}
}

func (l *memLocks) lock(ctx context.Context, name string) (func(), error) {
	for {
		l.mu.Lock()
		if l.chans == nil {
			l.chans = map[string]chan struct{}{}
		}
		ch, held := l.chans[name]
		if !held {
			ch = make(chan struct{})
			l.chans[name] = ch
			l.mu.Unlock()
			return l.releaser(name, ch), nil
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, models.Errorf(models.CodeUnavailable, "Busy: another request holds this conversation.")
		}
	}
}
