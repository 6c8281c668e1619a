package api

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/app/engine"
	"parley/models"
)

// datasetRequest is the body of dataset/create: the update fields and store,
// which ChatBotKit fixes at creation.
type datasetRequest struct {
	updateDatasetRequest
	Store *string `json:"store" validate:"omitempty,max=100"`
}

// apply copies the given fields onto d.
func (r *updateDatasetRequest) apply(d *models.Dataset) {
	d.Alias = optional(d.Alias, r.Alias)
	setStr(&d.Name, r.Name)
	setStr(&d.Description, r.Description)
	if r.Meta != nil {
		d.Meta = r.Meta
	}
	setStr(&d.Reranker, r.Reranker)
	setInt(&d.RecordMaxTokens, r.RecordMaxTokens)
	if r.SearchMinScore != nil {
		d.SearchMinScore = *r.SearchMinScore
	}
	setInt(&d.SearchMaxRecords, r.SearchMaxRecords)
	setInt(&d.SearchMaxTokens, r.SearchMaxTokens)
	setStr(&d.MatchInstruction, r.MatchInstruction)
	setStr(&d.MismatchInstruction, r.MismatchInstruction)
	setStr(&d.Separators, r.Separators)
	setStr(&d.Visibility, r.Visibility)
	// Parley's extension: semantic and reranked retrieval ("" clears a provider).
	if r.EmbedProviderID != nil {
		d.EmbedProviderID = optionalID(*r.EmbedProviderID)
	}
	setStr(&d.EmbedModel, r.EmbedModel)
	if r.RerankProviderID != nil {
		d.RerankProviderID = optionalID(*r.RerankProviderID)
	}
	setStr(&d.RerankModel, r.RerankModel)
}

// optionalID is nil for a blank id.
func optionalID(id string) *string {
	id = strings.TrimSpace(id)
	if id == "" {
		return nil
	}
	return &id
}

