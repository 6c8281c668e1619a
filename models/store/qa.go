package store

import (
	"context"
	"strconv"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parley/models"
)

// ---- suites ----

// CreateSuite validates and stores a suite of an existing bot; with Gate set,
// it becomes the bot's one gate suite. Errors: invalid (a field, the bot),
// conflict (the bot has a suite of that name: a field error on name).
func (s *Store) CreateSuite(ctx context.Context, ts models.TestSuite) (*models.TestSuite, error) {
	ts.ID = models.NewID()
	ts.Name = strings.TrimSpace(ts.Name)
	if err := ts.Validate(); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkIDs(tx, &models.Bot{}, []string{ts.BotID}, "botId", "bot"); err != nil {
			return err
		}
		if err := suiteNameFree(tx, ts.BotID, ts.Name, ""); err != nil {
			return err
		}
		if err := tx.Omit(clause.Associations).Create(&ts).Error; err != nil {
			return translate(err, "suite")
		}
		return s.oneGate(tx, &ts)
	})
	if err != nil {
		return nil, err
	}
	return &ts, nil
}

// UpdateSuite saves a suite's name, description and gate (its bot stays).
func (s *Store) UpdateSuite(ctx context.Context, ts models.TestSuite) (*models.TestSuite, error) {
	ts.Name = strings.TrimSpace(ts.Name)
	if err := ts.Validate(); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var cur models.TestSuite
		if err := tx.First(&cur, "id = ?", ts.ID).Error; err != nil {
			return translate(err, "suite")
		}
		if err := suiteNameFree(tx, cur.BotID, ts.Name, cur.ID); err != nil {
			return err
		}
		ts.BotID, ts.CreatedAt, ts.UpdatedAt = cur.BotID, cur.CreatedAt, s.now()
		if err := tx.Model(&models.TestSuite{}).Where("id = ?", ts.ID).Updates(map[string]any{
			"name": ts.Name, "description": ts.Description, "gate": ts.Gate, "updated_at": ts.UpdatedAt}).Error; err != nil {
			return translate(err, "suite")
		}
		return s.oneGate(tx, &ts)
	})
	if err != nil {
		return nil, err
	}
	return &ts, nil
}

func suiteNameFree(tx *gorm.DB, botID, name, except string) error {
	var n int64
	q := tx.Model(&models.TestSuite{}).Where("bot_id = ? AND name = ?", botID, name)
	if except != "" {
		q = q.Where("id <> ?", except)
	}
	if err := q.Count(&n).Error; err != nil {
		return translate(err, "suite")
	}
	if n > 0 {
		return models.FieldError("name", "This bot already has a suite with that name.")
	}
	return nil
}

// oneGate makes ts the bot's only gate suite when it is one.
func (s *Store) oneGate(tx *gorm.DB, ts *models.TestSuite) error {
	if !ts.Gate {
		return nil
	}
	err := tx.Model(&models.TestSuite{}).Where("bot_id = ? AND id <> ? AND gate", ts.BotID, ts.ID).Update("gate", false).Error
	return translate(err, "suite")
}

// FindSuite returns a suite with its bot (id and name).
func (s *Store) FindSuite(ctx context.Context, id string) (*models.TestSuite, error) {
	if !models.ValidID(id) {
		return nil, notFound("suite")
	}
	var ts models.TestSuite
	err := s.conn(ctx).Preload("Bot", func(db *gorm.DB) *gorm.DB { return db.Select("id", "name") }).First(&ts, "id = ?", id).Error
	if err != nil {
		return nil, translate(err, "suite")
	}
	return &ts, nil
}

// SuiteFilter narrows a suite listing.
type SuiteFilter struct {
	models.Page
	BotID string
	// Name, when set, lists only suites with this exact name.
	Name string
}

// FindSuites lists suites with their bots, newest first, one cursor page at a time.
func (s *Store) FindSuites(ctx context.Context, f SuiteFilter) ([]models.TestSuite, string, error) {
	q := s.conn(ctx).Model(&models.TestSuite{}).Preload("Bot", func(db *gorm.DB) *gorm.DB { return db.Select("id", "name") })
	if f.BotID != "" {
		q = q.Where("bot_id = ?", f.BotID)
	}
	if f.Name != "" {
		q = q.Where("name = ?", f.Name)
	}
	items, next, err := paginate(q, f.Page, "id", func(t *models.TestSuite) string { return t.ID })
	return items, next, translate(err, "suites")
}

