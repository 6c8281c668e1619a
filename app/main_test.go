package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

func init() { store.BcryptCost = bcrypt.MinCost }

// syncBuffer is a bytes.Buffer safe for a server goroutine writing and a test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// runCmd runs the CLI with the given database URL and stdin, returning stdout.
func runCmd(t *testing.T, dbURL, stdin string, extra map[string]string, args ...string) (string, error) {
	t.Helper()
	env := map[string]string{"DATABASE_URL": dbURL}
	for k, v := range extra {
		env[k] = v
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, envOf(env), strings.NewReader(stdin), &out, &errOut)
	return out.String(), err
}

func openStore(t *testing.T, dbURL string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCLI(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			dbURL := storetest.URL(t, d)
			ctx := context.Background()

			t.Run("Migrate", func(t *testing.T) {
				out, err := runCmd(t, dbURL, "", nil, "migrate")
				if err != nil {
					t.Fatal(err)
				}
				want := fmt.Sprintf("schema version %d", store.LatestSchemaVersion())
				if !strings.Contains(out, want) {
					t.Errorf("migrate printed %q, want it to contain %q", out, want)
				}
				out, err = runCmd(t, dbURL, "", nil, "migrate")
				if err != nil || !strings.Contains(out, "(0 migration(s) applied now)") {
					t.Errorf("second migrate: %q, %v", out, err)
				}
			})
			t.Run("SeedTwice", func(t *testing.T) {
				out, err := runCmd(t, dbURL, "", nil, "seed")
				if err != nil || !strings.Contains(out, "demo data loaded") || !strings.Contains(out, "Northwind Support") || !strings.Contains(out, "/bots/") {
					t.Fatalf("seed: %q, %v", out, err)
				}
				s := openStore(t, dbURL)
				before, _ := s.Counts(ctx)
				out, err = runCmd(t, dbURL, "", nil, "seed")
				if err != nil || !strings.Contains(out, "nothing changed") {
					t.Fatalf("second seed: %q, %v", out, err)
				}
				after, _ := s.Counts(ctx)
				if fmt.Sprint(before) != fmt.Sprint(after) || after["bots"] != 1 {
					t.Errorf("counts before %v, after second seed %v", before, after)
				}
			})
			t.Run("SecretCreate", func(t *testing.T) {
				out, err := runCmd(t, dbURL, "", nil, "secret", "create", "--name", "ci")
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSpace(out), "\n")
				last := lines[len(lines)-1]
				if !strings.HasPrefix(last, store.SecretPrefix) || strings.Contains(last, " ") {
					t.Fatalf("last line %q is not the secret alone", last)
				}
				if _, err := openStore(t, dbURL).AuthenticateSecret(ctx, last); err != nil {
					t.Errorf("the printed secret does not authenticate: %v", err)
				}
				if _, err := runCmd(t, dbURL, "", nil, "secret", "create"); err == nil || !strings.Contains(err.Error(), "--name is required") {
					t.Errorf("secret create without --name: %v", err)
				}
			})
			t.Run("OperatorCreate", func(t *testing.T) {
				out, err := runCmd(t, dbURL, "a long password\n", nil, "operator", "create", "--email", "QA@Example.com", "--role", "qa")
				if err != nil || !strings.Contains(out, "qa@example.com created with role qa") {
					t.Fatalf("operator create: %q, %v", out, err)
				}
				if _, err := openStore(t, dbURL).Authenticate(ctx, "qa@example.com", "a long password"); err != nil {
					t.Errorf("created operator cannot sign in: %v", err)
				}
				// PARLEY_ADMIN_PASSWORD is the first admin's: never another operator's.
				env := map[string]string{"PARLEY_ADMIN_PASSWORD": "the admin password"}
				out, err = runCmd(t, dbURL, "the builder's own password\n", env, "operator", "create", "--email", "b@example.com", "--role", "builder")
				if err != nil || !strings.Contains(out, "PARLEY_ADMIN_PASSWORD is ignored") {
					t.Fatalf("operator create with both: %q, %v", out, err)
				}
				st := openStore(t, dbURL)
				if _, err := st.Authenticate(ctx, "b@example.com", "the builder's own password"); err != nil {
					t.Errorf("the password piped on stdin does not sign in: %v", err)
				}
				if _, err := st.Authenticate(ctx, "b@example.com", "the admin password"); err == nil {
					t.Error("the operator got the admin's password from PARLEY_ADMIN_PASSWORD")
				}
				_, err = runCmd(t, dbURL, "", env, "operator", "create", "--email", "c@example.com", "--role", "builder")
				if err == nil || !strings.Contains(err.Error(), "no password on stdin") {
					t.Errorf("operator create with only PARLEY_ADMIN_PASSWORD: %v, want a refusal", err)
				}
				for _, tc := range []struct {
					name, stdin string
					args        []string
					want        string
				}{
					{"ErrRole", "a long password\n", []string{"--email", "x@example.com", "--role", "boss"}, "Role must be one of"},
					{"ErrShortPassword", "short\n", []string{"--email", "y@example.com", "--role", "qa"}, "at least 10 characters"},
					{"ErrDuplicate", "a long password\n", []string{"--email", "qa@example.com", "--role", "qa"}, "already exists"},
				} {
					t.Run(tc.name, func(t *testing.T) {
						_, err := runCmd(t, dbURL, tc.stdin, nil, append([]string{"operator", "create"}, tc.args...)...)
						if err == nil || !strings.Contains(err.Error(), tc.want) {
							t.Errorf("error = %v, want it to contain %q", err, tc.want)
						}
					})
				}
			})
			t.Run("ErrUnknownCommand", func(t *testing.T) {
				if _, err := runCmd(t, dbURL, "", nil, "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown command") {
					t.Errorf("error = %v", err)
				}
			})
		})
	}
}