func setInt(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

// updateDatasetRequest is the body of dataset/{datasetId}/update; absent
// fields are left as they are.
type updateDatasetRequest struct {
	Alias               *string     `json:"alias" validate:"omitempty,max=100"`
	Name                *string     `json:"name" validate:"omitempty,max=200"`
	Description         *string     `json:"description" validate:"omitempty,max=4000"`
	Meta                models.Meta `json:"meta"`
	BlueprintID         *string     `json:"blueprintId"`
	Reranker            *string     `json:"reranker" validate:"omitempty,max=100"`
	RecordMaxTokens     *int        `json:"recordMaxTokens" validate:"omitempty,min=0,max=32000"`
	SearchMinScore      *float64    `json:"searchMinScore" validate:"omitempty,min=0,max=1"`
	SearchMaxRecords    *int        `json:"searchMaxRecords" validate:"omitempty,min=0,max=100"`
	SearchMaxTokens     *int        `json:"searchMaxTokens" validate:"omitempty,min=0,max=128000"`
	MatchInstruction    *string     `json:"matchInstruction" validate:"omitempty,max=4000"`
	MismatchInstruction *string     `json:"mismatchInstruction" validate:"omitempty,max=4000"`
	Separators          *string     `json:"separators" validate:"omitempty,max=200"`
	Visibility          *string     `json:"visibility" validate:"omitempty,oneof=private protected public"`
	// Parley's extension: the embeddings and rerank models of configured
	// providers (provider ids; "" clears).
	EmbedProviderID  *string `json:"embedProviderId" validate:"omitempty,max=36" doc:"Parley extension: the id of a configured provider serving the embeddings model (\"\" for none)."`
	EmbedModel       *string `json:"embedModel" validate:"omitempty,max=200" doc:"Parley extension: the embeddings model records are embedded with for semantic search; changing it embeds them again."`
	RerankProviderID *string `json:"rerankProviderId" validate:"omitempty,max=36" doc:"Parley extension: the id of a configured provider serving the rerank model (\"\" for none)."`
	RerankModel      *string `json:"rerankModel" validate:"omitempty,max=200" doc:"Parley extension: the rerank model applied to the best search candidates."`
}

type datasetJSON struct {
	ID                  string      `json:"id"`
	Alias               *string     `json:"alias,omitempty"`
	Name                string      `json:"name"`
	Description         string      `json:"description"`
	Meta                models.Meta `json:"meta"`
	CreatedAt           int64       `json:"createdAt"`
	UpdatedAt           int64       `json:"updatedAt"`
	Store               string      `json:"store"`
	Reranker            string      `json:"reranker"`
	RecordMaxTokens     int         `json:"recordMaxTokens"`
	SearchMinScore      float64     `json:"searchMinScore"`
	SearchMaxRecords    int         `json:"searchMaxRecords"`
	SearchMaxTokens     int         `json:"searchMaxTokens"`
	MatchInstruction    string      `json:"matchInstruction"`
	MismatchInstruction string      `json:"mismatchInstruction"`
	Separators          string      `json:"separators"`
	Visibility          string      `json:"visibility"`
	// Parley's extension: semantic and reranked retrieval settings, and (on
	// fetch) how far the records are embedded.
	EmbedProviderID  *string        `json:"embedProviderId,omitempty" doc:"Parley extension: the embeddings model's provider id."`
	EmbedModel       string         `json:"embedModel" doc:"Parley extension: the embeddings model (\"\": keyword search only)."`
	RerankProviderID *string        `json:"rerankProviderId,omitempty" doc:"Parley extension: the rerank model's provider id."`
	RerankModel      string         `json:"rerankModel" doc:"Parley extension: the rerank model (\"\": none)."`
	Embedding        *embeddingJSON `json:"embedding,omitempty" doc:"Parley extension (fetch, with an embeddings model): how far the records are embedded."`
}

// embeddingJSON is a dataset's embedding progress.
type embeddingJSON struct {
	Model       string `json:"model"`
	Embedded    int64  `json:"embedded"`
	Total       int64  `json:"total"`
	LastError   string `json:"lastError,omitempty" doc:"The provider's last failure in plain words; cleared by the next success."`
	LastErrorAt int64  `json:"lastErrorAt,omitempty"`
}

func toDataset(d *models.Dataset) datasetJSON {
	return datasetJSON{ID: d.ID, Alias: d.Alias, Name: d.Name, Description: d.Description, Meta: meta(d.Meta),
		CreatedAt: ms(d.CreatedAt), UpdatedAt: ms(d.UpdatedAt), Store: d.Store, Reranker: d.Reranker,
		RecordMaxTokens: d.RecordMaxTokens, SearchMinScore: d.SearchMinScore, SearchMaxRecords: d.SearchMaxRecords,
		SearchMaxTokens: d.SearchMaxTokens, MatchInstruction: d.MatchInstruction, MismatchInstruction: d.MismatchInstruction,
		Separators: d.Separators, Visibility: d.Visibility,
		EmbedProviderID: d.EmbedProviderID, EmbedModel: d.EmbedModel, RerankProviderID: d.RerankProviderID, RerankModel: d.RerankModel}
}

// handleDatasetList handles GET /api/v1/dataset/list.
func (a *API) handleDatasetList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	return sendList(a, c, p, a.store.FindDatasets, toDataset, func(d *models.Dataset) string { return d.ID })
}

// handleDatasetFetch handles GET /api/v1/dataset/{datasetId}/fetch.
func (a *API) handleDatasetFetch(c *fiber.Ctx) error {
	d, err := a.store.FindDataset(c.UserContext(), c.Params("datasetId"))
	if err != nil {
		return err
	}
	out := toDataset(d)
	if d.Embeds() {
		st, err := a.store.EmbeddingState(c.UserContext(), d)
		if err != nil {
			return err
		}
		out.Embedding = &embeddingJSON{Model: st.Model, Embedded: st.Embedded, Total: st.Total, LastError: st.LastError}
		if st.LastErrorAt != nil {
			out.Embedding.LastErrorAt = ms(*st.LastErrorAt)
		}
	}
	return c.JSON(out)
}