// GateSuite returns the bot's gate suite, or nil when it has none.
func (s *Store) GateSuite(ctx context.Context, botID string) (*models.TestSuite, error) {
	var ts []models.TestSuite
	if err := s.conn(ctx).Where("bot_id = ? AND gate", botID).Limit(1).Find(&ts).Error; err != nil {
		return nil, translate(err, "suite")
	}
	if len(ts) == 0 {
		return nil, nil
	}
	return &ts[0], nil
}

// DeleteSuite deletes a suite with its cases, checks, runs and results (the
// scratch conversations of its runs stay, as test data).
func (s *Store) DeleteSuite(ctx context.Context, id string) error {
	return s.deleteRow(ctx, &models.TestSuite{}, id, "suite",
		"DELETE FROM test_results WHERE run_id IN (SELECT id FROM test_runs WHERE suite_id = ?)",
		"DELETE FROM test_runs WHERE suite_id = ?",
		"DELETE FROM retrieval_checks WHERE suite_id = ?",
		"DELETE FROM test_cases WHERE suite_id = ?")
}

// CountSuiteItems counts a suite's cases by status and its checks.
func (s *Store) CountSuiteItems(ctx context.Context, suiteID string) (active, proposed, checks int64, err error) {
	db := s.conn(ctx)
	if err = db.Model(&models.TestCase{}).Where("suite_id = ? AND status = ?", suiteID, models.CaseActive).Count(&active).Error; err != nil {
		return 0, 0, 0, translate(err, "cases")
	}
	if err = db.Model(&models.TestCase{}).Where("suite_id = ? AND status = ?", suiteID, models.CaseProposed).Count(&proposed).Error; err != nil {
		return 0, 0, 0, translate(err, "cases")
	}
	if err = db.Model(&models.RetrievalCheck{}).Where("suite_id = ?", suiteID).Count(&checks).Error; err != nil {
		return 0, 0, 0, translate(err, "checks")
	}
	return active, proposed, checks, nil
}

// ---- cases ----

