package retrieval

import (
	"context"
	"errors"
	"fmt"

	"parley/app/provider"
	"parley/models"
)

// EmbedDataset embeds, in batches of EmbedBatch, the records of a dataset
// that have no vector of its embeddings model (new, changed, or embedded
// with a model since replaced), until none is left. It is the job queue's
// embedding work: idempotent, and safe to run twice at once (a vector is
// stored once per record). A provider failure is recorded on the dataset
// (its page and the API show it) and returned, so the queue tries again
// later with backoff; a deleted dataset, or one without an embeddings
// model, is nothing to do.
func (r *Retriever) EmbedDataset(ctx context.Context, datasetID string) error {
	d, err := r.opts.Store.FindDataset(ctx, datasetID)
	if models.ErrorCode(err) == models.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if !d.Embeds() {
		return nil
	}
	fail := func(err error) error {
		msg := plain("the embeddings provider", err)
		if serr := r.opts.Store.SetEmbedError(ctx, d.ID, msg); serr != nil && models.ErrorCode(serr) != models.CodeNotFound {
			r.opts.Logger.Error("recording an embedding error", "dataset_id", d.ID, "error", serr)
		}
		return fmt.Errorf("retrieval: embed dataset %s: %w", d.ID, err)
	}
	emb, err := r.opts.Clients.Embedder(ctx, *d.EmbedProviderID)
	if err != nil {
		return fail(err)
	}
	// Batches follow the record ids; once past the last, one more pass from
	// the start picks up records written or changed meanwhile.
	after, wasted := "", 0
	for {
		recs, err := r.opts.Store.PendingRecords(ctx, d.ID, d.EmbedModel, after, EmbedBatch)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			if after == "" {
				return nil
			}
			after = ""
			continue
		}
		after = recs[len(recs)-1].ID
		texts := make([]string, len(recs))
		for i, rec := range recs {
			texts[i] = models.TruncateUTF8(rec.Text, maxEmbedChars)
		}
		vecs, err := emb.Embed(ctx, d.EmbedModel, texts)
		if err == nil && len(vecs) != len(recs) {
			err = &provider.Error{Message: fmt.Sprintf("the embeddings response has %d vectors for %d texts", len(vecs), len(recs))}
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fail(err)
		}
		rows := make([]models.RecordVector, len(recs))
		for i, rec := range recs {
			rows[i] = models.RecordVector{RecordID: rec.ID, Model: d.EmbedModel, Dims: len(vecs[i]), Vector: models.EncodeVector(vecs[i])}
		}
		saved, err := r.opts.Store.SaveVectors(ctx, d.ID, recs, rows)
		if err != nil {
			return err
		}
		if saved > 0 {
			wasted = 0
		} else if wasted++; wasted >= 3 {
			// Batch after batch changed or went before it was stored: let
			// the queue come back to them later rather than spin.
			return errors.New("retrieval: the records changed while they were embedded; trying again")
		}
	}
}
