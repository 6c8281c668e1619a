package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// tplDatasetEmbedding is the dataset page's semantic search card, which
// polls itself while records are being embedded.
const tplDatasetEmbedding = "partials/dataset_embedding"

// datasetEmbedding is what the semantic search card shows: the embeddings
// and rerank models (by provider name) and how far the records are embedded.
type datasetEmbedding struct {
	Dataset *models.Dataset
	// EmbedProvider and RerankProvider name the providers ("" when none;
	// Missing* when the provider was deleted).
	EmbedProvider, RerankProvider string
	MissingEmbed, MissingRerank   bool
	State                         models.EmbeddingState
	// Percent is Embedded of Total, 0..100.
	Percent int
}

// datasetEmbedding reads a dataset's semantic search card.
func (s *Server) datasetEmbedding(ctx context.Context, d *models.Dataset) (datasetEmbedding, error) {
	v := datasetEmbedding{Dataset: d}
	name := func(id *string) (string, bool, error) {
		if id == nil {
			return "", false, nil
		}
		p, err := s.store.FindProvider(ctx, *id)
		if models.ErrorCode(err) == models.CodeNotFound {
			return "", true, nil
		}
		if err != nil {
			return "", false, err
		}
		return p.Name, false, nil
	}
	var err error
	if v.EmbedProvider, v.MissingEmbed, err = name(d.EmbedProviderID); err != nil {
		return v, err
	}
	if v.RerankProvider, v.MissingRerank, err = name(d.RerankProviderID); err != nil {
		return v, err
	}
	if d.Embeds() {
		if v.State, err = s.store.EmbeddingState(ctx, d); err != nil {
			return v, err
		}
		v.Percent = 100
		if v.State.Total > 0 {
			v.Percent = int(v.State.Embedded * 100 / v.State.Total)
		}
	}
	return v, nil
}

// handleDatasetEmbedding handles GET /datasets/:id/embedding: the semantic
// search card alone, which the dataset page polls (htmx) while records are
// being embedded.
func (s *Server) handleDatasetEmbedding(c *fiber.Ctx) error {
	d, err := s.store.FindDataset(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	v, err := s.datasetEmbedding(c.UserContext(), d)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplDatasetEmbedding, v)
}