// CreateCase validates and stores a case of an existing suite (active unless
// proposed). Errors: invalid (a field, the suite), conflict (a case of that
// name in the suite: a field error on name).
func (s *Store) CreateCase(ctx context.Context, c models.TestCase) (*models.TestCase, error) {
	c.ID = models.NewID()
	c.Name = strings.TrimSpace(c.Name)
	if c.Status == "" {
		c.Status = models.CaseActive
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkIDs(tx, &models.TestSuite{}, []string{c.SuiteID}, "suiteId", "suite"); err != nil {
			return err
		}
		if err := caseNameFree(tx, c.SuiteID, c.Name, ""); err != nil {
			return err
		}
		return translate(tx.Create(&c).Error, "case")
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// UpdateCase saves a case's name, description, status and turns (its suite
// and source stay).
func (s *Store) UpdateCase(ctx context.Context, c models.TestCase) (*models.TestCase, error) {
	c.Name = strings.TrimSpace(c.Name)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var out models.TestCase
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&out, "id = ?", c.ID).Error; err != nil {
			return translate(err, "case")
		}
		if err := caseNameFree(tx, out.SuiteID, c.Name, out.ID); err != nil {
			return err
		}
		out.Name, out.Description, out.Status, out.Turns, out.UpdatedAt = c.Name, c.Description, c.Status, c.Turns, s.now()
		return translate(tx.Model(&models.TestCase{}).Where("id = ?", out.ID).
			Select("name", "description", "status", "turns", "updated_at").Updates(&out).Error, "case")
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func caseNameFree(tx *gorm.DB, suiteID, name, except string) error {
	var n int64
	q := tx.Model(&models.TestCase{}).Where("suite_id = ? AND name = ?", suiteID, name)
	if except != "" {
		q = q.Where("id <> ?", except)
	}
	if err := q.Count(&n).Error; err != nil {
		return translate(err, "case")
	}
	if n > 0 {
		return models.FieldError("name", "The suite already has a case with that name.")
	}
	return nil
}

// FindCase returns one case.
func (s *Store) FindCase(ctx context.Context, id string) (*models.TestCase, error) {
	if !models.ValidID(id) {
		return nil, notFound("case")
	}
	var c models.TestCase
	if err := s.conn(ctx).First(&c, "id = ?", id).Error; err != nil {
		return nil, translate(err, "case")
	}
	return &c, nil
}

// CaseFilter narrows a case listing.
type CaseFilter struct {
	models.Page
	SuiteID string
	Status  string // "" for every status
}

// FindCases lists a suite's cases, one cursor page at a time (by id:
// oldest first with Order asc).
func (s *Store) FindCases(ctx context.Context, f CaseFilter) ([]models.TestCase, string, error) {
	q := s.conn(ctx).Model(&models.TestCase{}).Where("suite_id = ?", f.SuiteID)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	items, next, err := paginate(q, f.Page, "id", func(c *models.TestCase) string { return c.ID })
	return items, next, translate(err, "cases")
}

// DeleteCase deletes a case (its past results stay in their runs).
func (s *Store) DeleteCase(ctx context.Context, id string) error {
	return s.deleteRow(ctx, &models.TestCase{}, id, "case")
}

// ---- retrieval checks ----

// CreateCheck validates and stores a retrieval check of a suite: the dataset
// must exist and hold the record (whose source names it). Errors: invalid
// (named by field).
func (s *Store) CreateCheck(ctx context.Context, r models.RetrievalCheck) (*models.RetrievalCheck, error) {
	r.ID = models.NewID()
	r.Query = strings.TrimSpace(r.Query)
	r.RecordID = strings.TrimSpace(r.RecordID)
	if r.TopK == 0 {
		r.TopK = models.DefaultSearchMaxRecords
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkIDs(tx, &models.TestSuite{}, []string{r.SuiteID}, "suiteId", "suite"); err != nil {
			return err
		}
		if err := checkIDs(tx, &models.Dataset{}, []string{r.DatasetID}, "datasetId", "dataset"); err != nil {
			return err
		}
		var recs []models.DatasetRecord
		if models.ValidID(r.RecordID) {
			if err := tx.Select("id", "source").Where("id = ? AND dataset_id = ?", r.RecordID, r.DatasetID).Limit(1).Find(&recs).Error; err != nil {
				return translate(err, "record")
			}
		}
		if len(recs) == 0 {
			return models.FieldError("recordId", "The dataset has no record with this id: copy it from the dataset's page.")
		}
		r.Source = recs[0].Source
		return translate(tx.Omit(clause.Associations).Create(&r).Error, "check")
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// FindCheck returns one retrieval check.
func (s *Store) FindCheck(ctx context.Context, id string) (*models.RetrievalCheck, error) {
	if !models.ValidID(id) {
		return nil, notFound("retrieval check")
	}
	var r models.RetrievalCheck
	if err := s.conn(ctx).First(&r, "id = ?", id).Error; err != nil {
		return nil, translate(err, "retrieval check")
	}
	return &r, nil
}

// CheckFilter narrows a retrieval check listing: a suite's or a dataset's.
type CheckFilter struct {
	models.Page
	SuiteID   string
	DatasetID string
}

// FindChecks lists retrieval checks, one cursor page at a time.
func (s *Store) FindChecks(ctx context.Context, f CheckFilter) ([]models.RetrievalCheck, string, error) {
	q := s.conn(ctx).Model(&models.RetrievalCheck{})
	if f.SuiteID != "" {
		q = q.Where("suite_id = ?", f.SuiteID)
	}
	if f.DatasetID != "" {
		q = q.Where("dataset_id = ?", f.DatasetID)
	}
	items, next, err := paginate(q, f.Page, "id", func(r *models.RetrievalCheck) string { return r.ID })
	return items, next, translate(err, "retrieval checks")
}

// DeleteCheck deletes a retrieval check.
func (s *Store) DeleteCheck(ctx context.Context, id string) error {
	return s.deleteRow(ctx, &models.RetrievalCheck{}, id, "retrieval check")
}

// ---- runs ----

// CreateRun stores a queued run of its suite with one pending result per
// active case (in id order) and then per retrieval check, in one
// transaction; Total counts them. Errors: not_found (the suite), invalid
// (nothing to run).
func (s *Store) CreateRun(ctx context.Context, run models.TestRun) (*models.TestRun, error) {
	run.ID = models.NewID()
	run.Status = models.RunQueued
	run.CreatedAt = s.now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var suite models.TestSuite
		if err := tx.Select("id", "bot_id").First(&suite, "id = ?", run.SuiteID).Error; err != nil {
			return translate(err, "suite")
		}
		run.BotID = suite.BotID
		var cases []models.TestCase
		if err := tx.Select("id", "name").Where("suite_id = ? AND status = ?", suite.ID, models.CaseActive).
			Order("id").Limit(models.MaxSuiteItems).Find(&cases).Error; err != nil {
			return translate(err, "cases")
		}
		var checks []models.RetrievalCheck
		if err := tx.Select("id", "query").Where("suite_id = ?", suite.ID).Order("id").
			Limit(models.MaxSuiteItems - len(cases)).Find(&checks).Error; err != nil {
			return translate(err, "checks")
		}
		run.Total = len(cases) + len(checks)
		if run.Total == 0 {
			return models.Errorf(models.CodeInvalid, "The suite has no cases or retrieval checks to run yet: add one first.")
		}
		if err := tx.Create(&run).Error; err != nil {
			return translate(err, "run")
		}
		results := make([]models.TestResult, 0, run.Total)
		for _, c := range cases {
			id := c.ID
			results = append(results, models.TestResult{ID: models.NewID(), RunID: run.ID, Seq: len(results) + 1, CaseID: &id,
				Name: c.Name, Status: models.ResultPending, CreatedAt: run.CreatedAt, UpdatedAt: run.CreatedAt})
		}
		for _, k := range checks {
			id := k.ID
			results = append(results, models.TestResult{ID: models.NewID(), RunID: run.ID, Seq: len(results) + 1, CheckID: &id,
				Name: "Retrieval: " + models.TruncateUTF8(k.Query, 180), Status: models.ResultPending, CreatedAt: run.CreatedAt, UpdatedAt: run.CreatedAt})
		}
		return translate(tx.CreateInBatches(&results, 200).Error, "results")
	})
	if err != nil {
		return nil, err
	}
	return &run, nil
}

// FindRun returns one run.
func (s *Store) FindRun(ctx context.Context, id string) (*models.TestRun, error) {
	if !models.ValidID(id) {
		return nil, notFound("run")
	}
	var r models.TestRun
	if err := s.conn(ctx).First(&r, "id = ?", id).Error; err != nil {
		return nil, translate(err, "run")
	}
	return &r, nil
}

// FindRuns lists a suite's runs, newest first, one cursor page at a time.
func (s *Store) FindRuns(ctx context.Context, suiteID string, p models.Page) ([]models.TestRun, string, error) {
	q := s.conn(ctx).Model(&models.TestRun{}).Omit("pinned").Where("suite_id = ?", suiteID)
	items, next, err := paginate(q, p, "id", func(r *models.TestRun) string { return r.ID })
	return items, next, translate(err, "runs")
}

// PreviousRun returns the latest finished run of the suite before run (nil
// when there is none), for "compare with previous run".
func (s *Store) PreviousRun(ctx context.Context, run *models.TestRun) (*models.TestRun, error) {
	var rs []models.TestRun
	err := s.conn(ctx).Omit("pinned").Where("suite_id = ? AND id < ? AND status IN ?", run.SuiteID, run.ID,
		[]string{models.RunPassed, models.RunFailed}).Order("id DESC").Limit(1).Find(&rs).Error
	if err != nil {
		return nil, translate(err, "runs")
	}
	if len(rs) == 0 {
		return nil, nil
	}
	return &rs[0], nil
}

// UnfinishedRuns lists (up to limit, by id, after after; "": from the first)
// runs queued or running, oldest first, for resuming them at start-up.
func (s *Store) UnfinishedRuns(ctx context.Context, after string, limit int) ([]models.TestRun, error) {
	var rs []models.TestRun
	err := s.conn(ctx).Where("status IN ? AND id > ?", []string{models.RunQueued, models.RunRunning}, after).Order("id").Limit(limit).Find(&rs).Error
	return rs, translate(err, "runs")
}

// MarkRunRunning marks a run running (from now, unless it started before);
// resumed counts one more restart survived.
func (s *Store) MarkRunRunning(ctx context.Context, id string, resumed bool) (*models.TestRun, error) {
	now := s.now()
	updates := map[string]any{"status": models.RunRunning, "started_at": gorm.Expr("COALESCE(started_at, ?)", now)}
	if resumed {
		updates["resumed"] = gorm.Expr("resumed + 1")
	}
	res := s.conn(ctx).Model(&models.TestRun{}).Where("id = ? AND status IN ?", id, []string{models.RunQueued, models.RunRunning}).Updates(updates)
	if res.Error != nil {
		return nil, translate(res.Error, "run")
	}
	if res.RowsAffected == 0 {
		return nil, models.Errorf(models.CodeConflict, "This run has finished already.")
	}
	return s.FindRun(ctx, id)
}

// PendingResults returns up to limit of a run's pending results after seq
// afterSeq, in order.
func (s *Store) PendingResults(ctx context.Context, runID string, afterSeq, limit int) ([]models.TestResult, error) {
	var rs []models.TestResult
	err := s.conn(ctx).Where("run_id = ? AND status = ? AND seq > ?", runID, models.ResultPending, afterSeq).
		Order("seq").Limit(limit).Find(&rs).Error
	return rs, translate(err, "results")
}

// FinishResult stores a pending result's outcome and counts it in its run,
// in one transaction; a result finished already is left as it was
// (finished false).
func (s *Store) FinishResult(ctx context.Context, r models.TestResult) (finished bool, err error) {
	err = s.tx(ctx, func(tx *gorm.DB) error {
		r.UpdatedAt = s.now()
		res := tx.Model(&models.TestResult{}).Where("id = ? AND status = ?", r.ID, models.ResultPending).
			Select("status", "message", "conversation_id", "duration_ms", "assertions", "updated_at").Updates(&r)
		if res.Error != nil {
			return translate(res.Error, "result")
		}
		if res.RowsAffected == 0 {
			return nil
		}
		finished = true
		col := map[string]string{models.ResultPass: "passed", models.ResultFail: "failed", models.ResultError: "errored"}[r.Status]
		updates := map[string]any{"done": gorm.Expr("done + 1")}
		if col != "" {
			updates[col] = gorm.Expr(col + " + 1")
		}
		return translate(tx.Model(&models.TestRun{}).Where("id = ?", r.RunID).Updates(updates).Error, "run")
	})
	return finished, err
}

// FinishRun ends a run with status (passed or failed are worked out from its
// results when status is ""), skipping what is still pending with why, and
// recounts its figures from its results.
func (s *Store) FinishRun(ctx context.Context, id, status, why string) (*models.TestRun, error) {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		if err := tx.Model(&models.TestResult{}).Where("run_id = ? AND status = ?", id, models.ResultPending).
			Updates(map[string]any{"status": models.ResultSkipped, "message": why, "updated_at": now}).Error; err != nil {
			return translate(err, "results")
		}
		var counts []struct {
			Status string
			N      int
		}
		if err := tx.Model(&models.TestResult{}).Select("status, COUNT(*) AS n").Where("run_id = ?", id).Group("status").Scan(&counts).Error; err != nil {
			return translate(err, "results")
		}
		by := map[string]int{}
		for _, c := range counts {
			by[c.Status] = c.N
		}
		if status == "" {
			status = models.RunPassed
			if by[models.ResultFail]+by[models.ResultError] > 0 {
				status = models.RunFailed
			}
		}
		return translate(tx.Model(&models.TestRun{}).Where("id = ?", id).Updates(map[string]any{
			"status": status, "finished_at": now, "error": why,
			"done":   by[models.ResultPass] + by[models.ResultFail] + by[models.ResultError],
			"passed": by[models.ResultPass], "failed": by[models.ResultFail], "errored": by[models.ResultError]}).Error, "run")
	})
	if err != nil {
		return nil, err
	}
	return s.FindRun(ctx, id)
}

