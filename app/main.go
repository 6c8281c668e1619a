// Command parley serves the Parley dashboard and runs its maintenance commands.
//
//	parley                 serve the dashboard on PORT (default 3000)
//	parley migrate         apply database migrations
//	parley seed            load the demo data (idempotent)
//	parley secret create --name NAME
//	parley operator create --email E --role R [--name N]   (password typed, or piped on stdin)
//	parley test run --suite NAME|ID [--version N] [--junit FILE] [--json]
//	parley test export --suite NAME|ID > suite.yaml
//	parley test import suite.yaml
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"parley/app/channel"
	"parley/app/config"
	"parley/app/crypto"
	"parley/app/engine"
	"parley/app/engine/ability"
	"parley/app/jobs"
	"parley/app/live"
	"parley/app/metrics"
	"parley/app/providers"
	"parley/app/qa"
	"parley/app/retrieval"
	"parley/handlers"
	"parley/models"
	"parley/models/store"
	"parley/seed"

	"golang.org/x/term"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(1)
	}
}

const usage = `Usage:
  parley                                  serve the dashboard (same as: parley serve)
  parley migrate                          apply pending database migrations
  parley seed                             load the demo data (running it twice changes nothing)
  parley secret create --name NAME        create an API secret; prints it alone on the last line
  parley operator create --email E --role R [--name N]
                                          create an operator; the password is typed (twice, not
                                          shown) or piped on stdin; roles: admin, builder, qa, support
  parley test run --suite NAME|ID [--bot B] [--version N] [--junit FILE] [--json]
                                          run a test suite against the configured database and
                                          exit non-zero when a case fails (for CI)
  parley test export --suite NAME|ID [--bot B]
                                          write the suite as YAML on stdout (keep it in git)
  parley test import FILE                 create or update the suite a YAML/JSON file describes
                                          (FILE "-" reads stdin)
Configuration comes from the environment: see README.md.`

// run is main without the process: testable with fake args, env and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(cfg, stderr)
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	case "serve", "migrate", "seed", "secret", "operator", "test":
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}

	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	for _, m := range applied {
		log.Info("migration applied", "migration", m)
	}
	if err := jobs.Migrate(ctx, st, log); err != nil {
		return err
	}

	switch cmd {
	case "migrate":
		v, err := st.SchemaVersion(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "database at schema version %d (%d migration(s) applied now)\n", v, len(applied))
		return nil
	case "seed":
		res, err := seed.Run(ctx, st)
		if err != nil {
			return err
		}
		base := "http://" + net.JoinHostPort(map[bool]string{true: "localhost", false: cfg.Host}[cfg.Host == "" || cfg.Host == "0.0.0.0" || cfg.Host == "127.0.0.1"], fmt.Sprint(cfg.Port))
		if res.Created {
			fmt.Fprintln(stdout, "demo data loaded (start Parley and open these):")
		} else {
			fmt.Fprintln(stdout, "demo data already present: nothing changed. It is here:")
		}
		for _, row := range [][3]string{{"bot", res.BotName, "/bots/" + res.BotID}, {"dataset", res.DatasetName, "/datasets/" + res.DatasetID},
			{"skillset", res.SkillsetName, "/skillsets/" + res.SkillsetID}, {"conversation", res.ConversationName, "/conversations/" + res.ConversationID}} {
			fmt.Fprintf(stdout, "  %-13s %-28s %s%s\n", row[0], row[1], base, row[2])
		}
		return nil
	case "secret":
		return runSecret(ctx, st, args, stdout)
	case "operator":
		return runOperator(ctx, st, args, getenv, stdin, stdout)
	case "test":
		return runTest(ctx, cfg, st, log, args, stdin, stdout)
	}
	return serve(ctx, cfg, st, log)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serveGCPercent is the garbage collector's target for the server when GOGC
// is not set: the server's live heap is small (tens of MB), so the default
// (100) collects very often; at 400 the heap may grow to five times what is
// live, and a turn spends less of its CPU collecting.
const serveGCPercent = 400

