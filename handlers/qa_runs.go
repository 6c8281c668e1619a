package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"parley/app/qa"
	"parley/models"
	"parley/models/store"
)

// chartRuns is how many runs the pass-rate chart and history table show.
const chartRuns = 30

// chartPoint is one run on the pass-rate chart.
type chartPoint struct {
	X, Y float64
	Rate int
	Run  models.TestRun
	N    int // the run's number in the chart, oldest first
}

// chartView is a server-rendered SVG chart of pass rate over time: a line
// with labelled points (readable without colour) and a table beside it.
type chartView struct {
	Width, Height float64
	Points        []chartPoint
	Line          string
}

// passRateChart draws the finished runs of runs (newest first) oldest to newest.
func passRateChart(runs []models.TestRun) chartView {
	v := chartView{Width: 600, Height: 200}
	var done []models.TestRun
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Status == models.RunPassed || runs[i].Status == models.RunFailed {
			done = append(done, runs[i])
		}
	}
	const left, right, top, bottom = 40.0, 20.0, 20.0, 30.0
	w, h := v.Width-left-right, v.Height-top-bottom
	for i, r := range done {
		x := left + w/2
		if len(done) > 1 {
			x = left + w*float64(i)/float64(len(done)-1)
		}
		rate := r.PassRate()
		p := chartPoint{X: x, Y: top + h*(1-float64(rate)/100), Rate: rate, Run: r, N: i + 1}
		v.Points = append(v.Points, p)
		if i > 0 {
			v.Line += " "
		}
		v.Line += fmt.Sprintf("%.1f,%.1f", p.X, p.Y)
	}
	return v
}

// comparison is a run compared with the suite's previous finished run.
type comparison struct {
	Previous       *models.TestRun
	NewlyFailing   []store.ResultOutcome
	NewlyPassing   []store.ResultOutcome
	StillFailing   []store.ResultOutcome
	NotInPrevious  int
	NotInThisRun   int
	StillPassingNo int
}

func isFailing(status string) bool {
	return status == models.ResultFail || status == models.ResultError
}

