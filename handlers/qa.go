package handlers

import (
	"bytes"
	"fmt"
	"html/template"
	"regexp"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/app/qa"
	"parley/models"
	"parley/models/store"
)

// Template names of the QA pages.
const (
	tplQAIndex      = "pages/qa/index"
	tplQASuiteForm  = "pages/qa/suite_form"
	tplQASuiteShow  = "pages/qa/suite"
	tplQASuiteFile  = "pages/qa/import"
	tplQACaseForm   = "pages/qa/case_form"
	tplQACaseShow   = "pages/qa/case"
	tplQARunShow    = "pages/qa/run"
	tplQAReplayForm = "pages/qa/replay_form"
	tplQAReplays    = "pages/qa/replays"
	tplQAReplayShow = "pages/qa/replay"
	tplQAChecks     = "partials/dataset_checks"
)

// registerQA registers the QA pages: suites, cases, retrieval checks, runs
// and replays (the routes under /conversations and /datasets are QA's too).
func (s *Server) registerQA() {
	s.handle(fiber.MethodGet, "/qa", models.PermQARead, s.handleQAIndex)
	s.handle(fiber.MethodGet, "/qa/suites/new", models.PermQARun, s.handleSuiteNew)
	s.handle(fiber.MethodPost, "/qa/suites", models.PermQARun, s.handleSuiteCreate)
	s.handle(fiber.MethodGet, "/qa/suites/:id", models.PermQARead, s.handleSuiteShow)
	s.handle(fiber.MethodGet, "/qa/suites/:id/edit", models.PermQARun, s.handleSuiteEdit)
	s.handle(fiber.MethodPost, "/qa/suites/:id", models.PermQARun, s.handleSuiteUpdate)
	s.handle(fiber.MethodGet, "/qa/suites/:id/delete", models.PermQARun, s.handleSuiteDeleteConfirm)
	s.handle(fiber.MethodPost, "/qa/suites/:id/delete", models.PermQARun, s.handleSuiteDelete)
	s.handle(fiber.MethodGet, "/qa/suites/:id/export", models.PermQARead, s.handleSuiteExport)
	s.handle(fiber.MethodGet, "/qa/suites/:id/import", models.PermQARun, s.handleSuiteImportForm)
	s.handle(fiber.MethodPost, "/qa/suites/:id/import", models.PermQARun, s.handleSuiteImport)
	s.handle(fiber.MethodPost, "/qa/suites/:id/checks", models.PermQARun, s.handleCheckCreate)
	s.handle(fiber.MethodGet, "/qa/checks/:id/delete", models.PermQARun, s.handleCheckDeleteConfirm)
	s.handle(fiber.MethodPost, "/qa/checks/:id/delete", models.PermQARun, s.handleCheckDelete)
	s.handle(fiber.MethodPost, "/qa/suites/:id/runs", models.PermQARun, s.handleRunStart)

	s.handle(fiber.MethodGet, "/qa/cases/new", models.PermQAPropose, s.handleCaseNew)
	s.handle(fiber.MethodPost, "/qa/cases", models.PermQAPropose, s.handleCaseCreate)
	s.handle(fiber.MethodGet, "/qa/cases/:id", models.PermQARead, s.handleCaseShow)
	s.handle(fiber.MethodGet, "/qa/cases/:id/edit", models.PermQARun, s.handleCaseEdit)
	s.handle(fiber.MethodPost, "/qa/cases/:id", models.PermQARun, s.handleCaseUpdate)
	s.handle(fiber.MethodPost, "/qa/cases/:id/accept", models.PermQARun, s.handleCaseAccept)
	s.handle(fiber.MethodGet, "/qa/cases/:id/delete", models.PermQARun, s.handleCaseDeleteConfirm)
	s.handle(fiber.MethodPost, "/qa/cases/:id/delete", models.PermQARun, s.handleCaseDelete)

	s.handle(fiber.MethodGet, "/qa/runs/:id", models.PermQARead, s.handleRunShow)
	s.handle(fiber.MethodGet, "/qa/runs/:id/events", models.PermQARead, s.handleRunEvents)
	s.handle(fiber.MethodGet, "/qa/runs/:id/junit", models.PermQARead, s.handleRunJUnit)
	s.handle(fiber.MethodPost, "/qa/runs/:id/cancel", models.PermQARun, s.handleRunCancel)

	s.handle(fiber.MethodGet, "/conversations/:id/replay", models.PermQARun, s.handleReplayForm)
	s.handle(fiber.MethodPost, "/conversations/:id/replay", models.PermQARun, s.handleReplayStart)
	s.handle(fiber.MethodGet, "/qa/replays", models.PermQARead, s.handleReplays)
	s.handle(fiber.MethodGet, "/qa/replays/:id", models.PermQARead, s.handleReplayShow)
	s.handle(fiber.MethodGet, "/qa/replays/:id/events", models.PermQARead, s.handleReplayEvents)

	s.handle(fiber.MethodGet, "/datasets/:id/checks", models.PermQARead, s.handleDatasetChecks)
	s.handle(fiber.MethodPost, "/datasets/:id/checks/run", models.PermQARun, s.handleDatasetChecksRun)
}

