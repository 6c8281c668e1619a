// Command turns measures how many turns Parley answers per second on
// PostgreSQL against what its own database can do, side by side in one run:
//
//  1. a fresh database (parley_bench_turns) is migrated and seeded, an API
//     secret made, and the parley binary started on loopback;
//  2. C workers, each on its own conversation with the seeded bot (model
//     local, the help-center dataset), call conversation/{id}/complete for
//     the duration: completes/s and latency p50/p95/max;
//  3. pgbench runs minimal.sql — the least SQL such a turn needs — with the
//     same C clients on the same database for the same duration;
//  4. the same load with a bot on an OpenAI-compatible provider (an
//     in-process fake that streams at once), and the time to first token
//     through Parley's stream against sending the fake Parley's request
//     directly; beside it, pgbench at one client of what the database alone
//     takes for the statements a turn needs before the model
//     (firsttoken.sql), for storing the message alone and for a bare round
//     trip.
//
// Run it with `task bench:turns`, or:
//
//	go run ./app/bench/turns -db postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/models"
	"parley/models/store"
)

//go:embed minimal.sql
var minimalSQL string

//go:embed firsttoken.sql
var firstTokenSQL string

const benchDB = "parley_bench_turns"

var questions = []string{
	"Can I get a refund on my annual plan?",
	"How do I reset my password?",
	"What is the file size limit for uploads?",
	"How long do you keep files in the trash?",
}