// compareRuns works out what changed since the previous run, item by item.
func (s *Server) compareRuns(ctx context.Context, run *models.TestRun) (*comparison, error) {
	prev, err := s.store.PreviousRun(ctx, run)
	if err != nil || prev == nil {
		return nil, err
	}
	now, err := s.store.RunOutcomes(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	then, err := s.store.RunOutcomes(ctx, prev.ID)
	if err != nil {
		return nil, err
	}
	before := map[string]string{}
	for _, o := range then {
		before[o.Key()] = o.Status
	}
	cmp := &comparison{Previous: prev}
	seen := map[string]bool{}
	for _, o := range now {
		seen[o.Key()] = true
		was, ok := before[o.Key()]
		switch {
		case !ok:
			cmp.NotInPrevious++
		case isFailing(o.Status) && !isFailing(was):
			cmp.NewlyFailing = append(cmp.NewlyFailing, o)
		case !isFailing(o.Status) && isFailing(was) && o.Status == models.ResultPass:
			cmp.NewlyPassing = append(cmp.NewlyPassing, o)
		case isFailing(o.Status) && isFailing(was):
			cmp.StillFailing = append(cmp.StillFailing, o)
		case o.Status == models.ResultPass:
			cmp.StillPassingNo++
		}
	}
	for _, o := range then {
		if !seen[o.Key()] {
			cmp.NotInThisRun++
		}
	}
	return cmp, nil
}

type runPage struct {
	Page
	Run     *models.TestRun
	Suite   *models.TestSuite
	Results []models.TestResult
	Next    int
	After   int
	Compare *comparison
}

// handleRunShow handles GET /qa/runs/:id: the run's progress (live while it
// runs), its results per case and per assertion with each replayed turn's
// timeline one click away, and what changed since the previous run.
func (s *Server) handleRunShow(c *fiber.Ctx) error {
	ctx := c.UserContext()
	run, err := s.store.FindRun(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	suite, err := s.store.FindSuite(ctx, run.SuiteID)
	if err != nil {
		return err
	}
	after := 0
	if cur := c.Query("after"); cur != "" {
		if after, err = strconv.Atoi(cur); err != nil || after < 0 {
			return models.Errorf(models.CodeInvalid, "The page link is not valid (bad cursor). Go back to the first page.")
		}
	}
	rs, next, err := s.store.FindResults(ctx, run.ID, after, models.MaxPageSize)
	if err != nil {
		return err
	}
	d := runPage{Page: s.page(c, fmt.Sprintf("%s: run %s", suite.Name, shortID(run.ID)), "qa"), Run: run, Suite: suite, Results: rs, Next: next, After: after}
	if models.RunFinished(run.Status) {
		if d.Compare, err = s.compareRuns(ctx, run); err != nil {
			return err
		}
	}
	return s.render(c, fiber.StatusOK, tplQARunShow, d)
}

// progressJSON is what a run's event stream sends.
type progressJSON struct {
	Status   string `json:"status"`
	Done     int    `json:"done"`
	Total    int    `json:"total"`
	Passed   int    `json:"passed"`
	Failed   int    `json:"failed"`
	Errored  int    `json:"errored"`
	Percent  int    `json:"percent"`
	Finished bool   `json:"finished"`
}

// streamProgress serves Server-Sent Events: a "progress" event now and on
// every progress event of topic, read fresh from the store by read, until
// the work is finished (or the stream's time is up: EventSource reconnects).
func (s *Server) streamProgress(c *fiber.Ctx, topic string, read func(context.Context) (progressJSON, error)) error {
	events, cancel := s.broker.Subscribe(topic)
	life := min(sseMaxDuration, s.cfg.Timeouts.Stream)
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer cancel()
		send := func() bool {
			ctx, done := context.WithTimeout(s.streams, 5*time.Second)
			defer done()
			p, err := read(ctx)
			if err != nil {
				return false
			}
			b, _ := json.Marshal(p)
			if _, err := fmt.Fprintf(w, "event: progress\ndata: %s\n\n", b); err != nil || w.Flush() != nil {
				return false
			}
			return !p.Finished
		}
		fmt.Fprint(w, "retry: 2000\n: connected\n\n")
		if !send() {
			return
		}
		tick := time.NewTicker(sseKeepAlive)
		defer tick.Stop()
		end := time.NewTimer(life)
		defer end.Stop()
		for {
			select {
			case _, ok := <-events:
				if !ok || !send() {
					return
				}
			case <-tick.C:
				fmt.Fprint(w, ": keep-alive\n\n")
				if w.Flush() != nil {
					return
				}
			case <-s.streams.Done():
				return
			case <-end.C:
				return
			}
		}
	})
	return nil
}