// qaFuncs are the QA pages' template functions.
func qaFuncs() template.FuncMap {
	return template.FuncMap{
		"assertKinds": func() []string { return models.AssertionKinds },
		"kindLabel":   func(k string) string { return models.AssertionKindLabels[k] },
		"score":       func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
		"scorep": func(f *float64) string {
			if f == nil {
				return ""
			}
			return strconv.FormatFloat(*f, 'f', 2, 64)
		},
		"inc": func(i int) int { return i + 1 },
		"statusMark": func(status string) string {
			switch status {
			case models.ResultPass, models.RunPassed:
				return "✓"
			case models.ResultFail, models.ResultError, models.RunFailed:
				return "✗"
			}
			return "•"
		},
		"finished": models.RunFinished,
	}
}

// suiteLabel names a suite with its bot, for pickers.
func suiteLabel(ts models.TestSuite) string {
	if ts.Bot != nil {
		return ts.Bot.Name + " › " + ts.Name
	}
	return ts.Name
}

// ---- suites ----

type qaIndexPage struct {
	Page
	Suites []models.TestSuite
	Next   string
	Cursor string
}

// handleQAIndex handles GET /qa: every suite, newest first.
func (s *Server) handleQAIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	suites, next, err := s.store.FindSuites(c.UserContext(), store.SuiteFilter{Page: p})
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplQAIndex, qaIndexPage{Page: s.page(c, "Tests", "qa"), Suites: suites, Next: next, Cursor: p.Cursor})
}

type suiteForm struct {
	BotID       string `form:"botId" validate:"omitempty,max=36"`
	Name        string `form:"name" validate:"max=200"`
	Description string `form:"description" validate:"max=4000"`
	Gate        bool   `form:"gate"`
}

type suiteFormPage struct {
	Page
	Suite  *models.TestSuite
	Form   suiteForm
	Bots   []models.Bot
	Errors map[string]string
	Action string
}

func (s *Server) renderSuiteForm(c *fiber.Ctx, status int, suite *models.TestSuite, f suiteForm, errs map[string]string) error {
	bots, _, err := s.store.FindBots(c.UserContext(), models.BotFilter{Page: models.Page{Limit: models.MaxPageSize}})
	if err != nil {
		return err
	}
	title, action := "New test suite", "/qa/suites"
	if suite != nil {
		title, action = "Edit "+suite.Name, "/qa/suites/"+suite.ID
	}
	return s.render(c, status, tplQASuiteForm, suiteFormPage{Page: s.page(c, title, "qa"), Suite: suite, Form: f, Bots: bots, Errors: errs, Action: action})
}

// handleSuiteNew handles GET /qa/suites/new (?botId= preselects the bot).
func (s *Server) handleSuiteNew(c *fiber.Ctx) error {
	return s.renderSuiteForm(c, fiber.StatusOK, nil, suiteForm{BotID: c.Query("botId")}, nil)
}

// handleSuiteCreate handles POST /qa/suites.
func (s *Server) handleSuiteCreate(c *fiber.Ctx) error {
	var f suiteForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	err := models.Validate(f)
	if err == nil && f.BotID == "" {
		err = models.FieldError("botId", "Choose the bot this suite tests.")
	}
	var created *models.TestSuite
	if err == nil {
		created, err = s.store.CreateSuite(c.UserContext(), models.TestSuite{BotID: f.BotID, Name: f.Name, Description: f.Description, Gate: f.Gate})
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderSuiteForm(c, fiber.StatusUnprocessableEntity, nil, f, fields)
	}
	if err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Suite %q created. Add cases from a conversation (Make a test), by hand, or from a file.", created.Name))
	return redirect(c, "/qa/suites/"+created.ID)
}