// RequestCancel asks a run to stop (whichever instance runs it reads the
// flag between cases). Errors: not_found, conflict (finished already).
func (s *Store) RequestCancel(ctx context.Context, id string) error {
	if !models.ValidID(id) {
		return notFound("run")
	}
	res := s.conn(ctx).Model(&models.TestRun{}).Where("id = ? AND status IN ?", id, []string{models.RunQueued, models.RunRunning}).
		Update("cancel_requested", true)
	if res.Error != nil {
		return translate(res.Error, "run")
	}
	if res.RowsAffected == 0 {
		if _, err := s.FindRun(ctx, id); err != nil {
			return err
		}
		return models.Errorf(models.CodeConflict, "This run has finished already.")
	}
	return nil
}

// CancelRequested reports whether someone asked the run to stop.
func (s *Store) CancelRequested(ctx context.Context, id string) (bool, error) {
	var rs []models.TestRun
	if err := s.conn(ctx).Select("id", "cancel_requested").Where("id = ?", id).Limit(1).Find(&rs).Error; err != nil {
		return false, translate(err, "run")
	}
	return len(rs) == 1 && rs[0].CancelRequested, nil
}

// FindResults lists a run's results in order: limit of them after seq
// afterSeq; next is the afterSeq of the following page (0 on the last).
func (s *Store) FindResults(ctx context.Context, runID string, afterSeq, limit int) ([]models.TestResult, int, error) {
	limit = models.Page{Limit: limit}.Normalize().Limit
	var rs []models.TestResult
	err := s.conn(ctx).Where("run_id = ? AND seq > ?", runID, afterSeq).Order("seq").Limit(limit + 1).Find(&rs).Error
	if err != nil {
		return nil, 0, translate(err, "results")
	}
	next := 0
	if len(rs) > limit {
		rs = rs[:limit]
		next = rs[limit-1].Seq
	}
	return rs, next, nil
}