// handleDatasetCreate handles POST /api/v1/dataset/create.
func (a *API) handleDatasetCreate(c *fiber.Ctx) error {
	var r datasetRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if err := noBlueprint(r.BlueprintID); err != nil {
		return err
	}
	d := models.NewDataset()
	r.apply(&d)
	setStr(&d.Store, r.Store)
	created, err := a.store.CreateDataset(c.UserContext(), d)
	if err != nil {
		return err
	}
	return c.JSON(idResponse{ID: created.ID})
}

// handleDatasetUpdate handles POST /api/v1/dataset/{datasetId}/update.
func (a *API) handleDatasetUpdate(c *fiber.Ctx) error {
	d, err := a.store.FindDataset(c.UserContext(), c.Params("datasetId"))
	if err != nil {
		return err
	}
	var u updateDatasetRequest
	if err := decode(c, &u); err != nil {
		return err
	}
	if err := noBlueprint(u.BlueprintID); err != nil {
		return err
	}
	u.apply(d)
	if _, err := a.store.UpdateDataset(c.UserContext(), *d); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: d.ID})
}

// handleDatasetDelete handles POST /api/v1/dataset/{datasetId}/delete: bots
// using it are detached, its records go with it.
func (a *API) handleDatasetDelete(c *fiber.Ctx) error {
	return a.deleteByID(c, "datasetId", a.store.DeleteDataset)
}

// searchRequest is the body of dataset/{datasetId}/search.
type searchRequest struct {
	Search string         `json:"search" validate:"required,max=4000"`
	Filter map[string]any `json:"filter"`
}

type searchRecordJSON struct {
	ID     string      `json:"id"`
	Text   string      `json:"text"`
	Source string      `json:"source,omitempty"`
	Meta   models.Meta `json:"meta"`
	Score  float64     `json:"score"`
	// Parley's extension: the scores that placed the record.
	KeywordScore *float64 `json:"keywordScore,omitempty" doc:"Parley extension: the keyword score (absent: not found by keywords)."`
	VectorScore  *float64 `json:"vectorScore,omitempty" doc:"Parley extension: the cosine similarity to the question (absent: not found by vectors)."`
	FusedScore   *float64 `json:"fusedScore,omitempty" doc:"Parley extension: the reciprocal rank fusion score (k=60)."`
	RerankScore  *float64 `json:"rerankScore,omitempty" doc:"Parley extension: the rerank model's relevance score."`
}

type searchResponse struct {
	ID      string             `json:"id"`
	Records []searchRecordJSON `json:"records"`
	// Parley's extension: how the records were found (keyword, hybrid or
	// keyword_fallback), why it fell back, and whether a rerank model ordered them.
	Retrieval     string `json:"retrieval" doc:"Parley extension: keyword, hybrid (keyword and vector results fused) or keyword_fallback."`
	RetrievalNote string `json:"retrievalNote,omitempty" doc:"Parley extension: why the search fell back to keywords."`
	Reranked      bool   `json:"reranked" doc:"Parley extension: a rerank model ordered the records."`
}

// handleDatasetSearch handles POST /api/v1/dataset/{datasetId}/search with the
// dataset's own retrieval settings (as a bot turn would search it).
func (a *API) handleDatasetSearch(c *fiber.Ctx) error {
	d, err := a.store.FindDataset(c.UserContext(), c.Params("datasetId"))
	if err != nil {
		return err
	}
	var r searchRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if len(r.Filter) > 0 {
		return models.FieldError("filter", "Filtering search results by meta is not supported yet.")
	}
	limit := d.SearchMaxRecords
	if limit <= 0 {
		limit = models.DefaultSearchLimit
	}
	res, err := a.retriever().SearchDataset(c.UserContext(), d, models.RecordQuery{Text: r.Search,
		Limit: limit, MinScore: d.SearchMinScore})
	if err != nil {
		return err
	}
	out := searchResponse{ID: d.ID, Records: make([]searchRecordJSON, 0, len(res.Records)),
		Retrieval: res.Mode, RetrievalNote: res.Note, Reranked: res.Reranked}
	for _, f := range res.Records {
		out.Records = append(out.Records, searchRecordJSON{ID: f.Record.ID, Text: f.Record.Text, Source: f.Record.Source,
			Meta: meta(f.Record.Meta), Score: f.Score, KeywordScore: f.Keyword, VectorScore: f.Vector, FusedScore: f.Fused, RerankScore: f.Rerank})
	}
	return c.JSON(out)
}

