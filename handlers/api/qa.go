package api

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/app/qa"
	"parley/models"
	"parley/models/store"
)

// suiteJSON is a test suite, as Parley's extension shows it.
type suiteJSON struct {
	ID          string `json:"id"`
	BotID       string `json:"botId"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Gate        bool   `json:"gate"`
	CreatedAt   int64  `json:"createdAt"`
	UpdatedAt   int64  `json:"updatedAt"`
}

func toSuite(s *models.TestSuite) suiteJSON {
	return suiteJSON{ID: s.ID, BotID: s.BotID, Name: s.Name, Description: s.Description, Gate: s.Gate,
		CreatedAt: ms(s.CreatedAt), UpdatedAt: ms(s.UpdatedAt)}
}

// runRequest is the body of test/suite/{suiteId}/run.
type runRequest struct {
	// Target is current (default: the bot's latest version), version or draft.
	Target  string `json:"target" validate:"omitempty,oneof=current version draft"`
	Version int    `json:"version" validate:"min=0"`
	// Backstory, Model and Moderation are the draft's (target draft).
	Backstory  string `json:"backstory" validate:"max=100000"`
	Model      string `json:"model" validate:"max=200"`
	Moderation bool   `json:"moderation"`
}

// resultJSON is one case's or check's result in a run.
type resultJSON struct {
	Seq            int                      `json:"seq"`
	CaseID         *string                  `json:"caseId,omitempty"`
	CheckID        *string                  `json:"checkId,omitempty"`
	Name           string                   `json:"name"`
	Status         string                   `json:"status"`
	Message        string                   `json:"message"`
	ConversationID *string                  `json:"conversationId,omitempty"`
	DurationMs     int64                    `json:"durationMs"`
	Assertions     []models.AssertionResult `json:"assertions"`
}

// runJSON is a run with (on fetch) its results.
type runJSON struct {
	ID         string       `json:"id"`
	SuiteID    string       `json:"suiteId"`
	BotID      string       `json:"botId"`
	Target     string       `json:"target"`
	Version    int          `json:"version"`
	Status     string       `json:"status"`
	Total      int          `json:"total"`
	Done       int          `json:"done"`
	Passed     int          `json:"passed"`
	Failed     int          `json:"failed"`
	Errored    int          `json:"errored"`
	Resumed    int          `json:"resumed"`
	CreatedAt  int64        `json:"createdAt"`
	FinishedAt *int64       `json:"finishedAt,omitempty"`
	Results    []resultJSON `json:"results,omitempty"`
}

// ToRunJSON is a run (and its results) as the API and `parley test run
// --json` show it.
func ToRunJSON(r *models.TestRun, results []models.TestResult) any { return toRun(r, results) }

func toRun(r *models.TestRun, results []models.TestResult) runJSON {
	out := runJSON{ID: r.ID, SuiteID: r.SuiteID, BotID: r.BotID, Target: r.Target, Version: r.Version, Status: r.Status,
		Total: r.Total, Done: r.Done, Passed: r.Passed, Failed: r.Failed, Errored: r.Errored, Resumed: r.Resumed, CreatedAt: ms(r.CreatedAt)}
	if r.FinishedAt != nil {
		f := ms(*r.FinishedAt)
		out.FinishedAt = &f
	}
	for _, x := range results {
		if x.Assertions == nil {
			x.Assertions = []models.AssertionResult{}
		}
		out.Results = append(out.Results, resultJSON{Seq: x.Seq, CaseID: x.CaseID, CheckID: x.CheckID, Name: x.Name, Status: x.Status,
			Message: x.Message, ConversationID: x.ConversationID, DurationMs: x.DurationMs, Assertions: x.Assertions})
	}
	return out
}

// handleSuiteList handles GET /api/v1/test/suite/list.
func (a *API) handleSuiteList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	return sendList(a, c, p, func(ctx context.Context, p models.Page) ([]models.TestSuite, string, error) {
		return a.store.FindSuites(ctx, store.SuiteFilter{Page: p})
	}, toSuite, func(s *models.TestSuite) string { return s.ID })
}

// handleRunStart handles POST /api/v1/test/suite/{suiteId}/run: start a run
// in the background; fetch it to follow it.
func (a *API) handleRunStart(c *fiber.Ctx) error {
	var r runRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	in := qa.RunInput{SuiteID: c.Params("suiteId"), Target: r.Target, Version: r.Version, StartedBy: by(c)}
	if r.Target == models.TargetDraft {
		in.Draft = &qa.Draft{Backstory: r.Backstory, Model: strings.TrimSpace(r.Model), Moderation: r.Moderation}
		if in.Draft.Model != "" {
			if err := a.checkModel(c.UserContext(), &in.Draft.Model); err != nil {
				return err
			}
		}
	}
	run, err := a.opts.QA.Start(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.JSON(toRun(run, nil))
}

// handleRunFetch handles GET /api/v1/test/run/{runId}/fetch: a run with its
// results per case and per assertion.
func (a *API) handleRunFetch(c *fiber.Ctx) error {
	run, err := a.store.FindRun(c.UserContext(), c.Params("runId"))
	if err != nil {
		return err
	}
	rs, err := qa.Results(c.UserContext(), a.store, run.ID)
	if err != nil {
		return err
	}
	return c.JSON(toRun(run, rs))
}

// handleRunCancel handles POST /api/v1/test/run/{runId}/cancel.
func (a *API) handleRunCancel(c *fiber.Ctx) error {
	var r struct{}
	if err := decode(c, &r); err != nil {
		return err
	}
	run, err := a.store.FindRun(c.UserContext(), c.Params("runId"))
	if err != nil {
		return err
	}
	if err := a.opts.QA.Cancel(c.UserContext(), run.ID); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: run.ID})
}
