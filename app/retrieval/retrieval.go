// Package retrieval finds the records of a dataset that answer a question:
// keyword search (store.SearchRecords) alone, or — when the dataset names an
// embeddings model — keyword and vector results fused by reciprocal rank
// fusion (k = 60), then, when it names a rerank model, the best candidates
// reordered by it. Vectors are searched exactly (brute-force cosine) in
// memory, kept per dataset until its vectors change. When the embeddings or
// rerank provider fails, the search still answers (keyword results, or the
// fused order) and says why. It also embeds datasets' records in the
// background (EmbedDataset, run by the job queue).
//
// The engine, QA checks, the API's dataset search and the dashboard's
// search page all retrieve through it, so they agree.
package retrieval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"parley/app/provider"
	"parley/models"
	"parley/models/store"
)

// Defaults.
const (
	// RRFK is reciprocal rank fusion's constant: a record at rank r of a list
	// adds 1/(RRFK+r).
	RRFK = 60
	// DefaultMaxVectors is the most embedded records per dataset that exact
	// vector search serves (see README: about 25 ms at 100,000 × 768 dims
	// on 2 cores, and 4 bytes × dims of memory per vector).
	DefaultMaxVectors = 100000
	// DefaultQueryTimeout bounds embedding a question, and reranking, before
	// the search answers without them.
	DefaultQueryTimeout = 10 * time.Second
	// DefaultCooldown is how long a provider that failed a search is left
	// alone by later searches (they fall back at once instead of waiting).
	DefaultCooldown = 30 * time.Second
	// RerankCandidates is how many of the fused candidates are reranked.
	RerankCandidates = 20
	// EmbedBatch is how many records one embeddings call carries.
	EmbedBatch = 32
	// maxEmbedChars and maxRerankChars cut the text sent of a long record.
	maxEmbedChars  = 8000
	maxRerankChars = 4000
)

// Clients gives the provider clients a dataset's settings name (by
// provider id); app/providers' Resolver is one.
type Clients interface {
	Embedder(ctx context.Context, providerID string) (provider.Embedder, error)
	Reranker(ctx context.Context, providerID string) (provider.Reranker, error)
}

// Options are the retriever's collaborators and limits.
type Options struct {
	Store   *store.Store
	Clients Clients
	Logger  *slog.Logger
	// MaxVectors bounds exact vector search per dataset (default DefaultMaxVectors).
	MaxVectors int
	// QueryTimeout bounds the question's embedding and the rerank call
	// (default DefaultQueryTimeout).
	QueryTimeout time.Duration
	// Cooldown is how long searches skip a provider that just failed them,
	// answering by keywords at once (default DefaultCooldown).
	Cooldown time.Duration
}

// Retriever searches datasets; it is safe for concurrent use.
type Retriever struct {
	opts  Options
	cache cache

	mu       sync.Mutex
	down     map[string]failure // by provider id and call ("embed:ID", "rerank:ID")
	datasets map[string]readDataset
}

// readDataset is a dataset's row as a search read it, kept for
// settingsTTL: a turn's search does not read its dataset again each time.
type readDataset struct {
	d  *models.Dataset
	at time.Time
}

// settingsTTL is how long a dataset's settings read by Search are used: an
// edit reaches searches within it.
const settingsTTL = 2 * time.Second

