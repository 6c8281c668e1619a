package qa_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"parley/app/engine"
	"parley/app/engine/ability"
	"parley/app/live"
	"parley/app/provider"
	"parley/app/provider/local"
	"parley/app/qa"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
	"parley/seed"
)

// mirror answers as the local provider does, then says the first line of
// its system prompt (the backstory's): a model whose answers change when
// the backstory does.
type mirror struct{ local.Local }

func (mirror) Name() string { return "mirror" }

func (m mirror) Complete(ctx context.Context, req provider.Request, onToken func(string)) (*provider.Response, error) {
	resp, err := m.Local.Complete(ctx, req, nil)
	if err != nil || len(resp.ToolCalls) > 0 {
		return resp, err
	}
	first, _, _ := strings.Cut(req.Messages[0].Content, "\n")
	resp.Text += "\n\n" + first
	if onToken != nil {
		onToken(resp.Text)
	}
	return resp, nil
}

// grader is an LLM judge that passes answers mentioning 30 days.
type grader struct{}

func (grader) Name() string { return "grader" }

func (grader) Complete(_ context.Context, req provider.Request, _ func(string)) (*provider.Response, error) {
	if strings.Contains(req.Messages[1].Content, "Actual answer:\n") && strings.Contains(strings.SplitN(req.Messages[1].Content, "Actual answer:\n", 2)[1], "30 days") {
		return &provider.Response{Text: `{"score": 0.9, "verdict": "pass", "rationale": "Both give the 30-day refund window."}`}, nil
	}
	return &provider.Response{Text: `Verdict: {"score": 0.1, "verdict": "fail", "rationale": "The refund window is missing."}`}, nil
}