func serve(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	r, err := start(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	select {
	case err := <-r.errc:
		_ = r.stop(cfg.ShutdownGrace)
		return err
	case <-ctx.Done():
	}
	return r.stop(cfg.ShutdownGrace)
}

// running is a started server: what start wired, listening.
type running struct {
	parts *parts
	srv   *handlers.Server
	addr  string
	errc  chan error
	log   *slog.Logger
	// stopMetrics stops the /metrics listener (a no-op when it is off).
	stopMetrics func()
}

// start wires the server (build), resumes what a stop left (interrupted
// turns, channel work), starts the job queue and serves on cfg.Addr().
func start(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) (*running, error) {
	if cfg.AdminEmail != "" {
		op, err := st.CreateFirstAdmin(ctx, cfg.AdminEmail, "", cfg.AdminPassword)
		switch {
		case err == nil:
			log.Info("first admin created from PARLEY_ADMIN_EMAIL", "email", op.Email)
		case models.ErrorCode(err) == models.CodeConflict:
			// Already set up: nothing to do.
		default:
			return nil, fmt.Errorf("PARLEY_ADMIN_EMAIL: %s", models.ErrorMessage(err))
		}
	}
	parts, err := build(ctx, cfg, st, log)
	if err != nil {
		return nil, err
	}
	if err := parts.turns.Recover(ctx); err != nil {
		log.Error("closing interrupted turns", "error", err)
	}
	// Runs a stop left unfinished resume from their first unfinished case.
	if err := parts.qa.Resume(ctx); err != nil {
		log.Error("resuming test runs", "error", err)
	}
	srv, err := handlers.New(handlers.Options{
		Config: cfg, Version: version, Store: st, Logger: log,
		Turns: parts.turns, Broker: parts.broker, Providers: parts.providers, Abilities: parts.abilities, QA: parts.qa,
		Channels: parts.channels, Metrics: parts.metrics, Retriever: parts.retrieval,
	})
	if err != nil {
		parts.queue.Abandon()
		return nil, err
	}
	stopMetrics := func() {}
	if cfg.MetricsAddr != "" {
		if stopMetrics, err = serveMetrics(cfg, parts.metrics, log); err != nil {
			parts.queue.Abandon()
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		stopMetrics()
		parts.queue.Abandon()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr(), err)
	}
	// The queue runs until stop, not until ctx (a signal) ends: stop ends
	// it first, within the grace period.
	if err := parts.queue.Start(context.WithoutCancel(ctx)); err != nil {
		_ = ln.Close()
		stopMetrics()
		parts.queue.Abandon()
		return nil, err
	}
	if err := parts.channels.Recover(ctx); err != nil {
		log.Error("resuming channel work", "error", err)
	}
	// Records written while no server ran (imports from the command line,
	// a restart mid-embedding) are embedded now.
	if n, err := st.EnqueueEmbeddings(ctx); err != nil {
		log.Error("queueing dataset embeddings", "error", err)
	} else if n > 0 {
		log.Info("dataset embeddings queued", "datasets", n)
	}
	log.Info("listening", "addr", ln.Addr().String(), "database", st.Dialect(), "version", version)
	if needed, err := st.SetupNeeded(ctx); err == nil && needed {
		log.Info("no admin yet: open the setup page to create one (whoever opens it first becomes admin)", "url", "http://"+browsable(ln.Addr())+"/setup")
	}
	r := &running{parts: parts, srv: srv, addr: ln.Addr().String(), errc: make(chan error, 1), log: log, stopMetrics: stopMetrics}
	go func() { r.errc <- srv.Serve(ln) }()
	return r, nil
}

// stop shuts the server down within grace: the job queue first (no job
// starts; running ones finish, or are made available again for the next
// start, while turns still run), then in-flight requests and turns.
func (r *running) stop(grace time.Duration) error {
	r.log.Info("shutting down: draining in-flight requests", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := r.parts.queue.Stop(sctx); err != nil {
		r.log.Warn("stopping the job queue", "error", err)
	}
	defer r.stopMetrics()
	if err := r.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	r.log.Info("stopped")
	return nil
}

// browsable is a listen address as a browser on this machine reaches it.
func browsable(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// parts are what serve wires together.
type parts struct {
	providers *providers.Resolver
	abilities *ability.Loader
	broker    *live.Broker
	turns     *engine.Service
	metrics   *metrics.Metrics // nil unless PARLEY_METRICS_ADDR is set
	qa        *qa.Runner
	channels  *channel.Service
	queue     *jobs.Queue
	// retrieval searches datasets (keywords, vectors, rerank) and embeds them.
	retrieval *retrieval.Retriever
}

// serveMetrics serves /metrics on PARLEY_METRICS_ADDR, apart from the
// public port; the returned function stops it.
func serveMetrics(cfg config.Config, m *metrics.Metrics, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("PARLEY_METRICS_ADDR: listen on %s: %w", cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler(cfg.MetricsToken))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	log.Info("metrics listening", "addr", ln.Addr().String(), "token", cfg.MetricsToken != "")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	}, nil
}

// build wires encryption, providers, abilities, live events, the turn
// service, the QA runner, the channels and the job queue they run on.
func build(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) (*parts, error) {
	allow, err := ability.ParseAllow(cfg.FetchAllow)
	if err != nil {
		return nil, fmt.Errorf("PARLEY_FETCH_ALLOW: %w", err)
	}
	key, err := crypto.KeyFor(cfg.SecretKey, cfg.DatabaseURL)
	if err != nil {
		log.Warn("provider API keys and vault secrets cannot be stored until PARLEY_SECRET_KEY is set", "reason", err)
	} else {
		box, err := crypto.NewBox(key)
		if err != nil {
			return nil, err
		}
		st.SetBox(box)
		if err := st.CheckBox(ctx); err != nil {
			log.Error("secret key check failed: stored provider keys and secrets cannot be read", "error", models.ErrorMessage(err))
		}
	}
	var m *metrics.Metrics
	if cfg.MetricsAddr != "" {
		m = metrics.New(version)
		for name, db := range st.Pools() {
			m.DBStats(db, name)
		}
	}
	p := &parts{
		metrics:   m,
		providers: providers.New(st),
		abilities: ability.NewLoader(ability.NewGuardedClient(ability.GuardOptions{Allow: allow}), st.VaultValue, st),
		broker:    live.NewBroker(),
	}
	p.retrieval, err = retrieval.New(retrieval.Options{Store: st, Clients: p.providers, Logger: log})
	if err != nil {
		return nil, err
	}
	eng := engine.New(engine.Options{Store: st, Logger: log, Providers: p.providers.Resolve, Retriever: p.retrieval, Abilities: engine.Abilities(p.abilities.Runner),
		ModerationWords: cfg.ModerationWords, Metrics: m})
	if st.Dialect() == store.Postgres {
		if err := p.broker.Listen(ctx, cfg.DatabaseURL, log); err != nil {
			return nil, fmt.Errorf("live updates: %w", err)
		}
	}
	m.Gauge("parley_live_streams", "Live event streams (workbench tabs) open on this instance.", func() float64 { return float64(p.broker.Total()) })
	p.turns, err = engine.NewService(engine.ServiceOptions{Engine: eng, Store: st, Broker: p.broker, Logger: log, TurnTimeout: cfg.Timeouts.Turn})
	if err != nil {
		return nil, err
	}
	p.qa, err = qa.New(qa.Options{Store: st, Turns: p.turns, Broker: p.broker, Providers: p.providers.Resolve, Retriever: p.retrieval, Logger: log})
	if err != nil {
		return nil, err
	}
	p.channels, err = channel.New(channel.Options{Store: st, Turns: p.turns, Broker: p.broker, Logger: log,
		Callbacks: ability.NewGuardedClient(ability.GuardOptions{Allow: allow}),
		Telegram:  &http.Client{Timeout: 30 * time.Second}, TelegramAPIURL: cfg.TelegramAPIURL,
		PublicURL: cfg.PublicURL, Limits: cfg.Channels})
	if err != nil {
		return nil, err
	}
	p.queue, err = jobs.New(ctx, jobs.Options{Store: st, DatabaseURL: cfg.DatabaseURL, Handler: p.channels, Embedder: p.retrieval, Logger: log,
		EventWorkers: cfg.Channels.EventWorkers, DeliveryWorkers: cfg.Channels.DeliveryWorkers,
		// An event waits for its answer: a turn, and the time to store it.
		JobTimeout: cfg.Timeouts.Turn + time.Minute})
	if err != nil {
		return nil, err
	}
	st.SetQueue(p.queue)
	m.Queue(st.QueueStats)
	return p, nil
}

func runSecret(ctx context.Context, st *store.Store, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: parley secret create --name NAME")
	}
	fs := flag.NewFlagSet("secret create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "a name that says who uses the secret")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("secret create: %w", err)
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("secret create: --name is required")
	}
	sec, raw, err := st.CreateSecret(ctx, *name, nil)
	if err != nil {
		return fmt.Errorf("secret create: %s", models.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "API secret %q created (id %s). It is shown once; store it now:\n%s\n", sec.Name, sec.ID, raw)
	return nil
}

// readPassword reads a new operator's password: from a terminal, typed twice
// without echo; otherwise (a pipe or a file) the first line of stdin. It
// never falls back to anything else.
func readPassword(stdin io.Reader, stdout io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(prompt string) (string, error) {
			fmt.Fprint(stdout, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stdout)
			return string(b), err
		}
		pw, err := ask("Password: ")
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		again, err := ask("Password again: ")
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if pw != again {
			return "", errors.New("the passwords differ")
		}
		return pw, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on stdin: pipe it in, as in: printf '%s\\n' \"$PW\" | parley operator create --email … --role …")
	}
	return pw, nil
}

func runOperator(ctx context.Context, st *store.Store, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: parley operator create --email E --role R [--name N]")
	}
	fs := flag.NewFlagSet("operator create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "the operator's email")
	role := fs.String("role", "", "admin, builder, qa or support")
	name := fs.String("name", "", "the operator's name")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("operator create: %w", err)
	}
	pw, err := readPassword(stdin, stdout)
	if err != nil {
		return fmt.Errorf("operator create: %w", err)
	}
	if getenv("PARLEY_ADMIN_PASSWORD") != "" {
		// Set for the first admin: never used for other operators.
		fmt.Fprintln(stdout, "note: PARLEY_ADMIN_PASSWORD is ignored here (it is the first admin's); the password was read from stdin.")
	}
	op, err := st.CreateOperator(ctx, models.Operator{Email: *email, Name: *name, Role: *role}, pw)
	if err != nil {
		return fmt.Errorf("operator create: %s", models.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "operator %s created with role %s (id %s)\n", op.Email, op.Role, op.ID)
	return nil
}
