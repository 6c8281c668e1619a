package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"parley/app/config"
	"parley/app/qa"
	"parley/handlers/api"
	"parley/models"
	"parley/models/store"
)

// testUsage is how the test commands are called.
const testUsage = `usage: parley test run --suite NAME|ID [--bot B] [--version N] [--junit FILE] [--json]
       parley test export --suite NAME|ID [--bot B]
       parley test import FILE`

// errTestsFailed makes `parley test run` exit non-zero when something failed.
type errTestsFailed struct{ run *models.TestRun }

// Error says how many cases failed, or that the run did not finish.
func (e errTestsFailed) Error() string {
	r := e.run
	if r.Status == models.RunFailed {
		return fmt.Sprintf("test run %s failed: %d of %d failed (%d could not run)", r.ID, r.Failed+r.Errored, r.Total, r.Errored)
	}
	return fmt.Sprintf("test run %s did not finish: %s", r.ID, r.Status)
}

// runTest runs the test subcommands.
func runTest(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(testUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("test "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	suiteRef := fs.String("suite", "", "the suite's name or id")
	botRef := fs.String("bot", "", "the suite's bot (alias, id or name), when several bots have a suite of that name")
	version := fs.Int("version", 0, "run against this bot version (default: the current configuration)")
	junit := fs.String("junit", "", "write JUnit XML to this file")
	asJSON := fs.Bool("json", false, "print the run and its results as JSON")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("test %s: %w\n%s", sub, err, testUsage)
	}
	switch sub {
	case "run":
		suite, err := findSuite(ctx, st, *suiteRef, *botRef)
		if err != nil {
			return err
		}
		return testRun(ctx, cfg, st, log, suite, *version, *junit, *asJSON, stdout)
	case "export":
		suite, err := findSuite(ctx, st, *suiteRef, *botRef)
		if err != nil {
			return err
		}
		f, err := qa.Export(ctx, st, suite.ID)
		if err != nil {
			return fmt.Errorf("test export: %s", models.ErrorMessage(err))
		}
		return f.WriteYAML(stdout)
	case "import":
		if fs.NArg() != 1 {
			return errors.New(testUsage)
		}
		var data []byte
		var err error
		if name := fs.Arg(0); name == "-" {
			data, err = io.ReadAll(io.LimitReader(stdin, 16<<20))
		} else {
			data, err = os.ReadFile(name)
		}
		if err != nil {
			return fmt.Errorf("test import: %w", err)
		}
		f, err := qa.ParseFile(data)
		if err != nil {
			return fmt.Errorf("test import: %s", models.ErrorMessage(err))
		}
		res, err := qa.Import(ctx, st, f, "cli")
		if err != nil {
			return fmt.Errorf("test import: %s", models.ErrorMessage(err))
		}
		verb := "updated"
		if res.SuiteCreated {
			verb = "created"
		}
		fmt.Fprintf(stdout, "suite %q %s (id %s): %d case(s) created, %d updated, %d deleted; %d retrieval check(s)\n",
			res.Suite.Name, verb, res.Suite.ID, res.Created, res.Updated, res.Deleted, res.Checks)
		return nil
	}
	return fmt.Errorf("unknown test command %q\n%s", sub, testUsage)
}

// findSuite finds a suite by id, or by name (with its bot when several bots
// have a suite of that name).
func findSuite(ctx context.Context, st *store.Store, ref, botRef string) (*models.TestSuite, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, errors.New("--suite is required\n" + testUsage)
	}
	if models.ValidID(ref) {
		if s, err := st.FindSuite(ctx, ref); err == nil {
			return s, nil
		}
	}
	f := store.SuiteFilter{Name: ref, Page: models.Page{Limit: 10}}
	if botRef != "" {
		bot, err := st.FindBotByRef(ctx, botRef)
		if err != nil {
			return nil, fmt.Errorf("--bot: %s", models.ErrorMessage(err))
		}
		f.BotID = bot.ID
	}
	suites, _, err := st.FindSuites(ctx, f)
	if err != nil {
		return nil, err
	}
	switch len(suites) {
	case 0:
		return nil, fmt.Errorf("no test suite is named or has the id %q", ref)
	case 1:
		return &suites[0], nil
	}
	var bots []string
	for _, s := range suites {
		bots = append(bots, suiteLabel(s))
	}
	return nil, fmt.Errorf("several suites are named %q (%s): add --bot or use the suite's id", ref, strings.Join(bots, "; "))
}

func suiteLabel(s models.TestSuite) string {
	if s.Bot != nil {
		return s.Bot.Name + " › " + s.Name
	}
	return s.Name
}

// testRun runs a suite in this process, against the configured database,
// prints the outcome and writes JUnit; it fails when anything failed.
func testRun(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger, suite *models.TestSuite, version int, junit string, asJSON bool, stdout io.Writer) error {
	parts, err := build(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	defer func() {
		parts.queue.Abandon() // the CLI answers no channel: the queue never starts
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		defer cancel()
		_ = parts.qa.Shutdown(sctx)
		_ = parts.turns.Shutdown(sctx)
	}()
	in := qa.RunInput{SuiteID: suite.ID, StartedBy: "cli"}
	if version > 0 {
		in.Target, in.Version = models.TargetVersion, version
	}
	start := time.Now()
	run, err := parts.qa.Create(ctx, in)
	if err != nil {
		return fmt.Errorf("test run: %s", models.ErrorMessage(err))
	}
	run, err = parts.qa.Run(ctx, run.ID)
	if err != nil {
		return fmt.Errorf("test run: %s", models.ErrorMessage(err))
	}
	results, err := qa.Results(context.WithoutCancel(ctx), st, run.ID)
	if err != nil {
		return err
	}
	if junit != "" {
		f, err := os.Create(junit)
		if err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
		werr := qa.WriteJUnit(f, suite, run, results)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("--junit: %w", werr)
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(api.ToRunJSON(run, results)); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "suite %q against %s\n", suite.Name, run.TargetLabel())
		for _, r := range results {
			mark := map[string]string{models.ResultPass: "PASS", models.ResultFail: "FAIL", models.ResultError: "ERROR"}[r.Status]
			if mark == "" {
				mark = strings.ToUpper(r.Status)
			}
			line := fmt.Sprintf("%-5s %s", mark, r.Name)
			if r.Message != "" && r.Status != models.ResultPass {
				line += ": " + r.Message
			}
			fmt.Fprintln(stdout, line)
		}
		fmt.Fprintf(stdout, "%d passed, %d failed\n", run.Passed, run.Failed+run.Errored)
		fmt.Fprintf(stdout, "run %s: %s in %s\n", run.ID, run.Status, time.Since(start).Round(time.Millisecond))
	}
	if run.Status != models.RunPassed {
		return errTestsFailed{run}
	}
	return nil
}
