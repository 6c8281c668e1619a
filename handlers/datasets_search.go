package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// Templates of the dataset search. The page is defined in the partial's file,
// next to the fragments it is made of.
const (
	tplDatasetSearch     = "partials/dataset_search"
	tplDatasetSearchPage = "pages/datasets/search"
)

// datasetSearch is what the search box and its results show: the records a bot
// would retrieve from the dataset for the question, with the dataset's own
// retrieval settings.
type datasetSearch struct {
	Dataset *models.Dataset
	Query   string
	Results []models.RetrievedRecord
	// Mode and Note say how the results were found (keyword, hybrid, or
	// keyword_fallback and why); Reranked that a rerank model ordered them.
	Mode     string
	Note     string
	Reranked bool
	Limit    int
	MinScore float64
	// Off: the dataset retrieves no records (Records to retrieve is 0), as the engine treats it.
	Off      bool
	CanWrite bool
	// Error says why the question cannot be searched (shown instead of results).
	Error string
}

// datasetSearchPage is the search as a page of its own, for browsers without JavaScript.
type datasetSearchPage struct {
	Page
	datasetSearch
}

// handleDatasetSearch handles GET /datasets/:id/search: the results fragment
// for htmx (swapped in below the search box on the dataset page), or a page
// with the box and the results.
func (s *Server) handleDatasetSearch(c *fiber.Ctx) error {
	ctx := c.UserContext()
	d, err := s.store.FindDataset(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	q := models.RecordQuery{
		DatasetIDs: []string{d.ID},
		Text:       strings.Clone(strings.TrimSpace(c.Query("q"))),
		Limit:      d.SearchMaxRecords,
		MinScore:   d.SearchMinScore,
	}.Normalize()
	v := datasetSearch{Dataset: d, Query: q.Text, Limit: q.Limit, MinScore: q.MinScore,
		Off: d.SearchMaxRecords == 0, CanWrite: operator(c).Can(models.PermConfigWrite)}
	status := fiber.StatusOK
	if err := models.CheckText("q", "The question", q.Text); err != nil {
		v.Error, status = models.ErrorMessage(err), fiber.StatusUnprocessableEntity
	} else if q.Text != "" && !v.Off {
		res, err := s.opts.Retriever.SearchDataset(ctx, d, q)
		if err != nil {
			return err
		}
		v.Results, v.Mode, v.Note, v.Reranked = res.Records, res.Mode, res.Note, res.Reranked
	}
	if c.Get("HX-Request") == "true" {
		return s.render(c, status, tplDatasetSearch, v)
	}
	return s.render(c, status, tplDatasetSearchPage, datasetSearchPage{Page: s.page(c, "Search "+d.Name, "datasets"), datasetSearch: v})
}
