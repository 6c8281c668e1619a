// Package qa runs Parley's regression tests: a suite's test cases are
// replayed turn by turn in scratch conversations (marked as test data) through
// the turn service, so every replayed turn is a real typed turn with its
// records, calls and prompt, and each case's assertions are checked against
// those typed records; a suite's retrieval checks search its datasets as a
// turn would. Runs are background jobs that write each case's result as it
// finishes: on start-up a run a stop left running resumes from its first
// unfinished case (the one in flight is run again, in a fresh scratch
// conversation). Replays send a conversation's user messages again to a
// scratch copy and diff every turn.
package qa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"parley/app/engine"
	"parley/app/live"
	"parley/models"
	"parley/models/store"
)

// EventProgress is the live event a run or replay publishes as it advances.
const EventProgress = "progress"

// RunTopic is the live topic of a run's progress.
func RunTopic(runID string) string { return "qa-run:" + runID }

// ReplayTopic is the live topic of a replay's progress.
func ReplayTopic(replayID string) string { return "qa-replay:" + replayID }

// Options are the runner's collaborators; all but Parallel are required.
type Options struct {
	Store *store.Store
	// Turns answers every replayed turn (and records it).
	Turns *engine.Service
	// Broker carries progress to live views (the run page's progress bar).
	Broker engine.Publisher
	// Providers resolves the model of an LLM judge.
	Providers engine.Resolver
	// Retriever searches datasets for retrieval checks as turns do (nil:
	// keyword search only).
	Retriever engine.Retriever
	Logger    *slog.Logger
	// Parallel is how many cases of a run are replayed at once (default 2).
	Parallel int
}

// Runner runs suites and replays in the background, under a context that
// Shutdown waits for.
type Runner struct {
	opts    Options
	st      *store.Store
	log     *slog.Logger
	base    context.Context
	cancel  context.CancelFunc
	running sync.WaitGroup
	// stopping: shutdown has begun; runs stop between cases and stay
	// "running" in the database, to resume on the next start.
	stopping atomic.Bool
	mu       sync.Mutex
	active   map[string]context.CancelFunc // run and replay id → cancel
}

// New makes a runner; it refuses missing collaborators.
func New(o Options) (*Runner, error) {
	if o.Store == nil || o.Turns == nil || o.Broker == nil || o.Providers == nil || o.Logger == nil {
		return nil, errors.New("qa: New needs a store, the turn service, a broker, the provider resolver and a logger")
	}
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	r := &Runner{opts: o, st: o.Store, log: o.Logger, active: map[string]context.CancelFunc{}}
	r.base, r.cancel = context.WithCancel(context.Background())
	return r, nil
}

// errStopping refuses new work while the server shuts down.
var errStopping = models.Errorf(models.CodeUnavailable, "Parley is restarting: start the run again in a few seconds.")

// RunInput is what to run: a suite against its bot's current configuration,
// a chosen version, or a draft.
type RunInput struct {
	SuiteID string
	Target  string // models.TargetCurrent (default), TargetVersion, TargetDraft
	Version int    // for TargetVersion
	Draft   *Draft // for TargetDraft
	// StartedBy names who started it (an operator's email, "cli", "API: …").
	StartedBy string
}

// Draft is an unsaved edit of a bot's backstory and settings to try: the
// rest (datasets with their retrieval settings, skillsets) is the latest
// version's.
type Draft struct {
	Backstory  string `json:"backstory" validate:"max=100000"`
	Model      string `json:"model" validate:"max=200"`
	Moderation bool   `json:"moderation"`
}

