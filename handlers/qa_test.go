package handlers

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
	"parley/seed"
)

var (
	inputTag    = regexp.MustCompile(`<input\b[^>]*>`)
	textareaTag = regexp.MustCompile(`(?s)<textarea\b[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>`)
	selectTag   = regexp.MustCompile(`(?s)<select\b[^>]*name="([^"]+)"[^>]*>(.*?)</select>`)
	selectedOpt = regexp.MustCompile(`<option value="([^"]*)"[^>]*\bselected\b`)
	attr        = func(tag, name string) (string, bool) {
		m := regexp.MustCompile(`\b` + name + `="([^"]*)"`).FindStringSubmatch(tag)
		if m == nil {
			return "", false
		}
		return html.UnescapeString(m[1]), true
	}
)

// formValues reads the values a browser would submit from the form that
// posts to action in page: inputs (checkboxes only when checked), textareas
// and selected options.
func formValues(t *testing.T, page, action string) url.Values {
	t.Helper()
	i := strings.Index(page, `action="`+action+`"`)
	if i < 0 {
		t.Fatalf("no form posting to %s", action)
	}
	form := page[i:]
	if j := strings.Index(form, "</form>"); j >= 0 {
		form = form[:j]
	}
	v := url.Values{}
	for _, tag := range inputTag.FindAllString(form, -1) {
		name, ok := attr(tag, "name")
		if !ok {
			continue
		}
		typ, _ := attr(tag, "type")
		if (typ == "checkbox" || typ == "radio") && !regexp.MustCompile(`\bchecked\b`).MatchString(tag) {
			continue
		}
		val, _ := attr(tag, "value")
		v.Add(name, val)
	}
	for _, m := range textareaTag.FindAllStringSubmatch(form, -1) {
		v.Add(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range selectTag.FindAllStringSubmatch(form, -1) {
		if o := selectedOpt.FindStringSubmatch(m[2]); o != nil {
			v.Add(m[1], html.UnescapeString(o[1]))
		} else if o := regexp.MustCompile(`<option value="([^"]*)"`).FindStringSubmatch(m[2]); o != nil {
			v.Add(m[1], html.UnescapeString(o[1]))
		}
	}
	return v
}

// seededApp is a test app with the demo data.
func seededApp(t *testing.T, a *testApp) *seed.Result {
	t.Helper()
	res, err := seed.Run(context.Background(), a.store)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// waitRun waits for a run to finish.
func waitRun(t *testing.T, s *store.Store, id string) *models.TestRun {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		run, err := s.FindRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if models.RunFinished(run.Status) {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s", id, run.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMakeATestAndRunIt walks QA's flow in the dashboard: Make a test from
// the seeded transcript (proposals checked), save it into a new suite, run
// the suite, see it pass; detach the dataset, run again, and see the case
// newly failing with a message naming the record; the scratch conversations
// stay out of the conversation list unless test data is shown.
func TestMakeATestAndRunIt(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		res := seededApp(t, a)
		qa := a.as(models.RoleQA)

		r := qa.get("/qa/cases/new?conversation=" + res.ConversationID)
		wantStatus(t, r, 200)
		wantBody(t, r, "From Sample: refund question", "https://help.northwind.example/billing/refunds", "Or a new suite named")
		form := formValues(t, r.Body, "/qa/cases")
		if form.Get("t0-a0-kind") != models.AssertRetrieved || form.Get("t0-a0-keep") != "1" || form.Get("t0-user") == "" {
			t.Fatalf("first proposal = kind %q keep %q; form %v", form.Get("t0-a0-kind"), form.Get("t0-a0-keep"), form)
		}
		form.Set("newSuite", "Refunds")
		r = qa.post("/qa/cases", form)
		wantStatus(t, r, 303)
		suiteID := createdID(t, r)
		r = qa.get("/qa/suites/" + suiteID)
		wantBody(t, r, "From Sample: refund question", "Cases (1)", "Run suite")

		r = qa.post("/qa/suites/"+suiteID+"/runs", formValues(t, r.Body, "/qa/suites/"+suiteID+"/runs"))
		wantStatus(t, r, 303)
		runID := createdID(t, r)
		run := waitRun(t, a.store, runID)
		if run.Status != models.RunPassed {
			rs, _, _ := a.store.FindResults(ctx, runID, 0, 10)
			t.Fatalf("run = %+v, results %+v", run, rs)
		}
		r = qa.get("/qa/runs/" + runID)
		wantBody(t, r, "✓ pass", "100%", "1</span> passed", "Why: the replayed conversation", `max="1" value="1"`)
		ev := qa.get("/qa/runs/" + runID + "/events")
		wantBody(t, ev, "event: progress", `"finished":true`, `"passed":1`)

		r = qa.get("/conversations")
		wantNoBody(t, r, "Test: From Sample")
		r = qa.get("/conversations?tests=1")
		wantBody(t, r, "Test: From Sample", "test data")

		if err := a.store.DetachDataset(ctx, res.BotID, res.DatasetID); err != nil {
			t.Fatal(err)
		}
		r = qa.post("/qa/suites/"+suiteID+"/runs", url.Values{"target": {"current"}})
		second := createdID(t, r)
		if run := waitRun(t, a.store, second); run.Status != models.RunFailed {
			t.Fatalf("after detaching: %+v", run)
		}
		r = qa.get("/qa/runs/" + second)
		wantBody(t, r, "Newly failing (1)", "✗ fail", "was not retrieved", "https://help.northwind.example/billing/refunds")
		r = qa.get("/qa/suites/" + suiteID)
		wantBody(t, r, "Pass rate over time", "<svg", "100%", "0%", "Circles are runs that passed")
		wantNoBody(t, r, "Older runs »")
		wantStatus(t, qa.get("/qa/suites/"+suiteID+"?runs=nonsense"), 422)
		wantStatus(t, qa.get("/qa/suites/"+suiteID+"?runs="+second), 200)

		r = qa.get("/qa/runs/" + second + "/junit")
		wantStatus(t, r, 200)
		wantBody(t, r, "<testsuites", `failures="1"`, "was not retrieved")
	})
}

// TestCaseFormBadInput: a case that cannot be saved shows each error next
// to its field, keeps the input, and writes nothing.
func TestCaseFormBadInput(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		res := seededApp(t, a)
		suite, err := a.store.CreateSuite(ctx, models.TestSuite{BotID: res.BotID, Name: "S"})
		if err != nil {
			t.Fatal(err)
		}
		qa := a.as(models.RoleQA)
		form := url.Values{"suiteId": {suite.ID}, "name": {"Bad regex"}, "t0-user": {"Hello"},
			"t0-a0-keep": {"1"}, "t0-a0-kind": {models.AssertRegex}, "t0-a0-value": {"(unclosed"},
			"t0-a1-keep": {"1"}, "t0-a1-kind": {models.AssertLatency}, "t0-a1-num": {"soon"}}
		r := qa.post("/qa/cases", form)
		wantStatus(t, r, 422)
		wantBody(t, r, "Not a valid regular expression", "The number must be a whole number.", "(unclosed", `id="e-t0-a0"`, `id="e-t0-a1"`)
		r = qa.post("/qa/cases", url.Values{"suiteId": {suite.ID}, "name": {""}, "t0-user": {""}})
		wantStatus(t, r, 422)
		wantBody(t, r, "Write at least one user message.")
		r = qa.post("/qa/suites", url.Values{"botId": {res.BotID}, "name": {""}})
		wantStatus(t, r, 422)
		wantBody(t, r, `id="e-name"`)
		r = qa.post("/qa/suites/"+suite.ID+"/runs", url.Values{"target": {"draft"}, "backstory": {""}})
		wantStatus(t, r, 422)
		r = qa.post("/qa/suites/"+suite.ID+"/checks", url.Values{"datasetId": {res.DatasetID}, "query": {"refund"}, "recordId": {models.NewID()}})
		wantStatus(t, r, 422)
		wantBody(t, r, "The dataset has no record with this id")
		cs, _, _ := a.store.FindCases(ctx, store.CaseFilter{SuiteID: suite.ID})
		ks, _, _ := a.store.FindChecks(ctx, store.CheckFilter{SuiteID: suite.ID})
		runs, _, _ := a.store.FindRuns(ctx, suite.ID, models.Page{})
		if len(cs)+len(ks)+len(runs) != 0 {
			t.Errorf("bad input wrote %d cases, %d checks, %d runs", len(cs), len(ks), len(runs))
		}
		// "More turns and assertions" re-renders with more rows and saves nothing.
		r = qa.post("/qa/cases", url.Values{"suiteId": {suite.ID}, "name": {"Kept"}, "t0-user": {"Hi"}, "action": {"more"}})
		wantStatus(t, r, 200)
		wantBody(t, r, "Nothing is saved yet", `name="t1-user"`, `name="t0-a1-kind"`, `value="Kept"`)
	})
}

// TestSupportProposes: support turns a transcript into a proposed case
// (into an existing suite only); QA accepts it and it runs from then on.
func TestSupportProposes(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		res := seededApp(t, a)
		suite, err := a.store.CreateSuite(ctx, models.TestSuite{BotID: res.BotID, Name: "Support finds"})
		if err != nil {
			t.Fatal(err)
		}
		support := a.as(models.RoleSupport)
		r := support.get("/conversations/" + res.ConversationID)
		wantBody(t, r, "Make a test", "Make a test from this turn")
		wantNoBody(t, r, ">Replay<")
		r = support.get("/qa/cases/new?conversation=" + res.ConversationID)
		wantBody(t, r, "Propose test case", "QA reviews it before it runs")
		wantNoBody(t, r, "Or a new suite named")
		form := formValues(t, r.Body, "/qa/cases")
		form.Set("newSuite", "Mine")
		wantStatus(t, support.post("/qa/cases", form), 422)
		form.Del("newSuite")
		form.Set("suiteId", suite.ID)
		r = support.post("/qa/cases", form)
		wantStatus(t, r, 303)
		cs, _, _ := a.store.FindCases(ctx, store.CaseFilter{SuiteID: suite.ID})
		if len(cs) != 1 || cs[0].Status != models.CaseProposed || cs[0].CreatedBy != "support@example.com" {
			t.Fatalf("cases = %+v, want one proposed by support", cs)
		}
		if _, err := a.store.CreateRun(ctx, models.TestRun{SuiteID: suite.ID}); models.ErrorCode(err) != models.CodeInvalid {
			t.Errorf("a run of only proposed cases: %v, want nothing to run", err)
		}
		qa := a.as(models.RoleQA)
		wantBody(t, qa.get("/qa/suites/"+suite.ID), "Proposed cases (1)", "Accept "+cs[0].Name)
		wantStatus(t, qa.post("/qa/cases/"+cs[0].ID+"/accept", nil), 303)
		if c, _ := a.store.FindCase(ctx, cs[0].ID); c.Status != models.CaseActive {
			t.Errorf("after accept: %s", c.Status)
		}
	})
}