// ResultOutcome is a result's item and status, for comparing runs.
type ResultOutcome struct {
	Seq     int
	CaseID  *string
	CheckID *string
	Name    string
	Status  string
}

// Key identifies the result's item across runs.
func (o ResultOutcome) Key() string {
	if o.CaseID != nil {
		return "case:" + *o.CaseID
	}
	if o.CheckID != nil {
		return "check:" + *o.CheckID
	}
	return "seq:" + o.Name
}

// RunOutcomes returns the status of each item of a run (at most
// MaxSuiteItems, without their assertions).
func (s *Store) RunOutcomes(ctx context.Context, runID string) ([]ResultOutcome, error) {
	var out []ResultOutcome
	err := s.conn(ctx).Model(&models.TestResult{}).Select("seq", "case_id", "check_id", "name", "status").
		Where("run_id = ?", runID).Order("seq").Limit(models.MaxSuiteItems).Scan(&out).Error
	return out, translate(err, "results")
}

// CaseResults lists the latest results of a case across runs (newest first,
// at most limit).
func (s *Store) CaseResults(ctx context.Context, caseID string, limit int) ([]models.TestResult, error) {
	var rs []models.TestResult
	err := s.conn(ctx).Where("case_id = ? AND status <> ?", caseID, models.ResultPending).Order("id DESC").Limit(limit).Find(&rs).Error
	return rs, translate(err, "results")
}