func main() {
	admin := flag.String("db", envOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL URL of a server where the benchmark may create its database")
	bin := flag.String("bin", "", "the parley binary (default: built from ./app)")
	clients := flag.Int("c", 32, "concurrent conversations")
	dur := flag.Duration("d", 20*time.Second, "duration of each measured run")
	warm := flag.Duration("warmup", 3*time.Second, "warm-up before each measured run")
	pgbench := flag.String("pgbench", "pgbench", "the pgbench binary")
	openai := flag.Bool("openai", true, "also measure a bot on an OpenAI-compatible provider (a fast in-process fake)")
	samples := flag.Int("ttft", 300, "sequential streamed turns for the time to first token")
	vs := flag.String("vs", "", "another parley binary: after the runs, it serves the same database beside -bin and the first token of both is timed, turns alternating (less noisy than comparing two runs)")
	flag.Parse()
	if err := run(*admin, *bin, *clients, *dur, *warm, *pgbench, *openai, *samples, *vs); err != nil {
		fmt.Fprintln(os.Stderr, "bench turns:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(admin, bin string, clients int, dur, warm time.Duration, pgbench string, withOpenAI bool, samples int, vs string) error {
	ctx := context.Background()
	dsn, err := freshDatabase(ctx, admin)
	if err != nil {
		return err
	}
	if bin == "" {
		dir, err := os.MkdirTemp("", "parley-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "parley")
		build := exec.Command("go", "build", "-o", bin, "./app")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	env := append(os.Environ(), "DATABASE_URL="+dsn, "PARLEY_SECRET_KEY=bench-secret-key-bench-secret-key-0123456789", "LOG_LEVEL=warn",
		// The per-secret limit stays on (its cost is part of a turn) but high enough not to refuse the load.
		"PARLEY_API_RATE=100000000")
	for _, args := range [][]string{{"migrate"}, {"seed"}} {
		if out, err := command(env, bin, args...); err != nil {
			return fmt.Errorf("parley %s: %v\n%s", args[0], err, out)
		}
	}
	out, err := command(env, bin, "secret", "create", "--name", "bench")
	if err != nil {
		return fmt.Errorf("parley secret create: %v\n%s", err, out)
	}
	lines := strings.Fields(strings.TrimSpace(out))
	secret := lines[len(lines)-1]

	fake := startFake()
	defer fake.Close()
	if withOpenAI {
		st, err := store.Open(ctx, dsn, store.Options{})
		if err != nil {
			return err
		}
		_, err = st.CreateProvider(ctx, models.Provider{Name: "fake", Kind: "openai", BaseURL: fake.URL + "/v1", DefaultModel: "fast", TimeoutSeconds: 30}, "")
		st.Close()
		if err != nil {
			return fmt.Errorf("create the fake provider: %w", err)
		}
	}

	base, stop, err := startServer(bin, env)
	if err != nil {
		return err
	}
	defer stop()
	api := &client{base: base + "/api/v1", secret: secret, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * clients}}}
	if err := api.waitUp(base + "/healthz"); err != nil {
		return err
	}

	var bots, datasets struct {
		Items []struct{ ID, Name, Model string }
	}
	if err := api.call("GET", "/bot/list", nil, &bots); err != nil {
		return err
	}
	if err := api.call("GET", "/dataset/list", nil, &datasets); err != nil {
		return err
	}
	if len(bots.Items) == 0 || len(datasets.Items) == 0 {
		return errors.New("the seed made no bot or dataset")
	}
	localBot, dataset := bots.Items[0].ID, datasets.Items[0].ID

	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	var pgVersion, syncCommit, sharedBuffers string
	_ = db.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('synchronous_commit'), current_setting('shared_buffers')").Scan(&pgVersion, &syncCommit, &sharedBuffers)
	fmt.Printf("PostgreSQL %s (synchronous_commit %s, shared_buffers %s), %d conversations, %s per run after %s warm-up\n\n",
		pgVersion, syncCommit, sharedBuffers, clients, dur, warm)

	convs, err := api.conversations(localBot, clients)
	if err != nil {
		return err
	}
	// pgbench first, on the same conversations, so both see the same data.
	if _, err := db.Exec(ctx, "CREATE TABLE bench_turn_convs (n int PRIMARY KEY, id text NOT NULL)"); err != nil {
		return err
	}
	for i, id := range convs {
		if _, err := db.Exec(ctx, "INSERT INTO bench_turn_convs VALUES ($1, $2)", i, id); err != nil {
			return err
		}
	}
	dbMark := "postgres " + benchDB + " " // a backend's title: user, database, client
	// Each run warms up, then the tables are analyzed and the run measured:
	// fresh statistics, as autovacuum keeps them (servers for tests often
	// run without it). Parley's statements are prepared and their plans
	// cached per connection, pgbench's planned each time: without this,
	// Parley's plans would be those of the tables before the run (a turn
	// then updated its row by scanning every turn), pgbench's not.
	if warm > 0 {
		if _, err := runPgbench(pgbench, dsn, clients, warm, models.HashToken(secret), dataset); err != nil {
			return err
		}
	}
	if err := analyze(ctx, db); err != nil {
		return err
	}
	pgCPU := meterCPU(dbMark, "pgbench")
	tps, err := runPgbench(pgbench, dsn, clients, dur, models.HashToken(secret), dataset)
	if err != nil {
		return err
	}
	pgbenchCPU := pgCPU.Stop()
	fmt.Printf("pgbench, minimal turn SQL:      %8.0f turns/s    CPU per turn: %s (database and pgbench)\n",
		tps, ms(pgbenchCPU/time.Duration(max(1, int(tps*dur.Seconds())))))

	if warm > 0 {
		api.load(convs, warm, 0)
	}
	if err := analyze(ctx, db); err != nil {
		return err
	}
	before := commits(ctx, db)
	dbCPU, appCPU := meterCPU(dbMark), meterCPU(bin+" serve")
	selfBefore := selfCPU()
	local := api.load(convs, dur, 0)
	dbUsed, appUsed := dbCPU.Stop(), appCPU.Stop()
	clientUsed := selfCPU() - selfBefore
	perTurn := float64(commits(ctx, db)-before) / float64(local.total)
	fmt.Printf("parley, local:                  %8.0f completes/s  p50 %s  p95 %s  max %s  errors %d  (%.1f transactions per turn)\n",
		local.rate, ms(local.p50), ms(local.p95), ms(local.max), local.errors, perTurn)
	fmt.Printf("                                CPU per turn: parley %s, its database %s, the load generator (this tool) %s\n",
		ms(appUsed/time.Duration(max(1, local.total))), ms(dbUsed/time.Duration(max(1, local.total))), ms(clientUsed/time.Duration(max(1, local.total))))
	fmt.Printf("ratio parley/pgbench:           %8.2f\n", local.rate/tps)

	if !withOpenAI {
		return nil
	}
	var bot struct{ ID string }
	if err := api.call("POST", "/bot/create", map[string]any{"name": "Fake provider bot", "model": "fake/fast", "datasetId": dataset}, &bot); err != nil {
		return err
	}
	fconvs, err := api.conversations(bot.ID, clients)
	if err != nil {
		return err
	}
	if warm > 0 {
		api.load(fconvs, warm, 0)
	}
	if err := analyze(ctx, db); err != nil {
		return err
	}
	remote := api.load(fconvs, dur, 0)
	fmt.Printf("parley, OpenAI-compatible fake: %8.0f completes/s  p50 %s  p95 %s  max %s  errors %d\n",
		remote.rate, ms(remote.p50), ms(remote.p95), ms(remote.max), remote.errors)

	direct, tiny, through, size, err := ttft(api, fake, fconvs[0], samples)
	if err != nil {
		return err
	}
	fmt.Printf("time to first token, %d sequential streamed turns: fake directly with parley's request (%.1f KB) p50 %s p95 %s (one-message request p50 %s); through parley p50 %s p95 %s; added p50 %s\n",
		samples, float64(size)/1024, ms(pct(direct, 50)), ms(pct(direct, 95)), ms(pct(tiny, 50)), ms(pct(through, 50)), ms(pct(through, 95)), ms(pct(through, 50)-pct(direct, 50)))
	// What the database alone takes, at one client, for what must come
	// before the model: all of it one statement after another, and the two
	// parts no server can skip or keep in memory.
	var floors [3][]time.Duration
	for i, script := range []string{firstTokenSQL, storeMessageSQL, roundTripSQL} {
		if floors[i], err = oneClient(pgbench, dsn, script, samples, models.HashToken(secret), dataset, fconvs[0]); err != nil {
			return err
		}
	}
	fmt.Printf("  the database alone, pgbench at one client, p50 (p95): the SQL before the model one statement after another (firsttoken.sql) %s (%s); storing the message alone %s (%s); a bare round trip (SELECT 1) %s (%s)\n",
		ms(pct(floors[0], 50)), ms(pct(floors[0], 95)), ms(pct(floors[1], 50)), ms(pct(floors[1], 95)), ms(pct(floors[2], 50)), ms(pct(floors[2], 95)))

	if vs != "" {
		if err := versus(api, vs, env, bot.ID, samples, bin); err != nil {
			return err
		}
	}

	// The same without waiting for the WAL flush of each commit (the user's
	// message is stored before the model is called, so a durable commit is
	// in the first token's path): what is left is Parley's own time.
	stop()
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	opt := "options=" + strings.ReplaceAll(url.QueryEscape("-c synchronous_commit=off"), "+", "%20") // pgx reads + as itself
	if u.RawQuery != "" {
		opt = u.RawQuery + "&" + opt
	}
	u.RawQuery = opt
	nbase, nstop, err := startServer(bin, append(env, "DATABASE_URL="+u.String()))
	if err != nil {
		return err
	}
	defer nstop()
	napi := &client{base: nbase + "/api/v1", secret: secret, http: api.http}
	if err := napi.waitUp(nbase + "/healthz"); err != nil {
		return err
	}
	direct, _, through, _, err = ttft(napi, fake, fconvs[1], samples)
	if err != nil {
		return err
	}
	fmt.Printf("  the same without commit waits (synchronous_commit off): through parley p50 %s p95 %s; added p50 %s\n",
		ms(pct(through, 50)), ms(pct(through, 95)), ms(pct(through, 50)-pct(direct, 50)))
	return nil
}

// startServer starts `bin serve` on a free loopback port with env and
// returns its base URL and its stop.
func startServer(bin string, env []string) (string, func(), error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	srv := exec.Command(bin, "serve")
	srv.Env = append(env, "HOST=127.0.0.1", "PORT="+strconv.Itoa(port))
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return "", nil, err
	}
	var once sync.Once
	stop := func() { once.Do(func() { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() }) }
	return "http://127.0.0.1:" + strconv.Itoa(port), stop, nil
}

// freshDatabase drops and creates the benchmark's database on admin's server
// and returns its URL.
func freshDatabase(ctx context.Context, admin string) (string, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", admin, err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{"DROP DATABASE IF EXISTS " + benchDB + " WITH (FORCE)", "CREATE DATABASE " + benchDB} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("%s: %w", q, err)
		}
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	u.Path = "/" + benchDB
	return u.String(), nil
}

func command(env []string, bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func analyze(ctx context.Context, db *pgx.Conn) error {
	_, err := db.Exec(ctx, "VACUUM ANALYZE")
	return err
}

func commits(ctx context.Context, db *pgx.Conn) int64 {
	var n int64
	_ = db.QueryRow(ctx, "SELECT pg_stat_force_next_flush()").Scan(new(any))
	_ = db.QueryRow(ctx, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").Scan(&n)
	return n
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

func runPgbench(bin, dsn string, clients int, dur time.Duration, hash, dataset string) (float64, error) {
	out, err := pgbench(bin, dsn, minimalSQL, "", "-c", strconv.Itoa(clients), "-j", strconv.Itoa(min(clients, 2)), "-T", strconv.Itoa(int(dur.Seconds())),
		"-D", "hash='"+hash+"'", "-D", "ds='"+dataset+"'")
	if err != nil {
		return 0, err
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench: no tps in\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// The parts of firsttoken.sql a turn cannot do without however much it
// kept in memory: storing the message (a durable commit), and any one
// statement's round trip.
const (
	storeMessageSQL = `INSERT INTO messages (id, conversation_id, type, text, meta, created_at, updated_at)
  VALUES (gen_random_uuid(), :conv, 'user', 'How do I reset my password?', '{}', now(), now());
`
	roundTripSQL = "SELECT 1;\n"
)

// oneClient runs script (firsttoken.sql's variables) at one client for n
// transactions and returns the latencies of its transactions, sorted (from
// pgbench's per-transaction log).
func oneClient(bin, dsn, script string, n int, hash, dataset, conv string) ([]time.Duration, error) {
	dir, err := os.MkdirTemp("", "firsttoken-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if _, err := pgbench(bin, dsn, script, dir, "-c", "1", "-t", strconv.Itoa(n), "-l", "--log-prefix", filepath.Join(dir, "tx"),
		"-D", "hash='"+hash+"'", "-D", "ds='"+dataset+"'", "-D", "conv='"+conv+"'"); err != nil {
		return nil, err
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "tx.*"))
	var lat []time.Duration
	for _, name := range logs {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			// client_id transaction_no time_us script_no time_epoch time_us_frac
			if f := strings.Fields(line); len(f) >= 3 {
				if us, err := strconv.Atoi(f[2]); err == nil {
					lat = append(lat, time.Duration(us)*time.Microsecond)
				}
			}
		}
	}
	if len(lat) == 0 {
		return nil, errors.New("pgbench: no transactions logged")
	}
	slices.Sort(lat)
	return lat, nil
}

// pgbench runs script with args (in dir, when given) and returns its output.
func pgbench(bin, dsn, script, dir string, args ...string) ([]byte, error) {
	f, err := os.CreateTemp(dir, "script-*.sql")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(script); err != nil {
		return nil, err
	}
	f.Close()
	cmd := exec.Command(bin, append(append([]string{"-n", "-f", f.Name()}, args...), dsn)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	return out, nil
}

type client struct {
	base, secret string
	http         *http.Client
}

func (c *client) waitUp(health string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := c.http.Get(health); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("parley did not come up in 30 s")
}

func (c *client) request(method, path string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.secret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

func (c *client) call(method, path string, body, out any) error {
	req, err := c.request(method, path, body)
	if err != nil {
		return err
	}
	r, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, r.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// post sends body to url and reads the answer into buf (its start kept for
// an error's message).
func (c *client) post(url string, body, buf []byte) error {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.secret)
	req.Header.Set("Content-Type", "application/json")
	r, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	n, _ := io.ReadFull(r.Body, buf)
	if r.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", url, r.StatusCode, buf[:min(n, 300)])
	}
	_, err = io.CopyBuffer(io.Discard, r.Body, buf)
	return err
}

func (c *client) conversations(botID string, n int) ([]string, error) {
	ids := make([]string, n)
	for i := range ids {
		var conv struct{ ID string }
		if err := c.call("POST", "/conversation/create", map[string]any{"botId": botID}, &conv); err != nil {
			return nil, err
		}
		ids[i] = conv.ID
	}
	return ids, nil
}

type loadResult struct {
	rate          float64
	total, errors int64
	p50, p95, max time.Duration
}

// load runs one worker per conversation calling complete back to back; the
// warm-up's calls are not counted.
func (c *client) load(convs []string, dur, warm time.Duration) loadResult {
	var (
		mu       sync.Mutex
		lat      []time.Duration
		errs     atomic.Int64
		firstErr atomic.Value
	)
	start := time.Now()
	measureFrom, end := start.Add(warm), start.Add(warm+dur)
	// The bodies are encoded once and answers read into a reused buffer: the
	// generator shares the CPU with what it measures, so it does little.
	bodies := make([][]byte, len(questions))
	for i, q := range questions {
		bodies[i], _ = json.Marshal(map[string]any{"text": q})
	}
	var wg sync.WaitGroup
	for i, id := range convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			url := c.base + "/conversation/" + id + "/complete"
			buf := make([]byte, 32<<10)
			for n := i; ; n++ {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				err := c.post(url, bodies[n%len(bodies)], buf)
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if s, ok := firstErr.Load().(string); ok {
		fmt.Fprintln(os.Stderr, "first error:", s)
	}
	slices.Sort(lat)
	r := loadResult{total: int64(len(lat)), errors: errs.Load(), rate: float64(len(lat)) / dur.Seconds()}
	if len(lat) > 0 {
		r.p50, r.p95, r.max = pct(lat, 50), pct(lat, 95), lat[len(lat)-1]
	}
	return r
}

// ttft times the first token of n sequential streamed turns through
// Parley's complete (JSON lines), each followed by the very request Parley
// sent the fake (its prompt: backstory, records, history) sent to the fake
// directly — what an app calling the provider itself with the same prompt
// would wait — and by a one-message request (tiny), for reference.
func ttft(c *client, fake *fakeProvider, conv string, n int) (direct, tiny, through []time.Duration, size int, err error) {
	small := []byte(`{"model":"fast","stream":true,"messages":[{"role":"user","content":"How do I reset my password?"}]}`)
	post := func(body []byte) (time.Duration, bool, error) {
		t0 := time.Now()
		r, err := c.http.Post(fake.URL+"/v1/chat/completions", "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, false, err
		}
		defer r.Body.Close()
		d, ok := firstLine(r.Body, "data: {", t0)
		return d, ok, nil
	}
	for i := 0; i < n; i++ {
		if d, ok, err := c.firstToken(conv); err != nil {
			return nil, nil, nil, 0, err
		} else if ok {
			through = append(through, d)
		}

		body := fake.lastBody()
		size = len(body)
		if d, ok, err := post(body); err != nil {
			return nil, nil, nil, 0, err
		} else if ok {
			direct = append(direct, d)
		}
		if d, ok, err := post(small); err != nil {
			return nil, nil, nil, 0, err
		} else if ok {
			tiny = append(tiny, d)
		}
	}
	if len(direct) == 0 || len(through) == 0 || len(tiny) == 0 {
		return nil, nil, nil, 0, errors.New("no token streamed")
	}
	slices.Sort(direct)
	slices.Sort(tiny)
	slices.Sort(through)
	return direct, tiny, through, size, nil
}

// firstToken times the first token of one streamed turn on conv.
func (c *client) firstToken(conv string) (time.Duration, bool, error) {
	req, err := c.request("POST", "/conversation/"+conv+"/complete", map[string]any{"text": "How do I reset my password?"})
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Accept", "application/jsonl")
	t0 := time.Now()
	r, err := c.http.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer r.Body.Close()
	d, ok := firstLine(r.Body, `{"type":"token"`, t0)
	return d, ok, nil
}

// versus starts the binary other on api's database beside api's server and
// times the first token of n streamed turns on each, alternating (each on a
// new conversation of bot): two binaries compared under the same noise.
func versus(api *client, other string, env []string, bot string, n int, bin string) error {
	base, stop, err := startServer(other, env)
	if err != nil {
		return err
	}
	defer stop()
	them := &client{base: base + "/api/v1", secret: api.secret, http: api.http}
	if err := them.waitUp(base + "/healthz"); err != nil {
		return err
	}
	clients := []*client{api, them}
	var convs []string
	for _, c := range clients {
		ids, err := c.conversations(bot, 1)
		if err != nil {
			return err
		}
		convs = append(convs, ids[0])
	}
	lat := make([][]time.Duration, 2)
	const warm = 20 // turns each before timing: the other server has just started
	for i := range warm + n {
		for k := range 2 {
			k = (k + i) % 2 // who goes first alternates too
			d, ok, err := clients[k].firstToken(convs[k])
			if err != nil {
				return err
			}
			if ok && i >= warm {
				lat[k] = append(lat[k], d)
			}
		}
	}
	for k, name := range []string{bin, other} {
		if len(lat[k]) == 0 {
			return errors.New("no token streamed")
		}
		slices.Sort(lat[k])
		fmt.Printf("  first token, %d turns alternating with the other binary: %s p50 %s p95 %s\n", n, name, ms(pct(lat[k], 50)), ms(pct(lat[k], 95)))
	}
	return nil
}

// firstLine reads body until a line starting with prefix and returns the
// time since t0 at that moment; the rest is drained.
func firstLine(body io.Reader, prefix string, t0 time.Time) (time.Duration, bool) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var d time.Duration
	found := false
	for sc.Scan() {
		if !found && strings.HasPrefix(sc.Text(), prefix) {
			d, found = time.Since(t0), true
		}
	}
	return d, found
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
