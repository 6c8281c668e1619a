package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// openTwo opens two stores on one fresh database: two instances of Parley.
func openTwo(t *testing.T, dialect string) (*store.Store, *store.Store) {
	t.Helper()
	url := storetest.URL(t, dialect)
	var out [2]*store.Store
	for i := range out {
		s, err := store.Open(context.Background(), url, store.Options{MaxOpenConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		out[i] = s
	}
	if _, err := out[0].Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out[0], out[1]
}

func TestLock(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			a, b := openTwo(t, d)

			t.Run("ExclusiveInOneInstance", func(t *testing.T) {
				name := "conversation:" + models.NewID()
				unlock, err := a.Lock(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok, err := a.TryLock(ctx, name); ok || err != nil {
					t.Errorf("TryLock of a held lock = %v, %v; want not taken", ok, err)
				}
				got := make(chan time.Time, 1)
				go func() {
					u, err := a.Lock(ctx, name)
					if err != nil {
						t.Error(err)
						return
					}
					got <- time.Now()
					u()
				}()
				time.Sleep(50 * time.Millisecond)
				released := time.Now()
				unlock()
				if at := <-got; at.Before(released) {
					t.Error("a second holder got the lock before the first released it")
				}
				// Waiting ends with the context, as unavailable.
				unlock, _ = a.Lock(ctx, name)
				defer unlock()
				wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
				if _, err := a.Lock(wctx, name); models.ErrorCode(err) != models.CodeUnavailable {
					t.Errorf("Lock past its context = %v, want unavailable", err)
				}
			})

			if d != store.Postgres {
				return // one instance only on SQLite
			}

			t.Run("ExclusiveAcrossInstances", func(t *testing.T) {
				name := "conversation:" + models.NewID()
				unlock, err := a.Lock(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok, err := b.TryLock(ctx, name); ok || err != nil {
					t.Errorf("the other instance's TryLock = %v, %v; want not taken", ok, err)
				}
				got := make(chan struct{})
				go func() {
					u, err := b.Lock(ctx, name)
					if err != nil {
						t.Error(err)
					} else {
						u()
					}
					close(got)
				}()
				select {
				case <-got:
					t.Fatal("the other instance took a held lock")
				case <-time.After(100 * time.Millisecond):
				}
				unlock()
				select {
				case <-got:
				case <-time.After(5 * time.Second):
					t.Fatal("the other instance never got the released lock")
				}
			})

			// The holder goes away (its connections close, as when the
			// process dies): the lock is free at once.
			t.Run("HolderGone", func(t *testing.T) {
				url := storetest.URL(t, d)
				gone, err := store.Open(ctx, url, store.Options{MaxOpenConns: 2})
				if err != nil {
					t.Fatal(err)
				}
				other, err := store.Open(ctx, url, store.Options{MaxOpenConns: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer other.Close()
				name := "conversation:" + models.NewID()
				if _, err := gone.Lock(ctx, name); err != nil {
					t.Fatal(err)
				}
				_ = gone.Close()
				lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				unlock, err := other.Lock(lctx, name)
				if err != nil {
					t.Fatalf("after the holder closed: %v", err)
				}
				unlock()
			})

			// A released lock's unlock rides with the shard's next lock
			// statement or is sent alone shortly after: either way the
			// database soon holds none of them, and the other instance gets
			// them; taken again meanwhile, the lock is still exclusive.
			t.Run("ReleasedLocksAreUnlocked", func(t *testing.T) {
				heldKeys := func(names []string) int64 {
					var keys []int64
					for _, name := range names {
						keys = append(keys, store.LockKey(name))
					}
					var n int64
					if err := a.DB().Raw(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
						AND ((classid::bigint << 32) | objid::bigint) IN ?`, keys).Row().Scan(&n); err != nil {
						t.Fatal(err)
					}
					return n
				}
				var names []string
				for i := range 12 {
					name := fmt.Sprintf("conversation:%s-%d", models.NewID(), i)
					names = append(names, name)
					unlock, err := a.Lock(ctx, name)
					if err != nil {
						t.Fatal(err)
					}
					unlock()
				}
				deadline := time.Now().Add(2 * time.Second)
				for heldKeys(names) > 0 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if n := heldKeys(names); n != 0 {
					t.Fatalf("%d released locks still held by the database", n)
				}
				for _, name := range names {
					u, ok, err := b.TryLock(ctx, name)
					if !ok || err != nil {
						t.Fatalf("the other instance could not take a released lock: %v, %v", ok, err)
					}
					u()
				}
				// Released and taken again at once: still exclusive across instances.
				name := "conversation:" + models.NewID()
				unlock, err := a.Lock(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				unlock()
				again, err := a.Lock(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond) // past the linger
				if _, ok, err := b.TryLock(ctx, name); ok || err != nil {
					t.Errorf("the other instance took a lock held again: %v, %v", ok, err)
				}
				again()
				deadline = time.Now().Add(2 * time.Second)
				for heldKeys([]string{name}) > 0 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if u, ok, err := b.TryLock(ctx, name); !ok || err != nil {
					t.Errorf("the other instance could not take it once released: %v, %v", ok, err)
				} else {
					u()
				}
			})

			// Many locks held at once sit on a few connections, not one each.
			t.Run("ManyHoldersFewConnections", func(t *testing.T) {
				const n = 60
				var names []string
				var unlocks []func()
				var mu sync.Mutex
				var wg sync.WaitGroup
				for i := range n {
					name := fmt.Sprintf("conversation:%s-%d", models.NewID(), i)
					names = append(names, name)
					wg.Add(1)
					go func() {
						defer wg.Done()
						u, err := a.Lock(ctx, name)
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						unlocks = append(unlocks, u)
						mu.Unlock()
					}()
				}
				wg.Wait()
				defer func() {
					for _, u := range unlocks {
						u()
					}
				}()
				var keys []int64
				for _, name := range names {
					keys = append(keys, store.LockKey(name))
				}
				var held, pids int64
				err := a.DB().Raw(`SELECT count(*), count(DISTINCT pid) FROM pg_locks
					WHERE locktype = 'advisory' AND granted AND objsubid = 1
					AND ((classid::bigint << 32) | objid::bigint) IN ?`, keys).Row().Scan(&held, &pids)
				if err != nil {
					t.Fatal(err)
				}
				if held != n || pids > 4 {
					t.Errorf("%d locks held on %d connections, want %d on at most 4", held, pids, n)
				}
			})
		})
	}
}