// TestGateBadgeAndReplay: a gate suite marks each version on the bot's
// History page once run against it; a replay of the seeded conversation
// against the seeded bot changes nothing and is shown side by side.
func TestGateBadgeAndReplay(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		res := seededApp(t, a)
		qa := a.as(models.RoleQA)
		suite, err := a.store.CreateSuite(ctx, models.TestSuite{BotID: res.BotID, Name: "Smoke", Gate: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.store.CreateCase(ctx, models.TestCase{SuiteID: suite.ID, Name: "Hello", Turns: []models.CaseTurn{{User: "Hello!"}}}); err != nil {
			t.Fatal(err)
		}
		r := qa.get("/bots/" + res.BotID + "/versions")
		wantBody(t, r, "not run against Smoke", "Run suite Smoke")
		r = qa.post("/qa/suites/"+suite.ID+"/runs", formValues(t, r.Body, "/qa/suites/"+suite.ID+"/runs"))
		waitRun(t, a.store, createdID(t, r))
		wantBody(t, qa.get("/bots/"+res.BotID+"/versions"), "passes Smoke (1/1)")
		wantBody(t, qa.get("/bots/"+res.BotID+"/versions/1"), "passes Smoke (1/1)", "Run suite Smoke")

		r = qa.get("/conversations/" + res.ConversationID + "/replay")
		wantStatus(t, r, 200)
		r = qa.post("/conversations/"+res.ConversationID+"/replay", formValues(t, r.Body, "/conversations/"+res.ConversationID+"/replay"))
		wantStatus(t, r, 303)
		id := createdID(t, r)
		deadline := time.Now().Add(30 * time.Second)
		for {
			rp, err := a.store.FindReplay(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if models.RunFinished(rp.Status) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("replay did not finish")
			}
			time.Sleep(20 * time.Millisecond)
		}
		r = qa.get("/qa/replays/" + id)
		wantBody(t, r, "0 of 3 turns changed", "unchanged", "Make a test from this replay", "Original", "Replayed")
		wantBody(t, qa.get("/qa/replays"), "0 of 3")
	})
}