// dataset returns the dataset's row, from the short cache when fresh (nil
// when it does not exist).
func (r *Retriever) dataset(ctx context.Context, id string) (*models.Dataset, error) {
	r.mu.Lock()
	c, ok := r.datasets[id]
	r.mu.Unlock()
	if ok && time.Since(c.at) < settingsTTL {
		return c.d, nil
	}
	d, err := r.opts.Store.FindDataset(ctx, id)
	if models.ErrorCode(err) == models.CodeNotFound {
		d, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.datasets == nil || len(r.datasets) > 10000 {
		r.datasets = map[string]readDataset{}
	}
	r.datasets[id] = readDataset{d: d, at: time.Now()}
	return d, nil
}

// failure is a provider's last failure at search time.
type failure struct {
	at  time.Time
	why string
}

// cooling returns why key failed within the cooldown ("" when it did not).
func (r *Retriever) cooling(key string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.down[key]; ok && time.Since(f.at) < r.opts.Cooldown {
		return f.why
	}
	return ""
}

// failed records key's failure (why "") or its recovery.
func (r *Retriever) failed(key, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if why == "" {
		delete(r.down, key)
		return
	}
	if r.down == nil {
		r.down = map[string]failure{}
	}
	r.down[key] = failure{at: time.Now(), why: why}
}

// New makes a Retriever; Store, Clients and Logger are required.
func New(o Options) (*Retriever, error) {
	if o.Store == nil || o.Clients == nil || o.Logger == nil {
		return nil, errors.New("retrieval: New needs a store, provider clients and a logger")
	}
	if o.MaxVectors <= 0 {
		o.MaxVectors = DefaultMaxVectors
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	if o.Cooldown <= 0 {
		o.Cooldown = DefaultCooldown
	}
	return &Retriever{opts: o}, nil
}

// Search returns the records of q.DatasetIDs that best answer q.Text, best
// first, at most q.Limit, each dataset searched with its own embeddings and
// rerank settings (read at most every two seconds); unknown datasets are
// skipped. Only store errors fail it:
// a provider's failure makes it answer by keywords (Mode
// models.RetrievalFallback, Note says why).
func (r *Retriever) Search(ctx context.Context, q models.RecordQuery) (*models.Retrieval, error) {
	q = q.Normalize()
	out := &models.Retrieval{Mode: models.RetrievalKeyword, Records: []models.RetrievedRecord{}}
	for _, id := range q.DatasetIDs {
		d, err := r.dataset(ctx, id)
		if err != nil {
			return nil, err
		}
		if d == nil {
			continue
		}
		res, err := r.SearchDataset(ctx, d, q)
		if err != nil {
			return nil, err
		}
		merge(out, res)
	}
	if len(q.DatasetIDs) > 1 {
		slices.SortStableFunc(out.Records, func(a, b models.RetrievedRecord) int { return cmp.Compare(b.Score, a.Score) })
		if len(out.Records) > q.Limit {
			out.Records = out.Records[:q.Limit]
		}
	}
	return out, nil
}

// merge adds one dataset's results to a search of several: the mode says
// the least any dataset got (a fallback anywhere is a fallback).
func merge(into, res *models.Retrieval) {
	into.Records = append(into.Records, res.Records...)
	into.Reranked = into.Reranked || res.Reranked
	switch {
	case res.Mode == models.RetrievalFallback:
		into.Mode = models.RetrievalFallback
	case res.Mode == models.RetrievalHybrid && into.Mode == models.RetrievalKeyword:
		into.Mode = models.RetrievalHybrid
	}
	if res.Note != "" {
		if into.Note != "" {
			into.Note += "; "
		}
		into.Note += res.Note
	}
}

// SearchDataset searches one dataset (q.DatasetIDs is ignored) with its settings.
func (r *Retriever) SearchDataset(ctx context.Context, d *models.Dataset, q models.RecordQuery) (*models.Retrieval, error) {
	q = q.Normalize()
	q.DatasetIDs = []string{d.ID}
	if !d.Embeds() {
		found, err := r.opts.Store.SearchRecords(ctx, q)
		if err != nil {
			return nil, err
		}
		return keywordOnly(found, models.RetrievalKeyword, ""), nil
	}
	pool := min(max(4*q.Limit, RerankCandidates), models.MaxSearchLimit)
	kq := q
	kq.Limit = pool
	keyword, err := r.opts.Store.SearchRecords(ctx, kq)
	if err != nil {
		return nil, err
	}
	fallback := func(why string) *models.Retrieval {
		r.opts.Logger.Warn("semantic search fell back to keywords", "dataset_id", d.ID, "reason", why)
		if len(keyword) > q.Limit {
			keyword = keyword[:q.Limit]
		}
		return keywordOnly(keyword, models.RetrievalFallback, why)
	}
	hits, why, err := r.vectorHits(ctx, d, q.Text, pool, q.MinScore)
	if err != nil {
		return nil, err
	}
	if why != "" {
		return fallback(why), nil
	}
	fused, err := r.fuse(ctx, d.ID, keyword, hits)
	if err != nil {
		return nil, err
	}
	res := &models.Retrieval{Mode: models.RetrievalHybrid, Records: fused}
	if d.Reranks() && len(fused) > 0 {
		if note := r.rerank(ctx, d, q.Text, res); note != "" {
			r.opts.Logger.Warn("rerank skipped", "dataset_id", d.ID, "reason", note)
			res.Note = note
		}
	}
	if len(res.Records) > q.Limit {
		res.Records = res.Records[:q.Limit]
	}
	return res, nil
}

// keywordOnly is keyword results as a retrieval.
func keywordOnly(found []models.ScoredRecord, mode, note string) *models.Retrieval {
	out := &models.Retrieval{Mode: mode, Note: note, Records: make([]models.RetrievedRecord, 0, len(found))}
	for _, f := range found {
		s := f.Score
		out.Records = append(out.Records, models.RetrievedRecord{Record: f.Record, Score: s, Keyword: &s})
	}
	return out
}

// vectorHits embeds the question and searches the dataset's vectors; why
// says (in plain words) why vector search could not answer, and err is a
// store failure.
func (r *Retriever) vectorHits(ctx context.Context, d *models.Dataset, text string, k int, minSim float64) ([]Hit, string, error) {
	version, err := r.opts.Store.VectorVersion(ctx, d.ID)
	if err != nil {
		return nil, "", err
	}
	idx, err := r.cache.index(ctx, r.opts.Store, d.ID, d.EmbedModel, version, r.opts.MaxVectors)
	var tooLarge *tooLargeError
	switch {
	case errors.As(err, &tooLarge):
		return nil, tooLarge.Error(), nil
	case err != nil:
		return nil, "", err
	case idx.Len() == 0:
		return nil, "no record is embedded yet", nil
	}
	key := "embed:" + *d.EmbedProviderID
	if why := r.cooling(key); why != "" {
		return nil, why, nil
	}
	emb, err := r.opts.Clients.Embedder(ctx, *d.EmbedProviderID)
	if err != nil {
		return nil, plain("the embeddings provider", err), nil
	}
	qctx, cancel := context.WithTimeout(ctx, r.opts.QueryTimeout)
	defer cancel()
	vecs, err := emb.Embed(qctx, d.EmbedModel, []string{text})
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		why := plain("the embeddings provider", err)
		r.failed(key, why)
		return nil, why, nil
	}
	r.failed(key, "")
	if len(vecs) != 1 || len(vecs[0]) != idx.Dims {
		return nil, fmt.Sprintf("the question's vector has %d dimensions, the records' %d (re-embed the dataset)", len(vecs[0]), idx.Dims), nil
	}
	return idx.Search(vecs[0], k, max(minSim, 1e-9)), "", nil
}

// fuse merges keyword and vector results by reciprocal rank fusion, best
// first; records only found by vectors are read from the store (ones
// deleted meanwhile are left out).
func (r *Retriever) fuse(ctx context.Context, datasetID string, keyword []models.ScoredRecord, hits []Hit) ([]models.RetrievedRecord, error) {
	byID := map[string]*models.RetrievedRecord{}
	var order []string
	add := func(id string) *models.RetrievedRecord {
		if rr, ok := byID[id]; ok {
			return rr
		}
		zero := 0.0
		rr := &models.RetrievedRecord{Fused: &zero}
		byID[id] = rr
		order = append(order, id)
		return rr
	}
	for i, k := range keyword {
		rr := add(k.Record.ID)
		rr.Record = k.Record
		s := k.Score
		rr.Keyword = &s
		*rr.Fused += 1 / float64(RRFK+i+1)
	}
	var missing []string
	for i, h := range hits {
		rr := add(h.ID)
		if rr.Record.ID == "" {
			missing = append(missing, h.ID)
		}
		s := h.Similarity
		rr.Vector = &s
		*rr.Fused += 1 / float64(RRFK+i+1)
	}
	if len(missing) > 0 {
		recs, err := r.opts.Store.FindRecordsByID(ctx, datasetID, missing)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			byID[rec.ID].Record = rec
		}
	}
	out := make([]models.RetrievedRecord, 0, len(order))
	best := 2 / float64(RRFK+1) // first in both lists
	for _, id := range order {
		rr := byID[id]
		if rr.Record.ID == "" {
			continue // deleted since it was embedded
		}
		f := round(*rr.Fused)
		rr.Fused = &f
		rr.Score = min(*rr.Fused/best, 1)
		out = append(out, *rr)
	}
	slices.SortStableFunc(out, func(a, b models.RetrievedRecord) int {
		return cmp.Or(cmp.Compare(*b.Fused, *a.Fused), cmp.Compare(val(b.Keyword), val(a.Keyword)),
			cmp.Compare(val(b.Vector), val(a.Vector)), cmp.Compare(a.Record.ID, b.Record.ID))
	})
	return out, nil
}

