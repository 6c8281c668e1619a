package qa

import (
	"context"
	"fmt"
	"strconv"

	"parley/app/engine"
	"parley/models"
	"parley/models/store"
)

// CheckResult is a retrieval check's outcome, for the dataset page.
type CheckResult struct {
	Check  models.RetrievalCheck
	Result models.AssertionResult
}

// runCheck runs a run's retrieval check.
func (r *Runner) runCheck(ctx context.Context, res *models.TestResult) error {
	k, err := r.st.FindCheck(ctx, *res.CheckID)
	if models.ErrorCode(err) == models.CodeNotFound {
		return models.Errorf(models.CodeNotFound, "The retrieval check was deleted after the run started.")
	}
	if err != nil {
		return err
	}
	out, err := r.Check(ctx, *k)
	if err != nil {
		return err
	}
	res.Assertions = []models.AssertionResult{out}
	return nil
}

// Check runs one retrieval check: its query searched in its dataset as a
// turn searches it (the dataset's minimum score), looking at the top TopK.
func (r *Runner) Check(ctx context.Context, k models.RetrievalCheck) (models.AssertionResult, error) {
	out := models.AssertionResult{Kind: "retrieval_check", Label: k.Label()}
	ds, err := r.st.FindDataset(ctx, k.DatasetID)
	if err != nil {
		return out, err
	}
	retriever := r.opts.Retriever
	if retriever == nil {
		retriever = engine.KeywordRetriever(r.st)
	}
	res, err := retriever.SearchDataset(ctx, ds, models.RecordQuery{Text: k.Query, Limit: k.TopK, MinScore: ds.SearchMinScore})
	if err != nil {
		return out, err
	}
	found := res.Records
	name := "record " + k.RecordID
	if k.Source != "" {
		name = fmt.Sprintf("record %s (%s)", k.RecordID, k.Source)
	}
	var list []models.TurnRecord
	for i, f := range found {
		list = append(list, models.TurnRecord{Rank: i + 1, RecordID: f.Record.ID, Source: f.Record.Source, Score: f.Score})
		if f.Record.ID != k.RecordID {
			continue
		}
		if f.Score < k.MinScore {
			out.Message = fmt.Sprintf("%s is at rank %d but scored %.2f, below %s", name, i+1, f.Score, strconv.FormatFloat(k.MinScore, 'g', -1, 64))
			return out, nil
		}
		out.Pass, out.Message = true, fmt.Sprintf("found at rank %d with score %.2f", i+1, f.Score)
		return out, nil
	}
	if len(list) == 0 {
		out.Message = fmt.Sprintf("%s was not found: the query finds nothing in %q", name, ds.Name)
	} else {
		out.Message = fmt.Sprintf("%s is not in the top %d of %q; found: %s", name, k.TopK, ds.Name, recordList(list))
	}
	return out, nil
}

// CheckDataset runs the retrieval checks of a dataset (at most
// MaxChecksPerPage), for its page.
func (r *Runner) CheckDataset(ctx context.Context, datasetID string) ([]CheckResult, error) {
	ks, _, err := r.st.FindChecks(ctx, store.CheckFilter{DatasetID: datasetID, Page: models.Page{Limit: models.MaxChecksPerPage, Order: models.OrderAsc}})
	if err != nil {
		return nil, err
	}
	out := make([]CheckResult, 0, len(ks))
	for _, k := range ks {
		res, err := r.Check(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, CheckResult{Check: k, Result: res})
	}
	return out, nil
}