// pin works out the configuration a run or replay of bot answers with.
// Errors: invalid (named by field), not_found (the version).
func (r *Runner) pin(ctx context.Context, botID, target string, version int, draft *Draft) (*models.PinnedConfig, string, error) {
	switch target {
	case "", models.TargetCurrent:
		latest, err := r.st.LatestBotVersion(ctx, botID)
		if err != nil {
			return nil, "", err
		}
		if latest == nil {
			return nil, "", models.Errorf(models.CodeNotFound, "The bot has no version to run against.")
		}
		version = latest.Number
		target = models.TargetCurrent
	case models.TargetVersion:
		if version < 1 {
			return nil, "", models.FieldError("version", "Choose a version.")
		}
	case models.TargetDraft:
		if draft == nil || strings.TrimSpace(draft.Backstory) == "" {
			return nil, "", models.FieldError("backstory", "Write the draft backstory to try.")
		}
		if err := models.Validate(draft); err != nil {
			return nil, "", err
		}
		latest, err := r.st.LatestBotVersion(ctx, botID)
		if err != nil {
			return nil, "", err
		}
		if latest == nil {
			return nil, "", models.Errorf(models.CodeNotFound, "The bot has no version to start the draft from.")
		}
		v, err := r.st.FindBotVersion(ctx, botID, latest.Number)
		if err != nil {
			return nil, "", err
		}
		snap := v.Snapshot
		snap.Backstory, snap.Moderation = draft.Backstory, draft.Moderation
		if m := strings.TrimSpace(draft.Model); m != "" {
			snap.Model = m
		}
		return &models.PinnedConfig{Snapshot: snap}, target, nil
	default:
		return nil, "", models.FieldError("target", "Choose what to run against: current, version or draft.")
	}
	v, err := r.st.FindBotVersion(ctx, botID, version)
	if models.ErrorCode(err) == models.CodeNotFound {
		return nil, "", models.FieldError("version", fmt.Sprintf("The bot has no version %d.", version))
	}
	if err != nil {
		return nil, "", err
	}
	return &models.PinnedConfig{VersionID: v.ID, Version: v.Number, Snapshot: v.Snapshot}, target, nil
}

// Create stores a queued run of a suite (with a pending result per case and
// check) without starting it. Errors: not_found (the suite, the version),
// invalid (the target, or nothing to run).
func (r *Runner) Create(ctx context.Context, in RunInput) (*models.TestRun, error) {
	suite, err := r.st.FindSuite(ctx, in.SuiteID)
	if err != nil {
		return nil, err
	}
	pinned, target, err := r.pin(ctx, suite.BotID, in.Target, in.Version, in.Draft)
	if err != nil {
		return nil, err
	}
	return r.st.CreateRun(ctx, models.TestRun{SuiteID: suite.ID, Target: target, Version: pinned.Version, Pinned: pinned,
		StartedBy: models.TruncateUTF8(in.StartedBy, 254)})
}

// Start creates a run and runs it in the background; progress is published
// as each case finishes.
func (r *Runner) Start(ctx context.Context, in RunInput) (*models.TestRun, error) {
	if r.stopping.Load() {
		return nil, errStopping
	}
	run, err := r.Create(ctx, in)
	if err != nil {
		return nil, err
	}
	r.spawn(run.ID, false)
	return run, nil
}

// spawn runs a stored run in the background.
func (r *Runner) spawn(runID string, resumed bool) {
	r.running.Add(1)
	go func() {
		defer r.running.Done()
		if _, err := r.exec(r.base, runID, resumed); err != nil && models.ErrorCode(err) != models.CodeConflict {
			r.log.Error("qa: run failed", "run_id", runID, "error", err)
		}
	}()
}

// Run runs a stored run to its end in the caller's goroutine (the CLI) and
// returns it finished. Errors: conflict (another process runs it).
func (r *Runner) Run(ctx context.Context, runID string) (*models.TestRun, error) {
	r.running.Add(1)
	defer r.running.Done()
	return r.exec(ctx, runID, false)
}

// Cancel asks a run to stop: its running case is abandoned, what is left is
// skipped and the run is marked cancelled. It works from any instance (the
// request is stored; the runner reads it between cases).
func (r *Runner) Cancel(ctx context.Context, runID string) error {
	if err := r.st.RequestCancel(ctx, runID); err != nil {
		return err
	}
	r.mu.Lock()
	cancel := r.active[runID]
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return nil
}

// Resume picks up, at start-up, the runs and replays a stop left queued or
// running: a run resumes from its first unfinished case (the run says how
// many restarts it survived); a replay, which cannot be resumed halfway (its
// scratch conversation's history would differ), is marked interrupted. Work
// another live instance holds is left to it.
func (r *Runner) Resume(ctx context.Context) error {
	err := store.EachPage(resumePage, func(after string, n int) ([]models.TestRun, error) { return r.st.UnfinishedRuns(ctx, after, n) },
		func(run models.TestRun) string { return run.ID },
		func(runs []models.TestRun) error {
			for _, run := range runs {
				r.log.Info("qa: resuming run", "run_id", run.ID, "done", run.Done, "total", run.Total)
				r.spawn(run.ID, true)
			}
			return nil
		})
	if err != nil {
		return err
	}
	return store.EachPage(resumePage, func(after string, n int) ([]models.Replay, error) { return r.st.UnfinishedReplays(ctx, after, n) },
		func(rp models.Replay) string { return rp.ID },
		func(replays []models.Replay) error {
			for _, rp := range replays {
				if err := r.interruptReplay(ctx, rp.ID); err != nil {
					return err
				}
			}
			return nil
		})
}