// env is a seeded store with the engine, the turn service and a runner.
type env struct {
	st     *store.Store
	seeded *seed.Result
	turns  *engine.Service
	runner *qa.Runner
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func resolve(_ context.Context, model string) (provider.Provider, string, error) {
	switch model {
	case "mirror":
		return mirror{}, "mirror", nil
	case "grader":
		return grader{}, "grader", nil
	}
	return local.New(), "local", nil
}

func newEnv(t testing.TB, st *store.Store) *env {
	t.Helper()
	ctx := context.Background()
	res, err := seed.Run(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Options{Store: st, Logger: discard(), Providers: resolve,
		Abilities: func(a models.Ability) (engine.Runner, error) {
			r, err := ability.Parse(a)
			if err != nil || r == nil {
				return nil, err
			}
			return r, nil
		}})
	broker := live.NewBroker()
	turns, err := engine.NewService(engine.ServiceOptions{Engine: eng, Store: st, Broker: broker, Logger: discard(), TurnTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	runner, err := qa.New(qa.Options{Store: st, Turns: turns, Broker: broker, Providers: resolve, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = runner.Shutdown(ctx)
		_ = turns.Shutdown(ctx)
	})
	return &env{st: st, seeded: res, turns: turns, runner: runner}
}

// suite makes a suite of the seeded bot holding the case proposed from the
// seeded conversation (its checked assertions).
func (e *env) suite(t testing.TB) (*models.TestSuite, *models.TestCase) {
	t.Helper()
	ctx := context.Background()
	s, err := e.st.CreateSuite(ctx, models.TestSuite{BotID: e.seeded.BotID, Name: "Refunds"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := qa.Propose(ctx, e.st, e.seeded.ConversationID, "")
	if err != nil {
		t.Fatal(err)
	}
	c := p.Case()
	c.SuiteID = s.ID
	tc, err := e.st.CreateCase(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	return s, tc
}

func (e *env) run(t testing.TB, in qa.RunInput) *models.TestRun {
	t.Helper()
	ctx := context.Background()
	run, err := e.runner.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	run, err = e.runner.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func results(t testing.TB, st *store.Store, runID string) []models.TestResult {
	t.Helper()
	rs, err := qa.Results(context.Background(), st, runID)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestSeededConversationBecomesAPassingCase: the case proposed from the
// seeded transcript (user messages and the robust assertions: records
// retrieved, URLs cited) passes against the seeded bot; its replayed turns
// are real turns in a scratch conversation marked as test data and pinned to
// the version run against, and the transcript is untouched. Detaching the
// dataset makes the retrieval assertions fail with a message naming the record.
func TestSeededConversationBecomesAPassingCase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		before, _ := st.CountMessages(ctx, e.seeded.ConversationID)
		suite, tc := e.suite(t)
		if len(tc.Turns) != 3 {
			t.Fatalf("case has %d turns, want the transcript's 3", len(tc.Turns))
		}
		kinds := map[string]int{}
		for _, a := range tc.Turns[0].Expect {
			kinds[a.Kind]++
		}
		if len(kinds) != 2 || kinds[models.AssertRetrieved] == 0 || kinds[models.AssertCites] == 0 {
			t.Errorf("turn 1 proposals kept = %v, want the records cited retrieved and the URLs cited", kinds)
		}

		run := e.run(t, qa.RunInput{SuiteID: suite.ID, StartedBy: "test"})
		rs := results(t, st, run.ID)
		if run.Status != models.RunPassed || run.Passed != 1 || run.Done != 1 || run.Total != 1 || len(rs) != 1 || rs[0].Status != models.ResultPass {
			t.Fatalf("run = %+v, results %+v; want one passing case", run, rs)
		}
		if run.Target != models.TargetCurrent || run.Version != 1 {
			t.Errorf("run target = %s version %d, want current (version 1)", run.Target, run.Version)
		}
		var turns int
		for _, a := range rs[0].Assertions {
			if !a.Pass || a.TurnID == "" {
				t.Errorf("assertion %+v", a)
			}
			turns = max(turns, a.Turn)
		}
		if turns != 3 {
			t.Errorf("assertions cover %d turns, want 3", turns)
		}
		conv, err := st.FindConversation(ctx, *rs[0].ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if conv.Kind != models.ConversationTest || conv.Pinned == nil || conv.Pinned.Version != 1 {
			t.Errorf("scratch conversation kind %q pinned %+v, want a test pinned to version 1", conv.Kind, conv.Pinned)
		}
		t1, err := st.FindTurn(ctx, rs[0].Assertions[0].TurnID)
		if err != nil || t1.BotVersion != 1 || len(t1.Records) == 0 || t1.ConversationID != conv.ID {
			t.Errorf("replayed turn = %+v, %v; want a real turn of version 1 with records", t1, err)
		}
		if after, _ := st.CountMessages(ctx, e.seeded.ConversationID); after != before {
			t.Errorf("the transcript has %d messages after the run, %d before", after, before)
		}
		list, _, err := st.FindConversations(ctx, models.ConversationFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			if c.ID == conv.ID {
				t.Error("the scratch conversation is listed with the real ones")
			}
		}

		if err := st.DetachDataset(ctx, e.seeded.BotID, e.seeded.DatasetID); err != nil {
			t.Fatal(err)
		}
		run = e.run(t, qa.RunInput{SuiteID: suite.ID})
		rs = results(t, st, run.ID)
		if run.Status != models.RunFailed || run.Version != 2 || rs[0].Status != models.ResultFail {
			t.Fatalf("after detaching: run %+v, result %+v; want a failure against version 2", run, rs[0])
		}
		refunds := "https://help.northwind.example/billing/refunds"
		if !strings.Contains(rs[0].Message, refunds) || !strings.Contains(rs[0].Message, "was not retrieved") || !strings.Contains(rs[0].Message, "turn 1") {
			t.Errorf("failure message = %q, want it to name turn 1 and the record %s", rs[0].Message, refunds)
		}

		// Against version 1 (the dataset still attached there) it passes again.
		run = e.run(t, qa.RunInput{SuiteID: suite.ID, Target: models.TargetVersion, Version: 1})
		if run.Status != models.RunPassed {
			t.Errorf("against version 1: %+v", run)
		}
	})
}

// TestDraftRun: a run against an unsaved draft answers with the draft's
// backstory (the bot is not changed); a bad target is a field error.
func TestDraftRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		suite, _ := e.suite(t)
		run := e.run(t, qa.RunInput{SuiteID: suite.ID, Target: models.TargetDraft,
			Draft: &qa.Draft{Backstory: "Draft backstory line.\nMore.", Model: "mirror"}})
		rs := results(t, st, run.ID)
		if run.Target != models.TargetDraft || run.Version != 0 || len(rs) != 1 {
			t.Fatalf("draft run = %+v", run)
		}
		tn, err := st.FindTurn(ctx, rs[0].Assertions[0].TurnID)
		if err != nil || tn.BotVersion != 0 || tn.Provider != "mirror" {
			t.Errorf("draft turn = %+v, %v; want the mirror model, no version", tn, err)
		}
		bot, _ := st.FindBot(ctx, e.seeded.BotID)
		if strings.Contains(bot.Backstory, "Draft backstory") {
			t.Error("the draft was saved to the bot")
		}
		if _, err := e.runner.Create(ctx, qa.RunInput{SuiteID: suite.ID, Target: models.TargetDraft}); models.ErrorFields(err)["backstory"] == "" {
			t.Errorf("a draft without a backstory: %v, want a field error", err)
		}
		if _, err := e.runner.Create(ctx, qa.RunInput{SuiteID: suite.ID, Target: models.TargetVersion, Version: 99}); models.ErrorFields(err)["version"] == "" {
			t.Errorf("version 99: %v, want a field error", err)
		}
	})
}

// TestAssertionsSayWhy checks each kind of assertion against one replayed
// turn, with the message a failure shows.
func TestAssertionsSayWhy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		s, err := st.CreateSuite(ctx, models.TestSuite{BotID: e.seeded.BotID, Name: "Kinds"})
		if err != nil {
			t.Fatal(err)
		}
		refunds := "https://help.northwind.example/billing/refunds"
		expect := []struct {
			a        models.Assertion
			pass     bool
			inReason string
		}{
			{models.Assertion{Kind: models.AssertContains, Text: "30 DAYS"}, true, ""},
			{models.Assertion{Kind: models.AssertContains, Text: "60 days"}, false, "does not contain it"},
			{models.Assertion{Kind: models.AssertNotContains, Text: "refunded in full"}, false, "contains it"},
			{models.Assertion{Kind: models.AssertRegex, Text: `\d+-\d+ business days`}, true, ""},
			{models.Assertion{Kind: models.AssertEquals, Text: "No."}, false, "the answer is"},
			{models.Assertion{Kind: models.AssertCites, Text: refunds}, true, ""},
			{models.Assertion{Kind: models.AssertCites, Text: "https://help.northwind.example/nope"}, false, "cites " + refunds},
			{models.Assertion{Kind: models.AssertRetrieved, Source: refunds, TopK: 1}, true, ""},
			{models.Assertion{Kind: models.AssertRetrieved, Source: refunds, MinScore: 0.99}, false, "below 0.99"},
			{models.Assertion{Kind: models.AssertNoRetrieval}, false, "records were retrieved"},
			{models.Assertion{Kind: models.AssertCalled, Ability: "Check service status"}, false, "was not called"},
			{models.Assertion{Kind: models.AssertNotCalled, Ability: "Check service status"}, true, ""},
			{models.Assertion{Kind: models.AssertEndReason, Text: "stop"}, true, ""},
			{models.Assertion{Kind: models.AssertLatency, Max: 60000}, true, ""},
			{models.Assertion{Kind: models.AssertOutputTokens, Max: 1}, false, "over"},
			{models.Assertion{Kind: models.AssertSimilar, Threshold: 0.5, Text: "Annual Plus subscriptions can be refunded in full within 30 days of purchase."}, true, ""},
			{models.Assertion{Kind: models.AssertSimilar, Threshold: 0.9, Text: "Pizza is tasty."}, false, "below 0.9"},
			{models.Assertion{Kind: models.AssertSimilar, Threshold: 0.5, Judge: "grader", Text: "Refunds within 30 days."}, true, "Both give the 30-day"},
		}
		tc := models.TestCase{SuiteID: s.ID, Name: "Every kind", Turns: []models.CaseTurn{{User: "Can I get a refund on my annual Plus plan?"}}}
		for _, x := range expect {
			tc.Turns[0].Expect = append(tc.Turns[0].Expect, x.a)
		}
		if _, err := st.CreateCase(ctx, tc); err != nil {
			t.Fatal(err)
		}
		run := e.run(t, qa.RunInput{SuiteID: s.ID})
		rs := results(t, st, run.ID)
		got := rs[0].Assertions
		if len(got) != len(expect)+1 || got[0].Kind != models.AssertNoError || !got[0].Pass {
			t.Fatalf("assertions = %+v, want the implicit no-error first", got)
		}
		for i, x := range expect {
			g := got[i+1]
			if g.Pass != x.pass || !strings.Contains(g.Message, x.inReason) {
				t.Errorf("%s: pass %v (%q), want %v with %q", g.Label, g.Pass, g.Message, x.pass, x.inReason)
			}
		}
		judged := got[len(got)-1]
		if judged.Verdict != "pass" || judged.Rationale == "" || judged.Score == nil || *judged.Score != 0.9 {
			t.Errorf("judge result = %+v, want its verdict, rationale and score kept", judged)
		}
		if rs[0].Status != models.ResultFail || !strings.HasPrefix(rs[0].Message, `turn 1: text contains "60 days"`) {
			t.Errorf("result message = %q, want the first failure", rs[0].Message)
		}
	})
}