// GateRuns returns, for each version number given, the latest finished run
// of the suite against that version (drafts never count).
func (s *Store) GateRuns(ctx context.Context, suiteID string, versions []int) (map[int]*models.TestRun, error) {
	out := map[int]*models.TestRun{}
	if len(versions) == 0 {
		return out, nil
	}
	var rs []models.TestRun
	err := s.conn(ctx).Omit("pinned").Where("suite_id = ? AND target <> ? AND version IN ? AND status IN ?", suiteID,
		models.TargetDraft, versions, []string{models.RunPassed, models.RunFailed}).Order("id").Limit(1000).Find(&rs).Error
	if err != nil {
		return nil, translate(err, "runs")
	}
	for i := range rs {
		out[rs[i].Version] = &rs[i] // later runs replace earlier ones
	}
	return out, nil
}

// ---- replays ----

// CreateReplay stores a queued replay with its turns (the original user
// messages, in order) in one transaction.
func (s *Store) CreateReplay(ctx context.Context, rp models.Replay, turns []models.ReplayTurn) (*models.Replay, error) {
	rp.ID = models.NewID()
	rp.Status = models.RunQueued
	rp.CreatedAt = s.now()
	rp.Total = len(turns)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&rp).Error; err != nil {
			return translate(err, "replay")
		}
		for i := range turns {
			turns[i].ReplayID, turns[i].Seq = rp.ID, i+1
		}
		if len(turns) == 0 {
			return nil
		}
		return translate(tx.CreateInBatches(&turns, 200).Error, "replay turns")
	})
	if err != nil {
		return nil, err
	}
	return &rp, nil
}

// FindReplay returns one replay.
func (s *Store) FindReplay(ctx context.Context, id string) (*models.Replay, error) {
	if !models.ValidID(id) {
		return nil, notFound("replay")
	}
	var rp models.Replay
	if err := s.conn(ctx).First(&rp, "id = ?", id).Error; err != nil {
		return nil, translate(err, "replay")
	}
	return &rp, nil
}

// FindReplays lists replays, newest first (of one conversation when
// sourceID is set), one cursor page at a time.
func (s *Store) FindReplays(ctx context.Context, sourceID string, p models.Page) ([]models.Replay, string, error) {
	q := s.conn(ctx).Model(&models.Replay{}).Omit("pinned")
	if sourceID != "" {
		q = q.Where("source_conversation_id = ?", sourceID)
	}
	items, next, err := paginate(q, p, "id", func(r *models.Replay) string { return r.ID })
	return items, next, translate(err, "replays")
}

// FindReplayTurns returns a replay's turns in order (at most MaxReplayTurns).
func (s *Store) FindReplayTurns(ctx context.Context, replayID string) ([]models.ReplayTurn, error) {
	var ts []models.ReplayTurn
	err := s.conn(ctx).Where("replay_id = ?", replayID).Order("seq").Limit(models.MaxReplayTurns).Find(&ts).Error
	return ts, translate(err, "replay turns")
}

// SetReplayConversation records the replay's scratch conversation and marks it running.
func (s *Store) SetReplayConversation(ctx context.Context, id, convID string) error {
	return translate(s.conn(ctx).Model(&models.Replay{}).Where("id = ?", id).
		Updates(map[string]any{"conversation_id": convID, "status": models.RunRunning}).Error, "replay")
}