// resumePage is how many runs, then replays, Resume reads at a time.
var resumePage = 100

// interruptReplay marks a replay a stop left unfinished interrupted, unless
// another live instance replays it now.
func (r *Runner) interruptReplay(ctx context.Context, id string) error {
	unlock, ok, err := r.st.TryLock(ctx, ReplayTopic(id))
	if err != nil || !ok {
		return err
	}
	defer unlock()
	if err := r.st.FinishReplay(ctx, id, models.RunInterrupted, "Parley stopped while the conversation was being replayed: replay it again."); err != nil {
		return err
	}
	r.log.Warn("qa: replay interrupted by a stop", "replay_id", id)
	return nil
}

// Shutdown stops taking work: runs stop after the turn they wait for and stay
// running in the database (they resume on the next start); it waits for them
// until ctx ends, then cancels what is left.
func (r *Runner) Shutdown(ctx context.Context) error {
	r.stopping.Store(true)
	done := make(chan struct{})
	go func() { r.running.Wait(); close(done) }()
	defer r.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("qa: shutdown: runs still going when the grace period ended")
	}
}

// publish tells live views that a run or replay moved on.
func (r *Runner) publish(topic string) {
	r.opts.Broker.Publish(live.Event{Type: EventProgress, ConversationID: topic})
}

// track registers a cancel for a run or replay and returns its untrack.
func (r *Runner) track(id string, cancel context.CancelFunc) func() {
	r.mu.Lock()
	r.active[id] = cancel
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.active, id)
		r.mu.Unlock()
		cancel()
	}
}

// errAbandoned is a case left unfinished: the run was cancelled or the
// server is stopping.
var errAbandoned = errors.New("qa: case abandoned")

// exec runs a run's pending results, Parallel at a time, holding the run's
// lock (so two instances never run one run), then finishes it.
func (r *Runner) exec(ctx context.Context, runID string, resumed bool) (*models.TestRun, error) {
	unlock, ok, err := r.st.TryLock(ctx, RunTopic(runID))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, models.Errorf(models.CodeConflict, "Another Parley process is running this run.")
	}
	defer unlock()
	run, err := r.st.MarkRunRunning(ctx, runID, resumed)
	if err != nil {
		return nil, err
	}
	r.publish(RunTopic(runID))
	ctx, cancel := context.WithCancel(ctx)
	defer r.track(runID, cancel)()

	work := make(chan models.TestResult)
	var wg sync.WaitGroup
	var abandoned atomic.Bool
	for range r.opts.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for res := range work {
				if abandoned.Load() {
					continue
				}
				out, err := r.runItem(ctx, run, res)
				if errors.Is(err, errAbandoned) || ctx.Err() != nil {
					abandoned.Store(true)
					continue
				}
				if err != nil {
					out.Status, out.Message = models.ResultError, models.ErrorMessage(err)
					if models.ErrorCode(err) == models.CodeInternal {
						r.log.Error("qa: case failed to run", "run_id", runID, "seq", res.Seq, "error", err)
					}
				}
				if _, err := r.st.FinishResult(context.WithoutCancel(ctx), out); err != nil {
					r.log.Error("qa: store result", "run_id", runID, "seq", res.Seq, "error", err)
					abandoned.Store(true)
					continue
				}
				r.publish(RunTopic(runID))
			}
		}()
	}
	afterSeq := 0
