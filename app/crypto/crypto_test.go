package crypto_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"parley/app/crypto"
)

func mustBox(t *testing.T, key []byte, older ...[]byte) *crypto.Box {
	t.Helper()
	b, err := crypto.NewBox(key, older...)
	if err != nil {
		t.Fatalf("NewBox: %v", err)
	}
	return b
}

func key(fill byte) []byte { return bytes.Repeat([]byte{fill}, crypto.KeySize) }

func TestBoxRoundTrip(t *testing.T) {
	b := mustBox(t, key(1))
	for _, plain := range []string{"", "sk-test-1234567890", strings.Repeat("é", 5000)} {
		sealed, err := b.Seal([]byte(plain))
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if plain != "" && strings.Contains(sealed, plain) {
			t.Errorf("sealed text %q contains the plaintext", sealed)
		}
		if !strings.HasPrefix(sealed, "v1:") {
			t.Errorf("sealed = %q, want the v1: prefix", sealed)
		}
		got, err := b.Open(sealed)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if string(got) != plain {
			t.Errorf("Open = %q, want %q", got, plain)
		}
	}
}

func TestBoxSealTwiceDiffers(t *testing.T) {
	b := mustBox(t, key(1))
	a, _ := b.Seal([]byte("same"))
	c, _ := b.Seal([]byte("same"))
	if a == c {
		t.Errorf("sealing twice gave the same text %q: the nonce is not random", a)
	}
}

func TestBoxOpenErrors(t *testing.T) {
	b := mustBox(t, key(1))
	sealed, err := b.Seal([]byte("sk-secret"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(sealed, ":")
	raw, _ := base64.RawStdEncoding.DecodeString(parts[2])
	raw[len(raw)-1] ^= 1
	tampered := parts[0] + ":" + parts[1] + ":" + base64.RawStdEncoding.EncodeToString(raw)

	cases := []struct {
		name string
		box  *crypto.Box
		text string
		want error
	}{
		{"ErrTampered", b, tampered, crypto.ErrTampered},
		{"ErrWrongKey", mustBox(t, key(2)), sealed, crypto.ErrWrongKey},
		{"ErrMalformedEmpty", b, "", crypto.ErrMalformed},
		{"ErrMalformedPlain", b, "sk-secret", crypto.ErrMalformed},
		{"ErrMalformedVersion", b, "v9:" + parts[1] + ":" + parts[2], crypto.ErrMalformed},
		{"ErrMalformedBase64", b, parts[0] + ":" + parts[1] + ":***", crypto.ErrMalformed},
		{"ErrMalformedShort", b, parts[0] + ":" + parts[1] + ":AAAA", crypto.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.box.Open(tc.text)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %q, %v; want %v", got, err, tc.want)
			}
			if strings.Contains(err.Error(), "sk-secret") {
				t.Errorf("error %q reveals the plaintext", err)
			}
		})
	}
}

func TestBoxRotation(t *testing.T) {
	old := mustBox(t, key(1))
	sealedOld, _ := old.Seal([]byte("before"))
	b := mustBox(t, key(2), key(1))
	got, err := b.Open(sealedOld)
	if err != nil || string(got) != "before" {
		t.Fatalf("Open(old value) = %q, %v; want it opened with the older key", got, err)
	}
	sealedNew, _ := b.Seal([]byte("after"))
	if _, err := old.Open(sealedNew); !errors.Is(err, crypto.ErrWrongKey) {
		t.Errorf("new values are not sealed with the new key: old box Open err = %v", err)
	}
}

func TestNewBoxKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := crypto.NewBox(make([]byte, n)); err == nil {
			t.Errorf("NewBox with a %d-byte key succeeded, want an error", n)
		}
	}
	if _, err := crypto.NewBox(key(1), make([]byte, 16)); err == nil {
		t.Error("NewBox with a short older key succeeded, want an error")
	}
}