// retriever is the configured dataset search (keyword only when none is).
func (a *API) retriever() engine.Retriever {
	if a.opts.Retriever != nil {
		return a.opts.Retriever
	}
	return engine.KeywordRetriever(a.store)
}

// recordRequest is the body of record/create (text required) and record/update.
type recordRequest struct {
	Text   *string     `json:"text" validate:"omitempty,max=100000"`
	Source *string     `json:"source" validate:"omitempty,max=2000"`
	Meta   models.Meta `json:"meta"`
}

type recordJSON struct {
	ID        string      `json:"id"`
	CreatedAt int64       `json:"createdAt"`
	UpdatedAt int64       `json:"updatedAt"`
	Text      string      `json:"text"`
	Source    string      `json:"source,omitempty"`
	Meta      models.Meta `json:"meta"`
}

func toRecord(r *models.DatasetRecord) recordJSON {
	return recordJSON{ID: r.ID, CreatedAt: ms(r.CreatedAt), UpdatedAt: ms(r.UpdatedAt), Text: r.Text, Source: r.Source, Meta: meta(r.Meta)}
}

// handleRecordList handles GET /api/v1/dataset/{datasetId}/record/list.
func (a *API) handleRecordList(c *fiber.Ctx) error {
	d, err := a.store.FindDataset(c.UserContext(), c.Params("datasetId"))
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	return sendList(a, c, p, func(ctx context.Context, p models.Page) ([]models.DatasetRecord, string, error) {
		return a.store.FindRecords(ctx, d.ID, p)
	}, toRecord, func(r *models.DatasetRecord) string { return r.ID })
}

// handleRecordFetch handles GET /api/v1/dataset/{datasetId}/record/{recordId}/fetch.
func (a *API) handleRecordFetch(c *fiber.Ctx) error {
	r, err := a.store.FindRecord(c.UserContext(), c.Params("datasetId"), c.Params("recordId"))
	if err != nil {
		return err
	}
	return c.JSON(toRecord(r))
}

// handleRecordCreate handles POST /api/v1/dataset/{datasetId}/record/create.
func (a *API) handleRecordCreate(c *fiber.Ctx) error {
	d, err := a.store.FindDataset(c.UserContext(), c.Params("datasetId"))
	if err != nil {
		return err
	}
	var r recordRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if r.Text == nil || strings.TrimSpace(*r.Text) == "" {
		return models.FieldError("text", "Text is required.")
	}
	rec := models.DatasetRecord{DatasetID: d.ID, Text: *r.Text, Meta: r.Meta}
	setStr(&rec.Source, r.Source)
	created, err := a.store.CreateRecord(c.UserContext(), rec)
	if err != nil {
		return err
	}
	return c.JSON(idResponse{ID: created.ID})
}

// handleRecordUpdate handles POST /api/v1/dataset/{datasetId}/record/{recordId}/update.
func (a *API) handleRecordUpdate(c *fiber.Ctx) error {
	rec, err := a.store.FindRecord(c.UserContext(), c.Params("datasetId"), c.Params("recordId"))
	if err != nil {
		return err
	}
	var r recordRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if r.Text != nil && strings.TrimSpace(*r.Text) == "" {
		return models.FieldError("text", "Text cannot be empty.")
	}
	setStr(&rec.Text, r.Text)
	setStr(&rec.Source, r.Source)
	if r.Meta != nil {
		rec.Meta = r.Meta
	}
	if _, err := a.store.UpdateRecord(c.UserContext(), *rec); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: rec.ID})
}

// handleRecordDelete handles POST /api/v1/dataset/{datasetId}/record/{recordId}/delete.
func (a *API) handleRecordDelete(c *fiber.Ctx) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	id := c.Params("recordId")
	if err := a.store.DeleteRecord(c.UserContext(), c.Params("datasetId"), id); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: id})
}
