package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/models"
)

// Lock takes an exclusive lock named name (e.g. a conversation id) and returns
// its release. On PostgreSQL it is a session advisory lock, so it holds across
// every instance sharing the database and ends with the instance that holds it
// (its connection closes): the next holder knows the work it finds left was
// abandoned. This instance's advisory locks live on a few long-lived
// connections (pgLocks), not on a connection per holder, so an answering turn
// holds no connection of its own. Within the instance a name is held once
// (in-process lock first); a lock held by another instance is polled for.
// On SQLite (one instance) it is the in-process lock alone. Waiting ends with ctx.
func (s *Store) Lock(ctx context.Context, name string) (func(), error) {
	release, err := s.mem.lock(ctx, name)
	if err != nil || s.dialect != Postgres {
		return release, err
	}
	key := lockKey(name)
	wait := 2 * time.Millisecond
	for {
		ok, err := s.pgLocks.try(key)
		if err != nil {
			release()
			return nil, busy(err)
		}
		if ok {
			return s.pgLocks.releaser(key, release), nil
		}
		select {
		case <-ctx.Done():
			release()
			return nil, busy(ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// TryLock takes the lock named name only if nobody holds it (ok false: held).
func (s *Store) TryLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	release, ok = s.mem.tryLock(name)
	if !ok || s.dialect != Postgres {
		return release, ok, nil
	}
	key := lockKey(name)
	held, err := s.pgLocks.try(key)
	if err != nil {
		release()
		return nil, false, busy(err)
	}
	if !held {
		release()
		return nil, false, nil
	}
	return s.pgLocks.releaser(key, release), true, nil
}

// lockKey is the advisory lock key of a name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// lockShards is how many connections hold this instance's advisory locks;
// a key always lives on the same one.
const lockShards = 4

// lockStatementTimeout bounds one lock statement. It is never the caller's
// context: a statement cancelled midway may close the connection, and with
// it every lock the connection holds.
const lockStatementTimeout = 10 * time.Second

// pgLocks holds an instance's advisory locks on lockShards connections.
type pgLocks struct {
	cfg    *pgx.ConnConfig
	shards [lockShards]lockShard
}

type lockShard struct {
	mu   sync.Mutex
	conn *pgx.Conn
	// released holds the keys whose holders released them but whose
	// advisory unlock is not sent yet: it goes with the shard's next lock
	// statement, or alone after unlockLinger. Meanwhile this instance may
	// take such a key again without a statement (its session still holds it).
	released map[int64]bool
	flush    *time.Timer
}

// unlockLinger is how long a released advisory lock waits to be unlocked
// along with the shard's next lock statement: another instance waiting for
// it waits that much longer, and a busy instance sends one statement where
// it would send two (and none when the same conversation's next turn comes
// meanwhile).
const unlockLinger = 5 * time.Millisecond

// try runs pg_try_advisory_lock for key on its shard's connection,
// connecting first if needed.
func (l *pgLocks) try(key int64) (bool, error) {
	sh := &l.shards[uint64(key)%lockShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.released[key] && sh.conn != nil && !sh.conn.IsClosed() {
		delete(sh.released, key) // never unlocked: held again
		return true, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), lockStatementTimeout)
	defer cancel()
	if sh.conn == nil || sh.conn.IsClosed() {
		sh.released = nil // gone with the connection
		if l.cfg == nil {
			return false, fmt.Errorf("store: lock: no PostgreSQL configuration")
		}
		c, err := pgx.ConnectConfig(ctx, l.cfg)
		if err != nil {
			return false, err
		}
		sh.conn = c
	}
	var ok bool
	var err error
	if len(sh.released) == 0 {
		err = sh.conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok)
	} else {
		var n int64
		err = sh.conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1), (SELECT count(*) FROM unnest($2::bigint[]) AS k(key) WHERE pg_advisory_unlock(k.key))",
			key, sh.releasedKeys()).Scan(&ok, &n)
	}
	if err != nil {
		sh.drop()
		return false, err
	}
	clear(sh.released)
	return ok, nil
}

// releasedKeys lists the released keys not unlocked yet (the caller holds mu).
func (sh *lockShard) releasedKeys() []int64 {
	keys := make([]int64, 0, len(sh.released))
	for k := range sh.released {
		keys = append(keys, k)
	}
	return keys
}

// unlockReleased sends the advisory unlocks of the released keys (after
// unlockLinger, when no lock statement took them along).
func (sh *lockShard) unlockReleased() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.flush = nil
	if len(sh.released) == 0 || sh.conn == nil || sh.conn.IsClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), lockStatementTimeout)
	defer cancel()
	if _, err := sh.conn.Exec(ctx, "SELECT pg_advisory_unlock(k) FROM unnest($1::bigint[]) AS k", sh.releasedKeys()); err != nil {
		// A connection that may still hold the locks is closed, which
		// releases them (and the shard's other locks: their holders'
		// writes are guarded by the turns' and events' own states).
		sh.drop()
		return
	}
	clear(sh.released)
}

// releaser returns the release of key, held on its shard, and then of the
// in-process lock (mem).
func (l *pgLocks) releaser(key int64, mem func()) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			defer mem()
			sh := &l.shards[uint64(key)%lockShards]
			sh.mu.Lock()
			defer sh.mu.Unlock()
			if sh.conn == nil || sh.conn.IsClosed() {
				return // the connection, and the lock with it, is gone already
			}
			if sh.released == nil {
				sh.released = map[int64]bool{}
			}
			sh.released[key] = true
			if sh.flush == nil {
				sh.flush = time.AfterFunc(unlockLinger, sh.unlockReleased)
			}
		})
	}
}

// drop closes the shard's connection (the caller holds mu).
func (sh *lockShard) drop() {
	clear(sh.released)
	if sh.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = sh.conn.Close(ctx)
		cancel()
		sh.conn = nil
	}
}

// close closes every shard's connection, releasing the locks still held.
func (l *pgLocks) close() {
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		sh.drop()
		sh.mu.Unlock()
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