// TestRunResumesFromFirstUnfinishedCase: a run a stop left running (one case
// done, two pending, as a killed process leaves it) is resumed at start-up
// from its first unfinished case; the finished one is not run again.
func TestRunResumesFromFirstUnfinishedCase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		s, err := st.CreateSuite(ctx, models.TestSuite{BotID: e.seeded.BotID, Name: "Resume"})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"How do I reset my password?", "Can I get a refund?", "What plans are there?"} {
			if _, err := st.CreateCase(ctx, models.TestCase{SuiteID: s.ID, Name: q, Turns: []models.CaseTurn{{User: q}}}); err != nil {
				t.Fatal(err)
			}
		}
		run, err := e.runner.Create(ctx, qa.RunInput{SuiteID: s.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.MarkRunRunning(ctx, run.ID, false); err != nil {
			t.Fatal(err)
		}
		pending, _ := st.PendingResults(ctx, run.ID, 0, 10)
		first := pending[0]
		first.Status, first.Message = models.ResultPass, "done before the stop"
		if _, err := st.FinishResult(ctx, first); err != nil {
			t.Fatal(err)
		}

		if err := e.runner.Resume(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if run, err = st.FindRun(ctx, run.ID); err != nil || models.RunFinished(run.Status) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		rs := results(t, st, run.ID)
		if run.Status != models.RunPassed || run.Resumed != 1 || run.Done != 3 || run.Passed != 3 {
			t.Fatalf("resumed run = %+v", run)
		}
		if rs[0].Message != "done before the stop" || rs[0].ConversationID != nil {
			t.Errorf("the finished case ran again: %+v", rs[0])
		}
		if rs[1].ConversationID == nil || rs[2].ConversationID == nil {
			t.Errorf("the pending cases did not run: %+v", rs[1:])
		}
	})
}