// FinishReplayTurn stores a replayed turn's pair and what changed, and
// counts it in its replay, in one transaction.
func (s *Store) FinishReplayTurn(ctx context.Context, t models.ReplayTurn) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&models.ReplayTurn{}).Where("replay_id = ? AND seq = ?", t.ReplayID, t.Seq).
			Select("new_turn_id", "text_changed", "records_changed", "calls_changed").Updates(&t).Error; err != nil {
			return translate(err, "replay turn")
		}
		updates := map[string]any{"done": gorm.Expr("done + 1")}
		if t.Changed() {
			updates["changed"] = gorm.Expr("changed + 1")
		}
		return translate(tx.Model(&models.Replay{}).Where("id = ?", t.ReplayID).Updates(updates).Error, "replay")
	})
}

// FinishReplay ends a replay with status and, when it failed, why.
func (s *Store) FinishReplay(ctx context.Context, id, status, why string) error {
	return translate(s.conn(ctx).Model(&models.Replay{}).Where("id = ?", id).
		Updates(map[string]any{"status": status, "error": why, "finished_at": s.now()}).Error, "replay")
}

// UnfinishedReplays lists (up to limit, by id, after after; "": from the
// first) replays queued or running.
func (s *Store) UnfinishedReplays(ctx context.Context, after string, limit int) ([]models.Replay, error) {
	var rs []models.Replay
	err := s.conn(ctx).Where("status IN ? AND id > ?", []string{models.RunQueued, models.RunRunning}, after).Order("id").Limit(limit).Find(&rs).Error
	return rs, translate(err, "replays")
}

// RecordsExist returns which of the record ids exist (for importing suite
// files made on another database).
func (s *Store) RecordsExist(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	var valid []string
	for _, id := range ids {
		if models.ValidID(id) {
			valid = append(valid, id)
		}
	}
	for len(valid) > 0 {
		n := min(len(valid), 500)
		var found []string
		if err := s.conn(ctx).Model(&models.DatasetRecord{}).Where("id IN ?", valid[:n]).Pluck("id", &found).Error; err != nil {
			return nil, translate(err, "records")
		}
		for _, id := range found {
			out[id] = true
		}
		valid = valid[n:]
	}
	return out, nil
}

// ImportCounts says what ReplaceSuite did.
type ImportCounts struct {
	SuiteCreated              bool
	Created, Updated, Deleted int
	Checks                    int
	Suite                     *models.TestSuite
}