// rerank reorders the best fused candidates with the dataset's rerank model
// (the others follow in fused order); it returns why it could not ("" when it did).
func (r *Retriever) rerank(ctx context.Context, d *models.Dataset, text string, res *models.Retrieval) string {
	key := "rerank:" + *d.RerankProviderID
	if why := r.cooling(key); why != "" {
		return why
	}
	rr, err := r.opts.Clients.Reranker(ctx, *d.RerankProviderID)
	if err != nil {
		return plain("the rerank provider", err)
	}
	n := min(len(res.Records), RerankCandidates)
	docs := make([]string, n)
	for i := range n {
		docs[i] = models.TruncateUTF8(res.Records[i].Record.Text, maxRerankChars)
	}
	qctx, cancel := context.WithTimeout(ctx, r.opts.QueryTimeout)
	defer cancel()
	ranked, err := rr.Rerank(qctx, d.RerankModel, text, docs, n)
	if err != nil {
		if ctx.Err() != nil {
			return "the search was cancelled before reranking"
		}
		why := plain("the rerank provider", err)
		r.failed(key, why)
		return why
	}
	r.failed(key, "")
	out := make([]models.RetrievedRecord, 0, len(res.Records))
	used := make([]bool, n)
	for _, x := range ranked {
		rec := res.Records[x.Index]
		s := round(x.Score)
		rec.Rerank = &s
		rec.Score = min(max(x.Score, 0), 1)
		used[x.Index] = true
		out = append(out, rec)
	}
	// Candidates the model left out keep their fused order after the ranked ones.
	for i := range n {
		if !used[i] {
			out = append(out, res.Records[i])
		}
	}
	res.Records = append(out, res.Records[n:]...)
	res.Reranked = true
	return ""
}

// plain is a provider failure in words fit for the user.
func plain(who string, err error) string {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return who + " failed: " + pe.Message
	}
	if m := models.ErrorMessage(err); m != "" && models.ErrorCode(err) != models.CodeInternal {
		return who + " failed: " + m
	}
	return who + " failed"
}

func val(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

func round(f float64) float64 { return float64(int64(f*1e6+0.5)) / 1e6 }