feed:
	for {
		pending, err := r.st.PendingResults(ctx, runID, afterSeq, 50)
		if err != nil || len(pending) == 0 {
			break
		}
		for _, p := range pending {
			afterSeq = p.Seq
			if r.stop(ctx, runID) || abandoned.Load() {
				break feed
			}
			select {
			case work <- p:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(work)
	wg.Wait()

	bg := context.WithoutCancel(ctx)
	cancelled, err := r.st.CancelRequested(bg, runID)
	if err != nil {
		return nil, err
	}
	switch {
	case cancelled:
		run, err = r.st.FinishRun(bg, runID, models.RunCancelled, "The run was cancelled before this case ran.")
	case r.stopping.Load() || (abandoned.Load() && ctx.Err() != nil):
		// Left running on purpose: the next start resumes it.
		r.log.Info("qa: run paused by a stop; it resumes on the next start", "run_id", runID)
		return r.st.FindRun(bg, runID)
	default:
		left, perr := r.st.PendingResults(bg, runID, 0, 1)
		if perr != nil {
			return nil, perr
		}
		if len(left) > 0 {
			return r.st.FindRun(bg, runID) // a store failure stopped it: resumed on the next start
		}
		run, err = r.st.FinishRun(bg, runID, "", "")
	}
	if err != nil {
		return nil, err
	}
	r.publish(RunTopic(runID))
	return run, nil
}

// stop reports whether the run must stop taking cases: cancelled here or
// from another instance, or the server is stopping.
func (r *Runner) stop(ctx context.Context, runID string) bool {
	if r.stopping.Load() || ctx.Err() != nil {
		return true
	}
	cancelled, err := r.st.CancelRequested(ctx, runID)
	return err == nil && cancelled
}

// runItem runs one pending result: a case or a retrieval check.
func (r *Runner) runItem(ctx context.Context, run *models.TestRun, res models.TestResult) (models.TestResult, error) {
	start := time.Now()
	var err error
	switch {
	case res.CaseID != nil:
		err = r.runCase(ctx, run, &res)
	case res.CheckID != nil:
		err = r.runCheck(ctx, &res)
	default:
		err = models.Errorf(models.CodeInvalid, "This result names no case or check.")
	}
	res.DurationMs = time.Since(start).Milliseconds()
	if err == nil {
		res.Status, res.Message = models.ResultPass, ""
		for _, a := range res.Assertions {
			if !a.Pass {
				res.Status = models.ResultFail
				if res.Message == "" {
					res.Message = failureMessage(a)
				}
			}
		}
	}
	return res, err
}

// failureMessage says which assertion failed and why.
func failureMessage(a models.AssertionResult) string {
	where := ""
	if a.Turn > 0 {
		where = fmt.Sprintf("turn %d: ", a.Turn)
	}
	return where + a.Label + ": " + a.Message
}

// runCase replays a case's turns in a fresh scratch conversation and checks
// each turn's assertions.
func (r *Runner) runCase(ctx context.Context, run *models.TestRun, res *models.TestResult) error {
	c, err := r.st.FindCase(ctx, *res.CaseID)
	if models.ErrorCode(err) == models.CodeNotFound {
		return models.Errorf(models.CodeNotFound, "The case was deleted after the run started.")
	}
	if err != nil {
		return err
	}
	res.Name = c.Name
	botID := run.BotID
	conv, err := r.st.CreateConversation(ctx, models.Conversation{BotID: &botID, Kind: models.ConversationTest, Pinned: run.Pinned,
		Name: models.TruncateUTF8("Test: "+c.Name, 200), Meta: models.Meta{"runId": run.ID, "caseId": c.ID}}, nil)
	if err != nil {
		return err
	}
	res.ConversationID = &conv.ID
	judge := r.judge()
	for i, turn := range c.Turns {
		if i > 0 && (r.stopping.Load() || ctx.Err() != nil) {
			return errAbandoned
		}
		out, err := r.opts.Turns.Complete(ctx, conv.ID, engine.Input{Text: turn.User}, nil)
		if ctx.Err() != nil {
			return errAbandoned
		}
		if err != nil {
			if r.stopping.Load() {
				return errAbandoned
			}
			return models.Errorf(models.CodeUnavailable, "Turn %d could not be sent: %s", i+1, models.ErrorMessage(err))
		}
		seen, err := r.observe(ctx, conv.ID, out)
		if err != nil {
			return err
		}
		res.Assertions = append(res.Assertions, evaluateTurn(ctx, i+1, turn.Expect, seen, judge)...)
	}
	return nil
}

// observe reads back what a replayed turn did, as the store has it.
func (r *Runner) observe(ctx context.Context, convID string, out *engine.Result) (observed, error) {
	t, err := r.st.FindTurn(ctx, out.Turn.ID)
	if err != nil {
		return observed{}, err
	}
	o := observed{turn: t}
	if t.BotMessageID != nil {
		msgs, err := r.st.FindMessagesByID(ctx, convID, *t.BotMessageID)
		if err != nil {
			return observed{}, err
		}
		if m := msgs[*t.BotMessageID]; m != nil {
			o.text, o.messageID = m.Text, m.ID
		}
	}
	if o.messageID == "" && t.ErrorMessageID != nil {
		o.messageID = *t.ErrorMessageID
	}
	return o, nil
}
