package store_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"parley/app/crypto"
	"parley/models/store"
)

// TestSQLiteFilesPrivate: the database (password hashes, encrypted secrets)
// and the key file next to it are readable by their owner only, whatever the
// umask, and so is the directory that holds them.
func TestSQLiteFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022) // the common default: files 0644 unless asked
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	url := "sqlite:" + filepath.Join(dir, "parley.db")
	s, err := store.Open(context.Background(), url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFirstAdmin(context.Background(), "a@example.com", "", "a long password"); err != nil {
		t.Fatal(err)
	}
	if _, err := crypto.KeyFor("", url); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "parley.db"): 0o600, filepath.Join(dir, crypto.KeyFile): 0o600}
	for _, extra := range []string{"parley.db-wal", "parley.db-shm"} {
		if _, err := os.Stat(filepath.Join(dir, extra)); err == nil {
			want[filepath.Join(dir, extra)] = 0o600
		}
	}
	for path, mode := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if got := fi.Mode().Perm(); got != mode {
			t.Errorf("%s has mode %o, want %o", filepath.Base(path), got, mode)
		}
	}
}
