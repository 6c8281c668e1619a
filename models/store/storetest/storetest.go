// Package storetest opens real, migrated, isolated databases for tests: SQLite
// in a temporary directory always, and PostgreSQL (a fresh schema per test)
// when TEST_DATABASE_URL is set.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/models/store"
)

// Dialects returns the databases tests run on: always sqlite, and postgres when
// TEST_DATABASE_URL is set. Under CI=true a missing TEST_DATABASE_URL fails the test.
func Dialects(t testing.TB) []string {
	t.Helper()
	if os.Getenv("TEST_DATABASE_URL") != "" {
		return []string{store.SQLite, store.Postgres}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL tests must run in CI")
	}
	return []string{store.SQLite}
}

// Each runs fn as a subtest on every available database, with a fresh store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects(t) {
		t.Run(d, func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a migrated store on a fresh database of the given dialect; it
// is closed (and the PostgreSQL schema dropped) when the test ends.
func Open(t testing.TB, dialect string) *store.Store {
	t.Helper()
	ctx := context.Background()
	var dsn string
	switch dialect {
	case store.SQLite:
		dsn = "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	case store.Postgres:
		dsn = postgresSchema(t)
	default:
		t.Fatalf("storetest: unknown dialect %q", dialect)
	}
	s, err := store.Open(ctx, dsn, store.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatalf("storetest: open %s: %v", dialect, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate %s: %v", dialect, err)
	}
	return s
}

// OpenKept returns a migrated store on the PostgreSQL schema named schema,
// created if missing and kept when the test ends, so a benchmark can build
// its data once and reuse it between runs (PARLEY_BENCH_SCHEMA). On SQLite it
// is Open.
func OpenKept(t testing.TB, dialect, schema string) *store.Store {
	t.Helper()
	if dialect != store.Postgres || schema == "" {
		return Open(t, dialect)
	}
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("TEST_DATABASE_URL not set; skipping PostgreSQL")
	}
	ctx := context.Background()
	admin, err := store.Open(ctx, base, store.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatalf("storetest: connect to TEST_DATABASE_URL: %v", err)
	}
	err = admin.DB().Exec(`CREATE SCHEMA IF NOT EXISTS "` + strings.ReplaceAll(schema, `"`, "") + `"`).Error
	_ = admin.Close()
	if err != nil {
		t.Fatalf("storetest: create schema %s: %v", schema, err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := store.Open(ctx, u.String(), store.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatalf("storetest: open %s: %v", schema, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate %s: %v", schema, err)
	}
	return s
}

// URL returns a database URL of a fresh, empty database of the dialect (not
// migrated), for tests that start the real binary or run migrations themselves.
func URL(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == store.Postgres {
		return postgresSchema(t)
	}
	return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
}

// postgresSchema creates a schema named for the test and returns a URL whose
// search_path points at it; the schema is dropped at cleanup.
func postgresSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but TEST_DATABASE_URL is not set")
		}
		t.Skip("TEST_DATABASE_URL not set; skipping PostgreSQL")
	}
	ctx := context.Background()
	admin, err := store.Open(ctx, base, store.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatalf("storetest: connect to TEST_DATABASE_URL: %v", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if err := admin.DB().Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		a, err := store.Open(context.Background(), base, store.Options{MaxOpenConns: 1})
		if err != nil {
			t.Logf("storetest: drop schema %s: %v", schema, err)
			return
		}
		defer a.Close()
		if err := a.DB().Exec("DROP SCHEMA " + schema + " CASCADE").Error; err != nil {
			t.Logf("storetest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