// ReplaceSuite makes a bot's suite named ts.Name hold exactly the given
// active cases (matched by name: updated, created, and those missing
// deleted; proposed cases stay for QA to review) and retrieval checks
// (replaced), creating the suite when the bot has none of that name — all in
// one transaction, so a suite file imports whole or not at all. Cases and
// checks must be valid already. Errors: invalid (the bot, a check's dataset
// or record).
func (s *Store) ReplaceSuite(ctx context.Context, ts models.TestSuite, cases []models.TestCase, checks []models.RetrievalCheck) (*ImportCounts, error) {
	ts.Name = strings.TrimSpace(ts.Name)
	if err := ts.Validate(); err != nil {
		return nil, err
	}
	out := &ImportCounts{}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkIDs(tx, &models.Bot{}, []string{ts.BotID}, "bot", "bot"); err != nil {
			return err
		}
		var found []models.TestSuite
		if err := tx.Where("bot_id = ? AND name = ?", ts.BotID, ts.Name).Limit(1).Find(&found).Error; err != nil {
			return translate(err, "suite")
		}
		now := s.now()
		if len(found) == 0 {
			ts.ID, ts.CreatedAt, ts.UpdatedAt = models.NewID(), now, now
			if err := tx.Omit(clause.Associations).Create(&ts).Error; err != nil {
				return translate(err, "suite")
			}
			out.SuiteCreated = true
		} else {
			ts.ID, ts.CreatedAt, ts.UpdatedAt = found[0].ID, found[0].CreatedAt, now
			if err := tx.Model(&models.TestSuite{}).Where("id = ?", ts.ID).Updates(map[string]any{
				"description": ts.Description, "gate": ts.Gate, "updated_at": now}).Error; err != nil {
				return translate(err, "suite")
			}
		}
		if err := s.oneGate(tx, &ts); err != nil {
			return err
		}
		var have []models.TestCase
		if err := tx.Select("id", "name", "status").Where("suite_id = ?", ts.ID).Limit(models.MaxSuiteItems).Find(&have).Error; err != nil {
			return translate(err, "cases")
		}
		byName := map[string]models.TestCase{}
		for _, c := range have {
			byName[c.Name] = c
		}
		keep := map[string]bool{}
		for _, c := range cases {
			c.Name = strings.TrimSpace(c.Name)
			if keep[c.Name] {
				return models.FieldError("cases", "Two cases are named "+c.Name+": names must differ within a suite.")
			}
			keep[c.Name] = true
			c.SuiteID, c.UpdatedAt = ts.ID, now
			if c.Status == "" {
				c.Status = models.CaseActive
			}
			if prev, ok := byName[c.Name]; ok {
				c.ID = prev.ID
				if err := tx.Model(&models.TestCase{}).Where("id = ?", c.ID).
					Select("description", "status", "turns", "created_by", "updated_at").Updates(&c).Error; err != nil {
					return translate(err, "case")
				}
				out.Updated++
				continue
			}
			c.ID, c.CreatedAt = models.NewID(), now
			if err := tx.Create(&c).Error; err != nil {
				return translate(err, "case")
			}
			out.Created++
		}
		for _, c := range have {
			if !keep[c.Name] && c.Status == models.CaseActive {
				if err := tx.Delete(&models.TestCase{}, "id = ?", c.ID).Error; err != nil {
					return translate(err, "case")
				}
				out.Deleted++
			}
		}
		if err := tx.Where("suite_id = ?", ts.ID).Delete(&models.RetrievalCheck{}).Error; err != nil {
			return translate(err, "checks")
		}
		for i, k := range checks {
			var recs []models.DatasetRecord
			if err := tx.Select("id", "source").Where("id = ? AND dataset_id = ?", k.RecordID, k.DatasetID).Limit(1).Find(&recs).Error; err != nil {
				return translate(err, "record")
			}
			if len(recs) == 0 {
				return models.FieldError("checks", "Check "+strconv.Itoa(i+1)+": the dataset has no record "+k.RecordID+".")
			}
			k.ID, k.SuiteID, k.Source, k.CreatedAt = models.NewID(), ts.ID, recs[0].Source, now
			if err := tx.Omit(clause.Associations).Create(&k).Error; err != nil {
				return translate(err, "check")
			}
			out.Checks++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Suite = &ts
	return out, nil
}

// FindBotByRef finds a bot by alias, id or (when unique) name. Errors:
// not_found, invalid (several bots have that name).
func (s *Store) FindBotByRef(ctx context.Context, ref string) (*models.Bot, error) {
	ref = strings.TrimSpace(ref)
	var bots []models.Bot
	q := s.conn(ctx).Select("id", "name", "alias")
	if models.ValidID(ref) {
		q = q.Where("alias = ? OR id = ? OR name = ?", ref, ref, ref)
	} else {
		q = q.Where("alias = ? OR name = ?", ref, ref)
	}
	if err := q.Limit(10).Find(&bots).Error; err != nil {
		return nil, translate(err, "bot")
	}
	for _, b := range bots {
		if b.ID == ref || (b.Alias != nil && *b.Alias == ref) {
			return &b, nil
		}
	}
	switch len(bots) {
	case 0:
		return nil, models.Errorf(models.CodeNotFound, "No bot has the alias, id or name %q.", ref)
	case 1:
		return &bots[0], nil
	}
	return nil, models.Errorf(models.CodeInvalid, "Several bots are named %q: use the bot's alias or id.", ref)
}

// FindDatasetByRef finds a dataset by alias, id or (when unique) name.
// Errors: not_found, invalid (several datasets have that name).
func (s *Store) FindDatasetByRef(ctx context.Context, ref string) (*models.Dataset, error) {
	ref = strings.TrimSpace(ref)
	var ds []models.Dataset
	q := s.conn(ctx).Select("id", "name", "alias")
	if models.ValidID(ref) {
		q = q.Where("alias = ? OR id = ? OR name = ?", ref, ref, ref)
	} else {
		q = q.Where("alias = ? OR name = ?", ref, ref)
	}
	if err := q.Limit(10).Find(&ds).Error; err != nil {
		return nil, translate(err, "dataset")
	}
	for _, d := range ds {
		if d.ID == ref || (d.Alias != nil && *d.Alias == ref) {
			return &d, nil
		}
	}
	switch len(ds) {
	case 0:
		return nil, models.Errorf(models.CodeNotFound, "No dataset has the alias, id or name %q.", ref)
	case 1:
		return &ds[0], nil
	}
	return nil, models.Errorf(models.CodeInvalid, "Several datasets are named %q: use the dataset's alias or id.", ref)
}
