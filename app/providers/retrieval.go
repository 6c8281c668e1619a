package providers

import (
	"context"

	"parley/app/provider"
	"parley/models"
)

// Embedder returns the client of the configured provider id for embeddings
// (a dataset names its embeddings provider by id, so renaming the provider
// keeps it). A deleted provider is a *provider.Error saying so.
func (r *Resolver) Embedder(ctx context.Context, providerID string) (provider.Embedder, error) {
	return r.byID(ctx, providerID, "embeddings")
}

// Reranker returns the client of the configured provider id for reranking.
func (r *Resolver) Reranker(ctx context.Context, providerID string) (provider.Reranker, error) {
	return r.byID(ctx, providerID, "rerank")
}

func (r *Resolver) byID(ctx context.Context, id, what string) (interface {
	provider.Embedder
	provider.Reranker
}, error) {
	p, err := r.store.FindProvider(ctx, id)
	if models.ErrorCode(err) == models.CodeNotFound {
		return nil, &provider.Error{Message: "the dataset's " + what + " provider no longer exists: choose another in the dataset's settings", Err: err}
	}
	if err != nil {
		return nil, err
	}
	return r.client(p)
}
