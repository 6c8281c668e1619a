package engine

import (
	"context"

	"parley/models/store"
)

// Locker serialises the turns of one conversation.
type Locker interface {
	// Lock waits until the conversation is free (or ctx ends) and returns the unlock.
	Lock(ctx context.Context, conversationID string) (func(), error)
	// TryLock takes the conversation's lock only if it is free.
	TryLock(ctx context.Context, conversationID string) (unlock func(), ok bool, err error)
}

// DefaultLocker is the store's lock: a PostgreSQL advisory lock (which holds
// across instances) or, on SQLite (one instance), an in-process lock.
func DefaultLocker(s *store.Store) Locker {
	return storeLocker{s}
}

type storeLocker struct{ s *store.Store }

func (l storeLocker) Lock(ctx context.Context, id string) (func(), error) {
	return l.s.Lock(ctx, "conversation:"+id)
}

func (l storeLocker) TryLock(ctx context.Context, id string) (func(), bool, error) {
	return l.s.TryLock(ctx, "conversation:"+id)
}