// TestCancel: a cancelled run stops, and what it had not run is skipped.
func TestCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		suite, _ := e.suite(t)
		run, err := e.runner.Create(ctx, qa.RunInput{SuiteID: suite.ID})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.runner.Cancel(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		run, err = e.runner.Run(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		rs := results(t, st, run.ID)
		if run.Status != models.RunCancelled || rs[0].Status != models.ResultSkipped {
			t.Errorf("cancelled run = %+v, result %+v", run, rs[0])
		}
		if err := e.runner.Cancel(ctx, run.ID); models.ErrorCode(err) != models.CodeConflict {
			t.Errorf("cancelling a finished run: %v, want conflict", err)
		}
	})
}

// TestReplayDiff: replaying a conversation against the current
// configuration changes nothing; after the backstory is edited every turn's
// answer changes (with a word diff), and against the old version nothing
// does. The original conversation is never touched.
func TestReplayDiff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		bot, err := st.FindBot(ctx, e.seeded.BotID)
		if err != nil {
			t.Fatal(err)
		}
		bot.Model = "mirror"
		bot.Backstory = "You are Northwind Support.\n" + bot.Backstory
		if _, err := st.UpdateBot(ctx, store.BotInput{Bot: *bot, DatasetIDs: []string{e.seeded.DatasetID}, SkillsetIDs: []string{e.seeded.SkillsetID}}); err != nil {
			t.Fatal(err)
		}
		conv, err := st.CreateConversation(ctx, models.Conversation{BotID: &bot.ID, Name: "Original"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"Can I get a refund on my annual plan?", "How do I reset my password?"} {
			if _, err := e.turns.Complete(ctx, conv.ID, engine.Input{Text: q}, nil); err != nil {
				t.Fatal(err)
			}
		}
		before, _ := st.CountMessages(ctx, conv.ID)
		replay := func(target string, version int) (*models.Replay, []qa.TurnDiff) {
			t.Helper()
			rp, err := e.runner.StartReplay(ctx, qa.ReplayInput{ConversationID: conv.ID, Target: target, Version: version})
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) && !models.RunFinished(rp.Status) {
				time.Sleep(20 * time.Millisecond)
				if rp, err = st.FindReplay(ctx, rp.ID); err != nil {
					t.Fatal(err)
				}
			}
			rows, err := st.FindReplayTurns(ctx, rp.ID)
			if err != nil {
				t.Fatal(err)
			}
			ds, err := qa.Diff(ctx, st, conv.ID, *rp.ConversationID, rows)
			if err != nil {
				t.Fatal(err)
			}
			return rp, ds
		}
		rp, ds := replay(models.TargetCurrent, 0)
		if rp.Status != models.RunPassed || rp.Done != 2 || rp.Changed != 0 || len(ds) != 2 || ds[0].Changed() {
			t.Fatalf("replay against the same configuration = %+v, %+v; want nothing changed", rp, ds)
		}
		v2 := rp.Version

		bot, _ = st.FindBot(ctx, bot.ID)
		bot.Backstory = strings.Replace(bot.Backstory, "You are Northwind Support.", "You are Northwind's friendly helper.", 1)
		if _, err := st.UpdateBot(ctx, store.BotInput{Bot: *bot, DatasetIDs: []string{e.seeded.DatasetID}, SkillsetIDs: []string{e.seeded.SkillsetID}}); err != nil {
			t.Fatal(err)
		}
		rp, ds = replay(models.TargetCurrent, 0)
		if rp.Changed != 2 || !ds[0].TextChanged || ds[0].RecordsChanged() || ds[0].CallsChanged() {
			t.Fatalf("replay after the edit = %+v, %+v; want both answers changed, records and calls not", rp, ds[0])
		}
		var ins, del string
		for _, p := range ds[0].Words {
			switch p.Op {
			case models.DiffInsert:
				ins += p.Text
			case models.DiffDelete:
				del += p.Text
			}
		}
		if !strings.Contains(ins, "friendly helper") || !strings.Contains(del, "Support") {
			t.Errorf("word diff inserted %q, deleted %q", ins, del)
		}
		rp, _ = replay(models.TargetVersion, v2)
		if rp.Changed != 0 {
			t.Errorf("replay against version %d changed %d turns, want 0", v2, rp.Changed)
		}
		if after, _ := st.CountMessages(ctx, conv.ID); after != before {
			t.Errorf("the original has %d messages after replays, %d before", after, before)
		}
		scratch, _ := st.FindConversation(ctx, *rp.ConversationID)
		if scratch.Kind != models.ConversationReplay {
			t.Errorf("replay conversation kind = %q", scratch.Kind)
		}
	})
}

