package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/models/store"
	"parley/models/store/storetest"
)

// contractTimeout bounds one run of the SDK contract script.
const contractTimeout = 3 * time.Minute

// TestSDKContract runs the scripts app/contract/*.test.mjs — the official
// ChatBotKit client, @chatbotkit/sdk, driving the whole API story
// (sdk.test.mjs), then each resource family added since — against the real
// binary on each database, one subtest per script. Node and the script's node_modules are needed:
// outside CI their absence skips the test, under CI=true it fails it.
func TestSDKContract(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		needContract(t, "node is not installed (apt-get install nodejs npm)")
	}
	scripts, err := filepath.Glob(filepath.Join("contract", "*.test.mjs"))
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no contract scripts in app/contract (%v)", err)
	}
	// sdk.test.mjs first: it is the story every other script builds on.
	first := func(p string) int {
		if filepath.Base(p) == "sdk.test.mjs" {
			return 0
		}
		return 1
	}
	slices.SortFunc(scripts, func(a, b string) int { return cmp.Or(cmp.Compare(first(a), first(b)), cmp.Compare(a, b)) })
	if _, err := os.Stat(filepath.Join("contract", "node_modules", "@chatbotkit", "sdk", "package.json")); err != nil {
		needContract(t, "app/contract/node_modules/@chatbotkit/sdk is missing")
	}
	bin := buildBinary(t)
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			dbURL := storetest.URL(t, d)
			parleyCLI(t, bin, dbURL, "migrate")
			out := parleyCLI(t, bin, dbURL, "secret", "create", "--name", "contract")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			secret := strings.TrimSpace(lines[len(lines)-1])
			if !strings.HasPrefix(secret, store.SecretPrefix) {
				t.Fatalf("secret create: the last line %q is not an API secret\n%s", secret, out)
			}
			// A low session rate makes the rate-limit step quick; the API
			// secret keeps the default rate.
			env := []string{"PARLEY_SESSION_RATE=30", "PARLEY_API_RATE="}
			if d == store.Postgres {
				// Integrations seal their secrets: PostgreSQL needs a key set.
				env = append(env, "PARLEY_SECRET_KEY=contract-test-secret-key-0123456789abcdef")
			}
			base := startBinary(t, bin, dbURL, env...)

			for _, rel := range scripts {
				script, err := filepath.Abs(rel)
				if err != nil {
					t.Fatal(err)
				}
				t.Run(strings.TrimSuffix(filepath.Base(rel), ".test.mjs"), func(t *testing.T) {
					runContract(t, node, script, base, secret, d)
				})
			}
		})
	}
}

// runContract runs one contract script against the server at base.
func runContract(t *testing.T, node, script, base, secret, dialect string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), contractTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), "PARLEY_URL="+base, "PARLEY_SECRET="+secret)
	cmd.WaitDelay = 5 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	start := time.Now()
	err := cmd.Run()
	_ = pw.Close()
	<-logged
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		t.Fatalf("node %s did not finish within %s", script, contractTimeout)
	case err != nil:
		t.Fatalf("node %s failed after %s: %v (its output is above)", script, time.Since(start).Round(time.Millisecond), err)
	}
	t.Logf("%s passed on %s in %s", filepath.Base(script), dialect, time.Since(start).Round(time.Millisecond))
}

// needContract skips the test outside CI and fails it under CI=true.
func needContract(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s: run npm ci --prefix app/contract", why)
	}
	t.Skipf("%s; skipping the SDK contract test (run npm ci --prefix app/contract)", why)
}

// parleyCLI runs a command of the built binary against dbURL and returns its stdout.
func parleyCLI(t *testing.T, bin, dbURL string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "PARLEY_ADMIN_EMAIL=", "PARLEY_ADMIN_PASSWORD=", "PARLEY_SECRET_KEY=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parley %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}