// TestDatasetChecks: the dataset's page shows its saved retrieval checks and
// runs them.
func TestDatasetChecks(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		res := seededApp(t, a)
		suite, _ := a.store.CreateSuite(ctx, models.TestSuite{BotID: res.BotID, Name: "Retrieval"})
		recs, _, _ := a.store.FindRecords(ctx, res.DatasetID, models.Page{Limit: 100, Order: models.OrderAsc})
		var refunds string
		for _, r := range recs {
			if strings.HasSuffix(r.Source, "billing/refunds") {
				refunds = r.ID
			}
		}
		qa := a.as(models.RoleQA)
		r := qa.post("/qa/suites/"+suite.ID+"/checks", url.Values{"datasetId": {res.DatasetID}, "query": {"refund my annual plan"}, "recordId": {refunds}, "topK": {"1"}})
		wantStatus(t, r, 303)
		wantBody(t, a.as(models.RoleBuilder).get("/datasets/"+res.DatasetID), `hx-get="/datasets/`+res.DatasetID+`/checks"`)
		r = qa.get("/datasets/" + res.DatasetID + "/checks")
		wantBody(t, r, "refund my annual plan", "in the top 1", "Run retrieval checks")
		r = qa.htmx("/datasets/"+res.DatasetID+"/checks/run", nil)
		wantStatus(t, r, 200)
		wantBody(t, r, "✓ pass", "found at rank 1")
	})
}