// handleRunEvents handles GET /qa/runs/:id/events: the run's progress as
// Server-Sent Events ("progress": done, total, pass and fail counts, status).
func (s *Server) handleRunEvents(c *fiber.Ctx) error {
	run, err := s.store.FindRun(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	id := run.ID
	return s.streamProgress(c, qa.RunTopic(id), func(ctx context.Context) (progressJSON, error) {
		r, err := s.store.FindRun(ctx, id)
		if err != nil {
			return progressJSON{}, err
		}
		return progressJSON{Status: r.Status, Done: r.Done, Total: r.Total, Passed: r.Passed, Failed: r.Failed, Errored: r.Errored,
			Percent: r.Percent(), Finished: models.RunFinished(r.Status)}, nil
	})
}

// handleRunJUnit handles GET /qa/runs/:id/junit: the run as JUnit XML.
func (s *Server) handleRunJUnit(c *fiber.Ctx) error {
	ctx := c.UserContext()
	run, err := s.store.FindRun(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	suite, err := s.store.FindSuite(ctx, run.SuiteID)
	if err != nil {
		return err
	}
	rs, err := qa.Results(ctx, s.store, run.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/xml; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="parley-run-`+shortID(run.ID)+`.xml"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return qa.WriteJUnit(c.Response().BodyWriter(), suite, run, rs)
}

// handleRunCancel handles POST /qa/runs/:id/cancel.
func (s *Server) handleRunCancel(c *fiber.Ctx) error {
	run, err := s.store.FindRun(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.qa.Cancel(c.UserContext(), run.ID); err != nil {
		return err
	}
	setFlash(c, "Cancelling: the case running now is abandoned and the rest are skipped.")
	return redirect(c, "/qa/runs/"+run.ID)
}

// ---- replays ----

type replayForm struct {
	Target  string `form:"target" validate:"omitempty,oneof=current version"`
	Version string `form:"version" validate:"max=10"`
}

type replayFormPage struct {
	Page
	Conv     conversationItem
	Versions []models.BotVersion
	Form     replayForm
	Errors   map[string]string
	Replays  []models.Replay
}

func (s *Server) renderReplayForm(c *fiber.Ctx, status int, f replayForm, errs map[string]string) error {
	ctx := c.UserContext()
	conv, err := s.store.FindConversation(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	d := replayFormPage{Conv: newConversationItem(*conv, operator(c)), Form: f, Errors: errs}
	if conv.BotID != nil {
		if d.Versions, err = s.store.BotVersionNumbers(ctx, *conv.BotID, pickerVersions); err != nil {
			return err
		}
	}
	if d.Replays, _, err = s.store.FindReplays(ctx, conv.ID, models.Page{Limit: 10}); err != nil {
		return err
	}
	d.Page = s.page(c, "Replay "+d.Conv.Title, "qa")
	return s.render(c, status, tplQAReplayForm, d)
}

// handleReplayForm handles GET /conversations/:id/replay: replay against
// the current configuration or a chosen version.
func (s *Server) handleReplayForm(c *fiber.Ctx) error {
	return s.renderReplayForm(c, fiber.StatusOK, replayForm{Target: models.TargetCurrent}, nil)
}

// handleReplayStart handles POST /conversations/:id/replay: each original
// user message is sent, in order, to a scratch copy; the original is not
// touched.
func (s *Server) handleReplayStart(c *fiber.Ctx) error {
	var f replayForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	err := models.Validate(f)
	in := qa.ReplayInput{ConversationID: c.Params("id"), Target: f.Target, StartedBy: operator(c).Email}
	if err == nil && f.Target == models.TargetVersion {
		n, perr := strconv.Atoi(f.Version)
		if perr != nil || n < 1 {
			err = models.FieldError("version", "Choose a version.")
		}
		in.Version = n
	}
	var rp *models.Replay
	if err == nil {
		rp, err = s.qa.StartReplay(c.UserContext(), in)
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderReplayForm(c, fiber.StatusUnprocessableEntity, f, fields)
	}
	if models.ErrorCode(err) == models.CodeInvalid {
		return s.renderReplayForm(c, fiber.StatusUnprocessableEntity, f, map[string]string{"target": models.ErrorMessage(err)})
	}
	if err != nil {
		return err
	}
	return redirect(c, "/qa/replays/"+rp.ID)
}

type replaysPage struct {
	Page
	Replays []models.Replay
	Titles  map[string]string
	Next    string
	Cursor  string
}

// handleReplays handles GET /qa/replays: every replay, newest first.
func (s *Server) handleReplays(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	rps, next, err := s.store.FindReplays(c.UserContext(), "", p)
	if err != nil {
		return err
	}
	titles := map[string]string{}
	for _, rp := range rps {
		if _, ok := titles[rp.SourceConversationID]; ok {
			continue
		}
		if conv, err := s.store.FindConversation(c.UserContext(), rp.SourceConversationID); err == nil {
			titles[rp.SourceConversationID] = newConversationItem(*conv, operator(c)).Title
		}
	}
	return s.render(c, fiber.StatusOK, tplQAReplays, replaysPage{Page: s.page(c, "Replays", "qa"), Replays: rps, Titles: titles, Next: next, Cursor: p.Cursor})
}

type replayPage struct {
	Page
	Replay *models.Replay
	Source conversationItem
	Turns  []qa.TurnDiff
}

// Changed counts the replayed turns that changed.
func (p replayPage) Changed() int {
	n := 0
	for i := range p.Turns {
		if p.Turns[i].Changed() {
			n++
		}
	}
	return n
}

// handleReplayShow handles GET /qa/replays/:id: original and new answers
// side by side per turn, with a word diff, retrieved records (added,
// removed, score changes), ability calls (added, removed, argument
// changes), latency and tokens, and how many turns changed.
func (s *Server) handleReplayShow(c *fiber.Ctx) error {
	ctx := c.UserContext()
	rp, err := s.store.FindReplay(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	src, err := s.store.FindConversation(ctx, rp.SourceConversationID)
	if err != nil {
		return err
	}
	rows, err := s.store.FindReplayTurns(ctx, rp.ID)
	if err != nil {
		return err
	}
	scratch := ""
	if rp.ConversationID != nil {
		scratch = *rp.ConversationID
	}
	ds, err := qa.Diff(ctx, s.store, src.ID, scratch, rows)
	if err != nil {
		return err
	}
	it := newConversationItem(*src, operator(c))
	return s.render(c, fiber.StatusOK, tplQAReplayShow, replayPage{Page: s.page(c, "Replay of "+it.Title, "qa"), Replay: rp, Source: it, Turns: ds})
}

// handleReplayEvents handles GET /qa/replays/:id/events: the replay's
// progress as Server-Sent Events.
func (s *Server) handleReplayEvents(c *fiber.Ctx) error {
	rp, err := s.store.FindReplay(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	id := rp.ID
	return s.streamProgress(c, qa.ReplayTopic(id), func(ctx context.Context) (progressJSON, error) {
		r, err := s.store.FindReplay(ctx, id)
		if err != nil {
			return progressJSON{}, err
		}
		return progressJSON{Status: r.Status, Done: r.Done, Total: r.Total, Failed: r.Changed, Percent: r.Percent(),
			Finished: models.RunFinished(r.Status)}, nil
	})
}

// ---- the bot's History page ----

// gateView is what a bot's History page shows of QA: its suites (to run
// one against a version) and, when a suite gates its versions, each
// version's verdict.
type gateView struct {
	Suites []models.TestSuite
	Gate   *models.TestSuite
	Runs   map[int]*models.TestRun
	CSRF   string
	CanRun bool
	BotID  string
	Latest int
}

// Badge is a version's gate verdict in words (not colour alone).
func (g gateView) Badge(version int) string {
	if g.Gate == nil {
		return ""
	}
	r := g.Runs[version]
	switch {
	case r == nil:
		return "not run against " + g.Gate.Name
	case r.Status == models.RunPassed:
		return fmt.Sprintf("passes %s (%d/%d)", g.Gate.Name, r.Passed, r.Done)
	}
	return fmt.Sprintf("fails %s (%d/%d)", g.Gate.Name, r.Passed, r.Done)
}

// BadgeRun is the run behind a version's badge (nil when none).
func (g gateView) BadgeRun(version int) *models.TestRun {
	if g.Gate == nil {
		return nil
	}
	return g.Runs[version]
}

// gateFor loads what the History page shows of QA for these versions.
func (s *Server) gateFor(c *fiber.Ctx, botID string, versions []int) (gateView, error) {
	g := gateView{CSRF: csrfToken(c), CanRun: operator(c).Can(models.PermQARun), BotID: botID}
	if !operator(c).Can(models.PermQARead) {
		return g, nil
	}
	ctx := c.UserContext()
	suites, _, err := s.store.FindSuites(ctx, store.SuiteFilter{BotID: botID, Page: models.Page{Limit: models.MaxSuitesListed}})
	if err != nil {
		return g, err
	}
	g.Suites = suites
	for i := range suites {
		if suites[i].Gate {
			g.Gate = &suites[i]
		}
	}
	if g.Gate != nil {
		if g.Runs, err = s.store.GateRuns(ctx, g.Gate.ID, versions); err != nil {
			return g, err
		}
	}
	if len(versions) > 0 {
		g.Latest = slices.Max(versions)
	}
	return g, nil
}