func TestLoadKeyFromSecret(t *testing.T) {
	secret := strings.Repeat("s", 40)
	a, err := crypto.LoadKey(secret, "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := crypto.LoadKey(secret, t.TempDir())
	c, _ := crypto.LoadKey(strings.Repeat("t", 40), "")
	if len(a) != crypto.KeySize || !bytes.Equal(a, b) {
		t.Errorf("the same secret gave different keys (%d bytes)", len(a))
	}
	if bytes.Equal(a, c) {
		t.Error("different secrets gave the same key")
	}
	if bytes.Contains(a, []byte(secret[:8])) {
		t.Error("the key contains the secret: it is not derived")
	}
	t.Run("ErrShort", func(t *testing.T) {
		if _, err := crypto.LoadKey(strings.Repeat("s", 31), ""); err == nil || !strings.Contains(err.Error(), "PARLEY_SECRET_KEY") {
			t.Errorf("err = %v, want one naming PARLEY_SECRET_KEY", err)
		}
	})
	t.Run("NoFileWritten", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := crypto.LoadKey(secret, dir); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, crypto.KeyFile)); !os.IsNotExist(err) {
			t.Errorf("a key file was written although PARLEY_SECRET_KEY is set (stat err %v)", err)
		}
	})
}

func TestLoadKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := crypto.LoadKey("", dir)
	if err != nil {
		t.Fatalf("LoadKey: %v", err)
	}
	path := filepath.Join(dir, crypto.KeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file not created: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %o, want 600", mode)
	}
	if len(first) != crypto.KeySize {
		t.Errorf("key is %d bytes, want %d", len(first), crypto.KeySize)
	}
	again, err := crypto.LoadKey("", dir)
	if err != nil || !bytes.Equal(first, again) {
		t.Errorf("second LoadKey = %v, want the same key as the first", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d files, want only %s (no temporary files left)", len(entries), crypto.KeyFile)
	}

	t.Run("ErrCorrupt", func(t *testing.T) {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, crypto.KeyFile), []byte("not a key\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := crypto.LoadKey("", bad); err == nil || !strings.Contains(err.Error(), crypto.KeyFile) {
			t.Errorf("err = %v, want one naming the key file", err)
		}
	})
}

func TestLoadKeyFileRace(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = crypto.LoadKey("", dir) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("LoadKey %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("concurrent starts got different keys (%d and 0)", i)
		}
	}
}

func TestKeyFor(t *testing.T) {
	t.Run("SecretWins", func(t *testing.T) {
		want, _ := crypto.LoadKey(strings.Repeat("k", 32), "")
		got, err := crypto.KeyFor(strings.Repeat("k", 32), "postgres://db/parley")
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("KeyFor = %v, want the derived key", err)
		}
	})
	t.Run("SQLiteKeyFile", func(t *testing.T) {
		dir := t.TempDir()
		got, err := crypto.KeyFor("", "sqlite:"+filepath.Join(dir, "parley.db"))
		if err != nil {
			t.Fatal(err)
		}
		file, err := crypto.LoadKey("", dir)
		if err != nil || !bytes.Equal(got, file) {
			t.Errorf("KeyFor did not use %s next to the database: %v", crypto.KeyFile, err)
		}
	})
	t.Run("Memory", func(t *testing.T) {
		got, err := crypto.KeyFor("", "sqlite::memory:")
		if err != nil || len(got) != crypto.KeySize {
			t.Errorf("KeyFor(memory) = %d bytes, %v", len(got), err)
		}
	})
	t.Run("ErrPostgresNeedsSecret", func(t *testing.T) {
		_, err := crypto.KeyFor("", "postgres://db/parley")
		if err == nil || !strings.Contains(err.Error(), "PARLEY_SECRET_KEY") {
			t.Errorf("err = %v, want one asking for PARLEY_SECRET_KEY", err)
		}
	})
}

func TestDataDir(t *testing.T) {
	cases := map[string]string{
		"sqlite:data/parley.db":         "data",
		"sqlite:/var/lib/parley/p.db":   "/var/lib/parley",
		"sqlite:parley.db":              ".",
		"sqlite::memory:":               "",
		"postgres://u@h/db":             "",
		"sqlite:data/parley.db?mode=rw": "data",
	}
	for in, want := range cases {
		if got := crypto.DataDir(in); got != want {
			t.Errorf("DataDir(%q) = %q, want %q", in, got, want)
		}
	}
}