// TestQAAPI: list suites, start a run and fetch it with its results, through
// the API with an API secret; the OpenAPI document marks the routes as
// Parley's extension.
func TestQAAPI(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		res := seededApp(t, a)
		suite, _ := a.store.CreateSuite(ctx, models.TestSuite{BotID: res.BotID, Name: "API suite"})
		if _, err := a.store.CreateCase(ctx, models.TestCase{SuiteID: suite.ID, Name: "Refund", Turns: []models.CaseTurn{{User: "Can I get a refund?",
			Expect: []models.Assertion{{Kind: models.AssertContains, Text: "30 days"}}}}}); err != nil {
			t.Fatal(err)
		}
		c := a.api()
		r := c.get("/test/suite/list")
		if r.Status != 200 || len(r.items()) != 1 || r.items()[0]["name"] != "API suite" {
			t.Fatalf("suite list: %d %s", r.Status, r.Raw)
		}
		r = c.post("/test/suite/"+suite.ID+"/run", `{"target":"version","version":1}`)
		if r.Status != 200 || r.str("id") == "" || r.str("status") != models.RunQueued {
			t.Fatalf("run: %d %s", r.Status, r.Raw)
		}
		waitRun(t, a.store, r.str("id"))
		r = c.get("/test/run/" + r.str("id") + "/fetch")
		results, _ := r.JSON["results"].([]any)
		if r.Status != 200 || r.str("status") != models.RunPassed || len(results) != 1 {
			t.Fatalf("fetch: %s", r.Raw)
		}
		first := results[0].(map[string]any)
		if first["status"] != "pass" || len(first["assertions"].([]any)) != 2 {
			t.Errorf("result = %v", first)
		}
		if r := c.post("/test/suite/"+suite.ID+"/run", `{"target":"version","version":9}`); r.Status != 400 || !strings.Contains(r.Raw, "version") {
			t.Errorf("bad version: %d %s", r.Status, r.Raw)
		}
		if r := c.post("/test/suite/"+models.NewID()+"/run", `{}`); r.Status != 404 {
			t.Errorf("unknown suite: %d", r.Status)
		}
		if r := c.with("").get("/test/suite/list"); r.Status != 401 {
			t.Errorf("no secret: %d", r.Status)
		}
		doc := c.get("/openapi.json").Raw
		for _, op := range []string{"listTestSuites", "runTestSuite", "fetchTestRun", "cancelTestRun"} {
			if !strings.Contains(doc, fmt.Sprintf("%q", op)) {
				t.Errorf("OpenAPI lacks %s", op)
			}
		}
		if !strings.Contains(doc, `"x-parley-extension":true`) {
			t.Error("OpenAPI does not mark the extension")
		}
	})
}