// TestJUnit writes a failing run as JUnit XML and reads it back as a CI
// system does: one testcase per case, the failure's message the assertion's.
func TestJUnit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		suite, _ := e.suite(t)
		if _, err := st.CreateCase(ctx, models.TestCase{SuiteID: suite.ID, Name: "Greets", Turns: []models.CaseTurn{{User: "Hello!",
			Expect: []models.Assertion{{Kind: models.AssertContains, Text: "Goodbye"}}}}}); err != nil {
			t.Fatal(err)
		}
		run := e.run(t, qa.RunInput{SuiteID: suite.ID})
		var buf bytes.Buffer
		if err := qa.WriteJUnit(&buf, suite, run, results(t, st, run.ID)); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Suites   []struct {
				Name     string `xml:"name,attr"`
				Tests    int    `xml:"tests,attr"`
				Failures int    `xml:"failures,attr"`
				Cases    []struct {
					Name    string `xml:"name,attr"`
					Failure *struct {
						Message string `xml:"message,attr"`
						Text    string `xml:",chardata"`
					} `xml:"failure"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatalf("JUnit does not parse: %v\n%s", err, buf.String())
		}
		if len(doc.Suites) != 1 || doc.Suites[0].Name != "Refunds" || doc.Suites[0].Tests != 2 || doc.Suites[0].Failures != 1 || len(doc.Suites[0].Cases) != 2 {
			t.Fatalf("JUnit = %+v\n%s", doc, buf.String())
		}
		var failed int
		for _, c := range doc.Suites[0].Cases {
			if c.Failure == nil {
				continue
			}
			failed++
			if c.Name != "Greets" || !strings.Contains(c.Failure.Message, `text contains "Goodbye"`) || !strings.Contains(c.Failure.Text, "/conversations/") {
				t.Errorf("failure = %+v", c)
			}
		}
		if failed != 1 {
			t.Errorf("%d failures, want 1", failed)
		}
	})
}

// TestSuiteFileRoundTrip exports a suite as YAML and imports it as another
// suite: the same cases and checks; importing it again changes nothing but
// updates; a file with an unknown field or a bad assertion is refused with
// the case named.
func TestSuiteFileRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		suite, tc := e.suite(t)
		recs, _, _ := st.FindRecords(ctx, e.seeded.DatasetID, models.Page{Limit: 1})
		if _, err := st.CreateCheck(ctx, models.RetrievalCheck{SuiteID: suite.ID, DatasetID: e.seeded.DatasetID, Query: "refund", RecordID: recs[0].ID, TopK: 3}); err != nil {
			t.Fatal(err)
		}
		f, err := qa.Export(ctx, st, suite.ID)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := f.WriteYAML(&buf); err != nil {
			t.Fatal(err)
		}
		text := strings.Replace(buf.String(), "suite: Refunds", "suite: Refunds copy", 1)
		if !strings.Contains(text, "bot: parley-demo-support") || !strings.Contains(text, "dataset: parley-demo-faq") || !strings.Contains(text, "kind: retrieved") {
			t.Errorf("export:\n%s", text)
		}
		parsed, err := qa.ParseFile([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		res, err := qa.Import(ctx, st, parsed, "test")
		if err != nil {
			t.Fatal(err)
		}
		if !res.SuiteCreated || res.Created != 1 || res.Checks != 1 {
			t.Errorf("import = %+v", res)
		}
		cs, _, _ := st.FindCases(ctx, store.CaseFilter{SuiteID: res.Suite.ID})
		if len(cs) != 1 || cs[0].Name != tc.Name || len(cs[0].Turns) != 3 || len(cs[0].Turns[0].Expect) != len(tc.Turns[0].Expect) {
			t.Errorf("imported cases = %+v", cs)
		}
		again, err := qa.Import(ctx, st, parsed, "test")
		if err != nil || again.SuiteCreated || again.Updated != 1 || again.Created != 0 {
			t.Errorf("second import = %+v, %v", again, err)
		}
		if _, err := qa.ParseFile([]byte(text + "colour: blue\n")); models.ErrorFields(err)["file"] == "" {
			t.Errorf("unknown field: %v", err)
		}
		bad := strings.Replace(text, "kind: retrieved", "kind: retreived", 1)
		parsed, _ = qa.ParseFile([]byte(bad))
		if _, err := qa.Import(ctx, st, parsed, "test"); err == nil || !strings.Contains(models.ErrorMessage(err), tc.Name) || !strings.Contains(models.ErrorMessage(err), "retreived") {
			t.Errorf("bad kind: %v, want the case and the kind named", err)
		}
		// JSON reads too.
		if _, err := qa.ParseFile([]byte(`{"suite":"J","bot":"parley-demo-support","cases":[{"name":"x","turns":[{"user":"hi"}]}]}`)); err != nil {
			t.Errorf("JSON: %v", err)
		}
	})
}

// TestProposeFromOneTurn: from one turn, the case holds the user messages up
// to it, with proposals for that turn only.
func TestProposeFromOneTurn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		msgs, _, _ := st.FindMessages(ctx, e.seeded.ConversationID, models.Page{Limit: 100, Order: models.OrderAsc})
		var second string
		n := 0
		for _, m := range msgs {
			if m.Type == models.MessageBot {
				if n++; n == 2 {
					second = *m.TurnID
				}
			}
		}
		p, err := qa.Propose(ctx, st, e.seeded.ConversationID, second)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Turns) != 2 || len(p.Turns[0].Options) != 0 || len(p.Turns[1].Options) == 0 || !strings.HasSuffix(p.Name, "turn 2") {
			t.Errorf("proposal = %+v", p)
		}
		if _, err := qa.Propose(ctx, st, e.seeded.ConversationID, models.NewID()); models.ErrorCode(err) != models.CodeNotFound {
			t.Errorf("unknown turn: %v", err)
		}
	})
}

func TestSimilarity(t *testing.T) {
	for _, tc := range []struct {
		a, b   string
		lo, hi float64
	}{
		{"Refunds within 30 days.", "within 30 days, refunds", 1, 1},
		{"The cat sat.", "A dog ran.", 0, 0},
		{"Refunds within 30 days of purchase", "Refunds within 14 days of purchase", 0.6, 0.9},
	} {
		if got := qa.Similarity(tc.a, tc.b); got < tc.lo || got > tc.hi {
			t.Errorf("Similarity(%q, %q) = %v, want in [%v, %v]", tc.a, tc.b, got, tc.lo, tc.hi)
		}
	}
}

// TestResumeEveryPage: more runs and replays than Resume reads at once are
// left unfinished by a stop; every run is resumed to its end and every
// replay marked interrupted, not only the first page's.
func TestResumeEveryPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		defer qa.SetResumePage(2)()
		suite, _ := e.suite(t)
		msgs, _, err := st.FindMessages(ctx, e.seeded.ConversationID, models.Page{Limit: 10, Order: models.OrderAsc})
		if err != nil || len(msgs) == 0 {
			t.Fatalf("seeded messages: %v, %v", msgs, err)
		}
		var runs, replays []string
		for range 5 {
			run, err := st.CreateRun(ctx, models.TestRun{SuiteID: suite.ID, Target: models.TargetCurrent, Version: 1})
			if err != nil {
				t.Fatal(err)
			}
			runs = append(runs, run.ID)
			rp, err := st.CreateReplay(ctx, models.Replay{SourceConversationID: e.seeded.ConversationID, BotID: e.seeded.BotID,
				Target: models.TargetCurrent, Version: 1}, []models.ReplayTurn{{UserMessageID: msgs[0].ID, Text: msgs[0].Text}})
			if err != nil {
				t.Fatal(err)
			}
			replays = append(replays, rp.ID)
		}
		if err := e.runner.Resume(ctx); err != nil {
			t.Fatal(err)
		}
		for _, id := range replays {
			if rp, err := st.FindReplay(ctx, id); err != nil || rp.Status != models.RunInterrupted {
				t.Errorf("replay %s after Resume: %v, %v", id, rp.Status, err)
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		for _, id := range runs {
			for {
				run, err := st.FindRun(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if models.RunFinished(run.Status) {
					if run.Resumed != 1 {
						t.Errorf("run %s: resumed %d times, want 1", id, run.Resumed)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("run %s is still %s: not resumed", id, run.Status)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
}