// handleSuiteEdit handles GET /qa/suites/:id/edit.
func (s *Server) handleSuiteEdit(c *fiber.Ctx) error {
	suite, err := s.store.FindSuite(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.renderSuiteForm(c, fiber.StatusOK, suite, suiteForm{BotID: suite.BotID, Name: suite.Name, Description: suite.Description, Gate: suite.Gate}, nil)
}

// handleSuiteUpdate handles POST /qa/suites/:id.
func (s *Server) handleSuiteUpdate(c *fiber.Ctx) error {
	suite, err := s.store.FindSuite(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	var f suiteForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	f.BotID = suite.BotID
	err = models.Validate(f)
	if err == nil {
		_, err = s.store.UpdateSuite(c.UserContext(), models.TestSuite{ID: suite.ID, Name: f.Name, Description: f.Description, Gate: f.Gate})
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderSuiteForm(c, fiber.StatusUnprocessableEntity, suite, f, fields)
	}
	if err != nil {
		return err
	}
	setFlash(c, "Suite saved.")
	return redirect(c, "/qa/suites/"+suite.ID)
}

// handleSuiteDeleteConfirm handles GET /qa/suites/:id/delete.
func (s *Server) handleSuiteDeleteConfirm(c *fiber.Ctx) error {
	suite, err := s.store.FindSuite(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{Page: s.page(c, "Delete "+suite.Name, "qa"),
		Heading: fmt.Sprintf("Delete suite %q?", suite.Name),
		Body: []string{"Its cases, retrieval checks, runs and their results are deleted. This cannot be undone.",
			"The scratch conversations its runs made stay, as test data (Conversations › Show test data)."},
		Action: "/qa/suites/" + suite.ID + "/delete", Button: "Delete suite", Cancel: "/qa/suites/" + suite.ID})
}

// handleSuiteDelete handles POST /qa/suites/:id/delete.
func (s *Server) handleSuiteDelete(c *fiber.Ctx) error {
	suite, err := s.store.FindSuite(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteSuite(c.UserContext(), suite.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Suite %q deleted.", suite.Name))
	return redirect(c, "/qa")
}

// runForm starts a run.
type runForm struct {
	Target     string `form:"target" validate:"omitempty,oneof=current version draft"`
	Version    string `form:"version" validate:"max=10"`
	Backstory  string `form:"backstory" validate:"max=100000"`
	Model      string `form:"model" validate:"max=200"`
	Moderation bool   `form:"moderation"`
}

type suitePage struct {
	Page
	Suite                    *models.TestSuite
	Cases                    []models.TestCase
	Proposed                 []models.TestCase
	Checks                   []models.RetrievalCheck
	Active, Pending, NChecks int64
	Next, Cursor             string
	Versions                 []models.BotVersion
	Datasets                 []models.DatasetSnapshot
	Runs                     []models.TestRun
	RunsNext, RunsCursor     string
	Chart                    chartView
	Run                      runForm
	Errors                   map[string]string
	CheckForm                checkForm
}

// handleSuiteShow handles GET /qa/suites/:id: its cases (paginated), the
// cases proposed by support, its retrieval checks, the run form and the run
// history with its pass rate over time.
func (s *Server) handleSuiteShow(c *fiber.Ctx) error {
	return s.renderSuite(c, fiber.StatusOK, runForm{Target: models.TargetCurrent}, checkForm{}, nil)
}

func (s *Server) renderSuite(c *fiber.Ctx, status int, rf runForm, cf checkForm, errs map[string]string) error {
	ctx := c.UserContext()
	suite, err := s.store.FindSuite(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	p, err := listPage(c)
	if err != nil {
		return err
	}
	p.Order = models.OrderAsc
	d := suitePage{Page: s.page(c, suite.Name, "qa"), Suite: suite, Run: rf, CheckForm: cf, Errors: errs, Cursor: p.Cursor}
	if d.Cases, d.Next, err = s.store.FindCases(ctx, store.CaseFilter{Page: p, SuiteID: suite.ID, Status: models.CaseActive}); err != nil {
		return err
	}
	if d.Proposed, _, err = s.store.FindCases(ctx, store.CaseFilter{Page: models.Page{Limit: models.MaxPageSize}, SuiteID: suite.ID, Status: models.CaseProposed}); err != nil {
		return err
	}
	if d.Checks, _, err = s.store.FindChecks(ctx, store.CheckFilter{Page: models.Page{Limit: models.MaxChecksPerPage, Order: models.OrderAsc}, SuiteID: suite.ID}); err != nil {
		return err
	}
	if d.Active, d.Pending, d.NChecks, err = s.store.CountSuiteItems(ctx, suite.ID); err != nil {
		return err
	}
	if d.Versions, err = s.store.BotVersionNumbers(ctx, suite.BotID, pickerVersions); err != nil {
		return err
	}
	if len(d.Versions) > 0 {
		v, err := s.store.FindBotVersion(ctx, suite.BotID, d.Versions[0].Number)
		if err != nil {
			return err
		}
		d.Datasets = v.Snapshot.Datasets
		if rf.Backstory == "" && rf.Target != models.TargetDraft {
			d.Run.Backstory, d.Run.Model = v.Snapshot.Backstory, v.Snapshot.Model
		}
	}
	latest, next, err := s.store.FindRuns(ctx, suite.ID, models.Page{Limit: chartRuns})
	if err != nil {
		return err
	}
	d.Chart, d.Runs, d.RunsNext = passRateChart(latest), latest, next
	if cur := c.Query("runs"); cur != "" {
		if !models.ValidID(cur) {
			return models.Errorf(models.CodeInvalid, "The page link is not valid (bad cursor). Go back to the first page.")
		}
		if d.Runs, d.RunsNext, err = s.store.FindRuns(ctx, suite.ID, models.Page{Cursor: cur, Limit: chartRuns}); err != nil {
			return err
		}
		d.RunsCursor = cur
	}
	return s.render(c, status, tplQASuiteShow, d)
}

// handleRunStart handles POST /qa/suites/:id/runs: run the suite against the
// bot's current configuration, a version, or a draft of its backstory and
// settings; the run goes on in the background and its page follows it live.
func (s *Server) handleRunStart(c *fiber.Ctx) error {
	suite, err := s.store.FindSuite(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	var f runForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	err = models.Validate(f)
	in := qa.RunInput{SuiteID: suite.ID, Target: f.Target, StartedBy: operator(c).Email}
	if err == nil && f.Target == models.TargetVersion {
		n, perr := strconv.Atoi(f.Version)
		if perr != nil || n < 1 {
			err = models.FieldError("version", "Choose a version.")
		}
		in.Version = n
	}
	if err == nil && f.Target == models.TargetDraft {
		in.Draft = &qa.Draft{Backstory: f.Backstory, Model: f.Model, Moderation: f.Moderation}
		if strings.TrimSpace(f.Model) != "" {
			err = s.checkModel(c.UserContext(), strings.TrimSpace(f.Model))
			if fe := models.ErrorFields(err); fe != nil {
				err = models.FieldError("model", fe[firstKey(fe)])
			}
		}
	}
	var run *models.TestRun
	if err == nil {
		run, err = s.qa.Start(c.UserContext(), in)
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderSuite(c, fiber.StatusUnprocessableEntity, f, checkForm{}, fields)
	}
	if models.ErrorCode(err) == models.CodeInvalid {
		return s.renderSuite(c, fiber.StatusUnprocessableEntity, f, checkForm{}, map[string]string{"target": models.ErrorMessage(err)})
	}
	if err != nil {
		return err
	}
	return redirect(c, "/qa/runs/"+run.ID)
}

func firstKey(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}

// ---- suite files ----

// handleSuiteExport handles GET /qa/suites/:id/export: the suite as a YAML
// file to keep in git.
func (s *Server) handleSuiteExport(c *fiber.Ctx) error {
	f, err := qa.Export(c.UserContext(), s.store, c.Params("id"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := f.WriteYAML(&buf); err != nil {
		return err
	}
	name := strings.Trim(regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(strings.ToLower(f.Suite), "-"), "-")
	if name == "" {
		name = "suite"
	}
	c.Set(fiber.HeaderContentType, "application/yaml; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.yaml"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

type suiteImportPage struct {
	Page
	Suite  *models.TestSuite
	File   string
	Errors map[string]string
}

// handleSuiteImportForm handles GET /qa/suites/:id/import.
func (s *Server) handleSuiteImportForm(c *fiber.Ctx) error {
	suite, err := s.store.FindSuite(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplQASuiteFile, suiteImportPage{Page: s.page(c, "Import into "+suite.Name, "qa"), Suite: suite})
}

type suiteImportForm struct {
	File string `form:"file" validate:"max=2000000"`
}

// handleSuiteImport handles POST /qa/suites/:id/import: a suite file (YAML or
// JSON, pasted) replaces the suite's cases and checks; its own suite and bot
// names are ignored (this suite's are used).
func (s *Server) handleSuiteImport(c *fiber.Ctx) error {
	ctx := c.UserContext()
	suite, err := s.store.FindSuite(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	var f suiteImportForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	err = models.Validate(f)
	var res *store.ImportCounts
	if err == nil {
		var sf *qa.SuiteFile
		if sf, err = qa.ParseFileFor([]byte(f.File), suite.Name, suite.BotID); err == nil {
			sf.Description, sf.Gate = suite.Description, suite.Gate
			res, err = qa.Import(ctx, s.store, sf, operator(c).Email)
		}
	}
	if fields := models.ErrorFields(err); fields != nil {
		if _, ok := fields["file"]; !ok {
			fields["file"] = models.ErrorMessage(err)
		}
		return s.render(c, fiber.StatusUnprocessableEntity, tplQASuiteFile, suiteImportPage{Page: s.page(c, "Import into "+suite.Name, "qa"), Suite: suite, File: f.File, Errors: fields})
	}
	if err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Imported: %d case(s) created, %d updated, %d deleted; %d retrieval check(s).", res.Created, res.Updated, res.Deleted, res.Checks))
	return redirect(c, "/qa/suites/"+suite.ID)
}

// ---- retrieval checks ----

type checkForm struct {
	DatasetID string `form:"datasetId" validate:"max=36"`
	Query     string `form:"query" validate:"max=2000"`
	RecordID  string `form:"recordId" validate:"max=36"`
	TopK      string `form:"topK" validate:"max=5"`
	MinScore  string `form:"minScore" validate:"max=10"`
}

// handleCheckCreate handles POST /qa/suites/:id/checks: save a retrieval
// check ("query Q finds record R in the top k").
func (s *Server) handleCheckCreate(c *fiber.Ctx) error {
	suite, err := s.store.FindSuite(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	var f checkForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	err = models.Validate(f)
	k := models.RetrievalCheck{SuiteID: suite.ID, DatasetID: f.DatasetID, Query: f.Query, RecordID: strings.TrimSpace(f.RecordID)}
	if err == nil && f.TopK != "" {
		if k.TopK, err = strconv.Atoi(f.TopK); err != nil || k.TopK < 1 {
			err = models.FieldError("topK", "Top k must be a whole number from 1 to 100.")
		}
	}
	if err == nil && f.MinScore != "" {
		if k.MinScore, err = strconv.ParseFloat(f.MinScore, 64); err != nil {
			err = models.FieldError("minScore", "Min score must be a number from 0 to 1, such as 0.5.")
		}
	}
	if err == nil {
		_, err = s.store.CreateCheck(c.UserContext(), k)
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderSuite(c, fiber.StatusUnprocessableEntity, runForm{Target: models.TargetCurrent}, f, fields)
	}
	if err != nil {
		return err
	}
	setFlash(c, "Retrieval check saved: it runs with the suite and on its dataset's page.")
	return redirect(c, "/qa/suites/"+suite.ID+"#checks")
}

// handleCheckDeleteConfirm handles GET /qa/checks/:id/delete.
func (s *Server) handleCheckDeleteConfirm(c *fiber.Ctx) error {
	k, err := s.store.FindCheck(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{Page: s.page(c, "Delete retrieval check", "qa"),
		Heading: "Delete this retrieval check?", Body: []string{k.Label(), "Past runs keep their results."},
		Action: "/qa/checks/" + k.ID + "/delete", Button: "Delete check", Cancel: "/qa/suites/" + k.SuiteID + "#checks"})
}

// handleCheckDelete handles POST /qa/checks/:id/delete.
func (s *Server) handleCheckDelete(c *fiber.Ctx) error {
	k, err := s.store.FindCheck(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteCheck(c.UserContext(), k.ID); err != nil {
		return err
	}
	setFlash(c, "Retrieval check deleted.")
	return redirect(c, "/qa/suites/"+k.SuiteID+"#checks")
}

type datasetChecksFragment struct {
	DatasetID string
	CSRF      string
	CanRun    bool
	Checks    []models.RetrievalCheck
	Results   []qa.CheckResult
	Ran       bool
	Suites    map[string]string
}

// handleDatasetChecks handles GET /datasets/:id/checks: the saved retrieval
// checks of a dataset (loaded into its page).
func (s *Server) handleDatasetChecks(c *fiber.Ctx) error {
	ds, err := s.store.FindDataset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	ks, _, err := s.store.FindChecks(c.UserContext(), store.CheckFilter{DatasetID: ds.ID, Page: models.Page{Limit: models.MaxChecksPerPage, Order: models.OrderAsc}})
	if err != nil {
		return err
	}
	return s.renderDatasetChecks(c, ds.ID, ks, nil)
}

func (s *Server) renderDatasetChecks(c *fiber.Ctx, datasetID string, ks []models.RetrievalCheck, results []qa.CheckResult) error {
	names := map[string]string{}
	for _, k := range ks {
		if _, ok := names[k.SuiteID]; ok {
			continue
		}
		if suite, err := s.store.FindSuite(c.UserContext(), k.SuiteID); err == nil {
			names[k.SuiteID] = suiteLabel(*suite)
		}
	}
	for _, r := range results {
		if _, ok := names[r.Check.SuiteID]; !ok {
			if suite, err := s.store.FindSuite(c.UserContext(), r.Check.SuiteID); err == nil {
				names[r.Check.SuiteID] = suiteLabel(*suite)
			}
		}
	}
	return s.render(c, fiber.StatusOK, tplQAChecks, datasetChecksFragment{DatasetID: datasetID, CSRF: csrfToken(c),
		CanRun: operator(c).Can(models.PermQARun), Checks: ks, Results: results, Ran: results != nil, Suites: names})
}

// handleDatasetChecksRun handles POST /datasets/:id/checks/run: run the
// dataset's retrieval checks now and show each outcome.
func (s *Server) handleDatasetChecksRun(c *fiber.Ctx) error {
	ds, err := s.store.FindDataset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	res, err := s.qa.CheckDataset(c.UserContext(), ds.ID)
	if err != nil {
		return err
	}
	if res == nil {
		res = []qa.CheckResult{}
	}
	return s.renderDatasetChecks(c, ds.ID, nil, res)
}

// ---- cases ----

// formAssertion is one assertion row of the case form, as typed.
type formAssertion struct {
	Keep   bool
	Kind   string
	Value  string
	Source string
	Num    string
	Score  string
	Args   string
	Judge  string
	Rubric string
	Error  string
}

// formTurn is one turn of the case form.
type formTurn struct {
	User  string
	Error string
	Rows  []formAssertion
}

// caseForm is the case form: the case's fields, its turns and their rows.
type caseForm struct {
	SuiteID    string
	NewSuite   string
	BotID      string // for a new suite made from a transcript
	Name       string
	Desc       string
	SourceConv string
	Turns      []formTurn
}

// blankRows and blankTurns are the empty rows and turns a case form offers.
const (
	blankRows  = 2
	blankTurns = 1
)

// withBlanks adds empty rows to every turn and empty turns at the end.
func (f caseForm) withBlanks() caseForm {
	for i := range f.Turns {
		for range blankRows {
			f.Turns[i].Rows = append(f.Turns[i].Rows, formAssertion{Keep: true})
		}
	}
	if len(f.Turns) < models.MaxCaseTurns {
		for range blankTurns {
			f.Turns = append(f.Turns, formTurn{Rows: []formAssertion{{Keep: true}, {Keep: true}}})
		}
	}
	return f
}

// rowOf shows an assertion as a form row.
func rowOf(a models.Assertion, keep bool) formAssertion {
	r := formAssertion{Keep: keep, Kind: a.Kind, Source: a.Source, Args: a.Args, Judge: a.Judge, Rubric: a.Rubric}
	switch a.Kind {
	case models.AssertRetrieved:
		r.Value = a.Record
		if r.Value == "" {
			r.Value = a.Source
		}
		if a.TopK > 0 {
			r.Num = strconv.Itoa(a.TopK)
		}
		if a.MinScore > 0 {
			r.Score = strconv.FormatFloat(a.MinScore, 'g', -1, 64)
		}
	case models.AssertCalled, models.AssertNotCalled:
		r.Value = a.Ability
	case models.AssertLatency, models.AssertOutputTokens:
		r.Num = strconv.FormatInt(a.Max, 10)
	case models.AssertSimilar:
		r.Value, r.Score = a.Text, strconv.FormatFloat(a.Threshold, 'g', -1, 64)
	default:
		r.Value = a.Text
	}
	return r
}

// assertion reads a form row as an assertion; bad numbers are field errors.
func (r formAssertion) assertion() (models.Assertion, string) {
	a := models.Assertion{Kind: r.Kind, Args: strings.TrimSpace(r.Args), Judge: strings.TrimSpace(r.Judge), Rubric: strings.TrimSpace(r.Rubric)}
	num := func() (int64, string) {
		if strings.TrimSpace(r.Num) == "" {
			return 0, ""
		}
		n, err := strconv.ParseInt(strings.TrimSpace(r.Num), 10, 64)
		if err != nil || n < 0 {
			return 0, "The number must be a whole number."
		}
		return n, ""
	}
	frac := func() (float64, string) {
		if strings.TrimSpace(r.Score) == "" {
			return 0, ""
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(r.Score), 64)
		if err != nil || f < 0 || f > 1 {
			return 0, "The score must be a number from 0 to 1."
		}
		return f, ""
	}
	value := strings.TrimSpace(r.Value)
	switch r.Kind {
	case models.AssertRetrieved:
		if models.ValidID(value) {
			a.Record, a.Source = value, strings.TrimSpace(r.Source)
		} else {
			a.Source = value
		}
		n, msg := num()
		if msg != "" {
			return a, msg
		}
		a.TopK = int(n)
		if a.MinScore, msg = frac(); msg != "" {
			return a, msg
		}
	case models.AssertCalled, models.AssertNotCalled:
		a.Ability = value
	case models.AssertLatency, models.AssertOutputTokens:
		n, msg := num()
		if msg != "" {
			return a, msg
		}
		a.Max = n
	case models.AssertSimilar:
		a.Text = r.Value
		var msg string
		if a.Threshold, msg = frac(); msg != "" {
			return a, msg
		}
	case models.AssertContains, models.AssertNotContains, models.AssertEquals:
		a.Text = r.Value
	default:
		a.Text = value
	}
	return a, ""
}

var rowKey = regexp.MustCompile(`^t(\d+)-(user|a(\d+)-(keep|kind|value|source|num|score|args|judge|rubric))$`)

// parseCaseForm reads the case form: fields named t<i>-user and
// t<i>-a<j>-<field>, for turns and rows in order.
func parseCaseForm(c *fiber.Ctx) (caseForm, error) {
	f := caseForm{SuiteID: strings.TrimSpace(c.FormValue("suiteId")), NewSuite: strings.TrimSpace(c.FormValue("newSuite")),
		BotID: strings.TrimSpace(c.FormValue("botId")), Name: c.FormValue("name"), Desc: c.FormValue("description"),
		SourceConv: strings.TrimSpace(c.FormValue("sourceConversationId"))}
	var bad error
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		m := rowKey.FindStringSubmatch(string(k))
		if m == nil || bad != nil {
			return
		}
		ti, _ := strconv.Atoi(m[1])
		if ti >= models.MaxCaseTurns+blankTurns {
			bad = models.Errorf(models.CodeInvalid, "A case holds at most %d turns.", models.MaxCaseTurns)
			return
		}
		for len(f.Turns) <= ti {
			f.Turns = append(f.Turns, formTurn{})
		}
		t := &f.Turns[ti]
		val := string(v)
		if m[2] == "user" {
			t.User = val
			return
		}
		ai, _ := strconv.Atoi(m[3])
		if ai >= models.MaxTurnAsserts+2*blankRows {
			bad = models.Errorf(models.CodeInvalid, "A turn holds at most %d assertions.", models.MaxTurnAsserts)
			return
		}
		for len(t.Rows) <= ai {
			t.Rows = append(t.Rows, formAssertion{})
		}
		r := &t.Rows[ai]
		switch m[4] {
		case "keep":
			r.Keep = val != ""
		case "kind":
			r.Kind = val
		case "value":
			r.Value = val
		case "source":
			r.Source = val
		case "num":
			r.Num = val
		case "score":
			r.Score = val
		case "args":
			r.Args = val
		case "judge":
			r.Judge = val
		case "rubric":
			r.Rubric = val
		}
	})
	return f, bad
}

// build makes the case the form describes (empty turns and rows left out)
// and returns the form with each field error placed next to its input.
func (f caseForm) build() (models.TestCase, caseForm, error) {
	c := models.TestCase{Name: f.Name, Description: f.Desc, Status: models.CaseActive}
	if models.ValidID(f.SourceConv) {
		id := f.SourceConv
		c.SourceConversationID = &id
	}
	type at struct{ turn, row int }
	var turnAt []int
	var rowAt [][]at
	rowErr := false
	for ti := range f.Turns {
		t := &f.Turns[ti]
		t.Error = ""
		ct := models.CaseTurn{User: t.User}
		var places []at
		for ri := range t.Rows {
			r := &t.Rows[ri]
			r.Error = ""
			if !r.Keep || r.Kind == "" {
				continue
			}
			a, msg := r.assertion()
			if msg != "" {
				r.Error, rowErr = msg, true
				continue
			}
			ct.Expect = append(ct.Expect, a)
			places = append(places, at{ti, ri})
		}
		if strings.TrimSpace(t.User) == "" && len(ct.Expect) == 0 {
			continue // a blank turn
		}
		c.Turns = append(c.Turns, ct)
		turnAt = append(turnAt, ti)
		rowAt = append(rowAt, places)
	}
	err := c.Validate()
	fields := models.ErrorFields(err)
	if err != nil && fields == nil {
		return c, f, err
	}
	if len(c.Turns) == 0 {
		fields = map[string]string{"turns": "Write at least one user message."}
	}
	for k, msg := range fields {
		var ti, ai int
		var field string
		switch {
		case strings.HasPrefix(k, "turns[") && strings.Contains(k, "].expect["):
			if _, e := fmt.Sscanf(k, "turns[%d].expect[%d].%s", &ti, &ai, &field); e == nil && ti < len(rowAt) && ai < len(rowAt[ti]) {
				p := rowAt[ti][ai]
				f.Turns[p.turn].Rows[p.row].Error = msg
				delete(fields, k)
			}
		case strings.HasPrefix(k, "turns["):
			if _, e := fmt.Sscanf(k, "turns[%d]", &ti); e == nil && ti < len(turnAt) {
				f.Turns[turnAt[ti]].Error = msg
				delete(fields, k)
			}
		}
	}
	for k, msg := range fields {
		switch k {
		case "name", "description", "turns", "form":
		default: // no input of its own: say it above the form
			fields["form"] = msg
		}
	}
	if len(fields) > 0 || rowErr || err != nil {
		if fields == nil {
			fields = map[string]string{}
		}
		e := &models.Error{Code: models.CodeInvalid, Message: "Some fields need attention: see the messages next to them.", Fields: fields}
		return c, f, e
	}
	return c, f, nil
}

type caseFormPage struct {
	Page
	Case     *models.TestCase
	Form     caseForm
	Suites   []models.TestSuite
	Errors   map[string]string
	Action   string
	Propose  bool // the operator may only propose
	Truncate bool
	Conv     *conversationItem
	// More: the operator asked for more rows (nothing was saved).
	More bool
}

func (s *Server) renderCaseForm(c *fiber.Ctx, status int, d caseFormPage) error {
	suites, _, err := s.store.FindSuites(c.UserContext(), store.SuiteFilter{Page: models.Page{Limit: models.MaxSuitesListed}})
	if err != nil {
		return err
	}
	// The transcript's bot's suites first.
	var mine, other []models.TestSuite
	for _, ts := range suites {
		if d.Form.BotID != "" && ts.BotID == d.Form.BotID {
			mine = append(mine, ts)
		} else {
			other = append(other, ts)
		}
	}
	d.Suites = append(mine, other...)
	if d.Form.SuiteID == "" && len(mine) > 0 {
		d.Form.SuiteID = mine[0].ID
	}
	d.Propose = !operator(c).Can(models.PermQARun)
	title := "New test case"
	if d.Case != nil {
		title = "Edit " + d.Case.Name
	}
	d.Page = s.page(c, title, "qa")
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	return s.render(c, status, tplQACaseForm, d)
}

// handleCaseNew handles GET /qa/cases/new: "Make a test". With
// ?conversation= (and &turn=) it proposes a case from the transcript: its
// user messages copied, assertions proposed from what happened; with
// ?suite= it is a blank hand-written case for that suite.
func (s *Server) handleCaseNew(c *fiber.Ctx) error {
	ctx := c.UserContext()
	d := caseFormPage{Action: "/qa/cases"}
	if convID := c.Query("conversation"); convID != "" {
		p, err := qa.Propose(ctx, s.store, convID, c.Query("turn"))
		if err != nil {
			return err
		}
		conv, err := s.store.FindConversation(ctx, convID)
		if err != nil {
			return err
		}
		it := newConversationItem(*conv, operator(c))
		d.Conv, d.Truncate = &it, p.Truncated
		// What is proposed from the transcript is what the viewer may see of
		// it: masked for support, so the case cannot copy personal data out.
		mask := s.masker(operator(c))
		d.Form = caseForm{Name: mask(p.Name), SourceConv: p.SourceConversationID, BotID: p.BotID}
		for _, t := range p.Turns {
			ft := formTurn{User: mask(t.User)}
			for _, o := range t.Options {
				o.Assertion.Text = mask(o.Assertion.Text)
				ft.Rows = append(ft.Rows, rowOf(o.Assertion, o.Keep))
			}
			d.Form.Turns = append(d.Form.Turns, ft)
		}
	} else {
		d.Form.SuiteID = c.Query("suite")
		if suite, err := s.store.FindSuite(ctx, d.Form.SuiteID); err == nil {
			d.Form.BotID = suite.BotID
		}
	}
	d.Form = d.Form.withBlanks()
	return s.renderCaseForm(c, fiber.StatusOK, d)
}

// handleCaseCreate handles POST /qa/cases: save the case into a suite (or a
// new suite of the transcript's bot); an operator who may not run tests
// (support) only proposes it, for QA to accept. "More rows" re-renders the
// form with more empty turns and rows, saving nothing.
func (s *Server) handleCaseCreate(c *fiber.Ctx) error {
	f, err := parseCaseForm(c)
	if err != nil {
		return err
	}
	op := operator(c)
	if c.FormValue("action") == "more" {
		return s.renderCaseForm(c, fiber.StatusOK, caseFormPage{Action: "/qa/cases", Form: f.withBlanks(), More: true})
	}
	tc, f, err := f.build()
	fields := models.ErrorFields(err)
	if err != nil && fields == nil {
		return err
	}
	if fields == nil {
		fields = map[string]string{}
	}
	ctx := c.UserContext()
	suiteID := f.SuiteID
	switch {
	case f.NewSuite != "" && !op.Can(models.PermQARun):
		fields["newSuite"] = "Only QA can create a suite: choose an existing one."
	case f.NewSuite != "" && !models.ValidID(f.BotID):
		fields["newSuite"] = "A new suite needs the transcript's bot: choose an existing suite."
	case f.NewSuite == "" && !models.ValidID(suiteID):
		fields["suiteId"] = "Choose a suite, or name a new one."
	}
	if len(fields) == 0 && f.NewSuite != "" {
		suite, serr := s.store.CreateSuite(ctx, models.TestSuite{BotID: f.BotID, Name: f.NewSuite})
		if fe := models.ErrorFields(serr); fe != nil {
			fields["newSuite"] = fe[firstKey(fe)]
		} else if serr != nil {
			return serr
		} else {
			suiteID, f.SuiteID, f.NewSuite = suite.ID, suite.ID, ""
		}
	}
	if len(fields) == 0 {
		tc.SuiteID, tc.CreatedBy, tc.Status = suiteID, op.Email, models.CaseActive
		if !op.Can(models.PermQARun) {
			tc.Status = models.CaseProposed
		}
		created, cerr := s.store.CreateCase(ctx, tc)
		if fe := models.ErrorFields(cerr); fe != nil {
			for k, v := range fe {
				fields[k] = v
			}
		} else if cerr != nil {
			return cerr
		} else {
			if created.Status == models.CaseProposed {
				setFlash(c, fmt.Sprintf("Case %q proposed: QA reviews it on the suite's page before it runs.", created.Name))
				if f.SourceConv != "" {
					return redirect(c, "/conversations/"+f.SourceConv)
				}
				return redirect(c, "/conversations")
			}
			setFlash(c, fmt.Sprintf("Case %q saved.", created.Name))
			return redirect(c, "/qa/suites/"+created.SuiteID)
		}
	}
	return s.renderCaseForm(c, fiber.StatusUnprocessableEntity, caseFormPage{Action: "/qa/cases", Form: f, Errors: fields})
}

type casePage struct {
	Page
	Case    *models.TestCase
	Suite   *models.TestSuite
	Results []models.TestResult
}

// handleCaseShow handles GET /qa/cases/:id: the case and its latest results.
func (s *Server) handleCaseShow(c *fiber.Ctx) error {
	ctx := c.UserContext()
	tc, err := s.store.FindCase(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	suite, err := s.store.FindSuite(ctx, tc.SuiteID)
	if err != nil {
		return err
	}
	rs, err := s.store.CaseResults(ctx, tc.ID, 20)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplQACaseShow, casePage{Page: s.page(c, tc.Name, "qa"), Case: tc, Suite: suite, Results: rs})
}

// formOf shows a case in the form.
func formOf(tc *models.TestCase) caseForm {
	f := caseForm{SuiteID: tc.SuiteID, Name: tc.Name, Desc: tc.Description}
	for _, t := range tc.Turns {
		ft := formTurn{User: t.User}
		for _, a := range t.Expect {
			ft.Rows = append(ft.Rows, rowOf(a, true))
		}
		f.Turns = append(f.Turns, ft)
	}
	return f
}

// handleCaseEdit handles GET /qa/cases/:id/edit.
func (s *Server) handleCaseEdit(c *fiber.Ctx) error {
	tc, err := s.store.FindCase(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.renderCaseForm(c, fiber.StatusOK, caseFormPage{Case: tc, Action: "/qa/cases/" + tc.ID, Form: formOf(tc).withBlanks()})
}

// handleCaseUpdate handles POST /qa/cases/:id (its suite and status stay;
// Accept makes a proposed case active).
func (s *Server) handleCaseUpdate(c *fiber.Ctx) error {
	ctx := c.UserContext()
	cur, err := s.store.FindCase(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	f, err := parseCaseForm(c)
	if err != nil {
		return err
	}
	f.SuiteID = cur.SuiteID
	if c.FormValue("action") == "more" {
		return s.renderCaseForm(c, fiber.StatusOK, caseFormPage{Case: cur, Action: "/qa/cases/" + cur.ID, Form: f.withBlanks(), More: true})
	}
	tc, f, err := f.build()
	if err == nil {
		tc.ID, tc.Status = cur.ID, cur.Status
		_, err = s.store.UpdateCase(ctx, tc)
	}
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderCaseForm(c, fiber.StatusUnprocessableEntity, caseFormPage{Case: cur, Action: "/qa/cases/" + cur.ID, Form: f, Errors: fields})
	}
	if err != nil {
		return err
	}
	setFlash(c, "Case saved.")
	return redirect(c, "/qa/cases/"+cur.ID)
}

// handleCaseAccept handles POST /qa/cases/:id/accept: a proposed case joins
// the suite's runs.
func (s *Server) handleCaseAccept(c *fiber.Ctx) error {
	tc, err := s.store.FindCase(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	tc.Status = models.CaseActive
	if _, err := s.store.UpdateCase(c.UserContext(), *tc); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Case %q accepted: it runs with the suite from now on.", tc.Name))
	return redirect(c, "/qa/suites/"+tc.SuiteID)
}

// handleCaseDeleteConfirm handles GET /qa/cases/:id/delete.
func (s *Server) handleCaseDeleteConfirm(c *fiber.Ctx) error {
	tc, err := s.store.FindCase(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{Page: s.page(c, "Delete "+tc.Name, "qa"),
		Heading: fmt.Sprintf("Delete case %q?", tc.Name), Body: []string{"Past runs keep its results. This cannot be undone."},
		Action: "/qa/cases/" + tc.ID + "/delete", Button: "Delete case", Cancel: "/qa/cases/" + tc.ID})
}

// handleCaseDelete handles POST /qa/cases/:id/delete.
func (s *Server) handleCaseDelete(c *fiber.Ctx) error {
	tc, err := s.store.FindCase(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteCase(c.UserContext(), tc.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Case %q deleted.", tc.Name))
	return redirect(c, "/qa/suites/"+tc.SuiteID)
}