func TestBadConfig(t *testing.T) {
	_, err := runCmd(t, "mysql://nope", "", nil, "migrate")
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL must start with") {
		t.Errorf("error = %v", err)
	}
}

var listenRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startServer runs `parley` (serve) in-process on 127.0.0.1:0 and returns its
// address, the cancel that plays SIGTERM, and a channel with run's result.
func startServer(t *testing.T, env map[string]string) (addr string, stop context.CancelFunc, done <-chan error) {
	t.Helper()
	env["HOST"], env["PORT"] = "127.0.0.1", "0"
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	ch := make(chan error, 1)
	go func() { ch <- run(ctx, nil, envOf(env), strings.NewReader(""), io.Discard, logs) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRE.FindStringSubmatch(logs.String()); m != nil {
			return m[1], cancel, ch
		}
		select {
		case err := <-ch:
			t.Fatalf("server exited early: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("server did not start:\n%s", logs.String())
	return "", nil, nil
}

func TestServeHeadlessAdminAndDrain(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			dbURL := storetest.URL(t, d)
			addr, stop, done := startServer(t, map[string]string{
				"DATABASE_URL": dbURL, "PARLEY_ADMIN_EMAIL": "root@example.com", "PARLEY_ADMIN_PASSWORD": "headless password",
				"PARLEY_SHUTDOWN_GRACE": "10s",
			})
			defer stop()

			res, err := http.Get("http://" + addr + "/healthz")
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("healthz: %v %v", res, err)
			}
			res.Body.Close()
			if op, err := openStore(t, dbURL).FindOperatorByEmail(context.Background(), "root@example.com"); err != nil || op.Role != models.RoleAdmin {
				t.Fatalf("headless admin = %+v, %v", op, err)
			}

			// An in-flight request: headers and half the body sent.
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			body := "email=root%40example.com&password=x"
			fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", addr, len(body), body[:10])
			time.Sleep(100 * time.Millisecond) // let the server start reading the request

			stop() // SIGTERM
			select {
			case err := <-done:
				t.Fatalf("server exited with a request in flight: %v", err)
			case <-time.After(300 * time.Millisecond):
			}
			fmt.Fprint(conn, body[10:])
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "HTTP/1.1 ") {
				t.Fatalf("in-flight request got %q, %v; want a complete response", line, err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run after drain: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("server did not exit after draining")
			}
			if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
				t.Error("server still answers after shutdown")
			}
		})
	}
}
