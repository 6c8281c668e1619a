package retrieval_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"parley/app/engine"
	"parley/app/provider/embedtest"
	"parley/app/providers"
	"parley/app/retrieval"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// faq is a small help center: the crypto record shares no word with the
// question "can I pay with bitcoin" but its meaning.
var faq = []string{
	"We do not accept cryptocurrency.",
	"You can pay by card or bank transfer.",
	"Orders ship within two business days.",
	"Refunds are issued within 14 days of a return.",
	"Our office is closed on public holidays.",
}

type fixture struct {
	st      *store.Store
	fake    *embedtest.Server
	r       *retrieval.Retriever
	dataset *models.Dataset
	ids     map[string]string // record text → id
}

// newFixture makes a dataset of faq whose embeddings (and, with rerank, rerank)
// model is served by the fake, and a retriever wired as the server wires it.
func newFixture(t *testing.T, st *store.Store, rerank bool) *fixture {
	t.Helper()
	ctx := t.Context()
	fake := embedtest.New(t)
	p, err := st.CreateProvider(ctx, models.Provider{Name: "fake", Kind: models.ProviderKindOpenAI, BaseURL: fake.URL, TimeoutSeconds: 5}, "")
	if err != nil {
		t.Fatal(err)
	}
	d := models.NewDataset()
	d.Name, d.EmbedProviderID, d.EmbedModel = "Help center", &p.ID, "fake-embed"
	if rerank {
		d.RerankProviderID, d.RerankModel = &p.ID, "fake-rerank"
	}
	ds, err := st.CreateDataset(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, text := range faq {
		rec, err := st.CreateRecord(ctx, models.DatasetRecord{DatasetID: ds.ID, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		ids[text] = rec.ID
	}
	r, err := retrieval.New(retrieval.Options{Store: st, Clients: providers.New(st, providers.WithRetries(-1, 0)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, fake: fake, r: r, dataset: ds, ids: ids}
}

func (f *fixture) search(t *testing.T, text string) *models.Retrieval {
	t.Helper()
	res, err := f.r.Search(t.Context(), models.RecordQuery{DatasetIDs: []string{f.dataset.ID}, Text: text, Limit: 3})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	return res
}

func has(res *models.Retrieval, id string) (models.RetrievedRecord, bool) {
	for _, r := range res.Records {
		if r.Record.ID == id {
			return r, true
		}
	}
	return models.RetrievedRecord{}, false
}

// TestBitcoinFindsCryptocurrency is the point of semantic search: the
// record that answers a question in other words is found once embedded,
// with its vector similarity and fused score; keyword search alone misses it.
func TestBitcoinFindsCryptocurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, false)
		crypto := f.ids[faq[0]]
		q := "can I pay with bitcoin"

		kw, err := engine.KeywordRetriever(st).Search(t.Context(), models.RecordQuery{DatasetIDs: []string{f.dataset.ID}, Text: q, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := has(kw, crypto); ok {
			t.Fatal("keyword search already finds the cryptocurrency record: the test proves nothing")
		}
		if res := f.search(t, q); res.Mode != models.RetrievalFallback || !strings.Contains(res.Note, "no record is embedded") {
			t.Errorf("before embedding: mode %q note %q, want a fallback saying nothing is embedded", res.Mode, res.Note)
		}

		if err := f.r.EmbedDataset(t.Context(), f.dataset.ID); err != nil {
			t.Fatalf("EmbedDataset: %v", err)
		}
		if got := f.fake.EmbedInputs(); got != int64(len(faq)) {
			t.Errorf("the fake embedded %d texts, want the %d records", got, len(faq))
		}
		res := f.search(t, q)
		if res.Mode != models.RetrievalHybrid {
			t.Fatalf("mode = %q (%s), want hybrid", res.Mode, res.Note)
		}
		rec, ok := has(res, crypto)
		if !ok {
			t.Fatalf("hybrid search for %q misses %q; got %+v", q, faq[0], res.Records)
		}
		if rec.Vector == nil || *rec.Vector <= 0 || rec.Fused == nil || rec.Keyword != nil {
			t.Errorf("crypto record scores: keyword %v vector %v fused %v, want a vector and fused score only", rec.Keyword, rec.Vector, rec.Fused)
		}
		card, ok := has(res, f.ids[faq[1]])
		if !ok || card.Keyword == nil || card.Vector == nil {
			t.Errorf("the card record (found both ways) = %+v, want keyword and vector scores", card)
		}
		if res.Records[0].Record.ID != f.ids[faq[1]] {
			t.Errorf("first = %q, want the record found both ways first", res.Records[0].Record.Text)
		}

		// A second embedding run finds nothing to do.
		calls := f.fake.EmbedCalls()
		if err := f.r.EmbedDataset(t.Context(), f.dataset.ID); err != nil {
			t.Fatal(err)
		}
		if f.fake.EmbedCalls() != calls {
			t.Error("a dataset already embedded was embedded again")
		}
	})
}

// TestFallbackWhenProviderFails: the embeddings provider failing at search
// time makes the search answer by keywords and say why; failing while
// embedding is recorded on the dataset, and cleared by the next success.
func TestFallbackWhenProviderFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		f := newFixture(t, st, false)
		f.fake.Fail(http.StatusServiceUnavailable)
		if err := f.r.EmbedDataset(ctx, f.dataset.ID); err == nil {
			t.Fatal("EmbedDataset succeeded against a failing provider")
		}
		state, err := st.EmbeddingState(ctx, f.dataset)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(state.LastError, "503") || state.Embedded != 0 || state.LastErrorAt == nil {
			t.Errorf("state = %+v, want the 503 recorded and nothing embedded", state)
		}
		f.fake.Fail(0)
		if err := f.r.EmbedDataset(ctx, f.dataset.ID); err != nil {
			t.Fatal(err)
		}
		if state, _ = st.EmbeddingState(ctx, f.dataset); state.LastError != "" || !state.Done() {
			t.Errorf("after a success: %+v, want done without an error", state)
		}

		f.fake.Fail(http.StatusInternalServerError)
		res := f.search(t, "how fast do you ship")
		if res.Mode != models.RetrievalFallback || !strings.Contains(res.Note, "embeddings provider failed") {
			t.Fatalf("mode %q note %q, want a keyword fallback naming the provider's failure", res.Mode, res.Note)
		}
		if len(res.Records) == 0 || res.Records[0].Record.ID != f.ids[faq[2]] || res.Records[0].Keyword == nil {
			t.Errorf("fallback results = %+v, want the shipping record by keywords", res.Records)
		}
		// Within the cooldown the failing provider is not asked again: the
		// next search falls back at once, saying why.
		calls := f.fake.EmbedCalls()
		if res := f.search(t, "how fast do you ship"); res.Mode != models.RetrievalFallback || !strings.Contains(res.Note, "500") {
			t.Errorf("second search: mode %q note %q", res.Mode, res.Note)
		}
		if f.fake.EmbedCalls() != calls {
			t.Error("a provider that just failed was called again within the cooldown")
		}
	})
}

// TestRerank: a rerank model reorders the fused candidates, each result
// keeps its rerank score, and a failing reranker leaves the fused order
// with a note.
func TestRerank(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, true)
		if err := f.r.EmbedDataset(t.Context(), f.dataset.ID); err != nil {
			t.Fatal(err)
		}
		q := "bitcoin payment"
		res := f.search(t, q)
		if !res.Reranked || f.fake.RerankCalls() != 1 {
			t.Fatalf("reranked %v after %d rerank calls", res.Reranked, f.fake.RerankCalls())
		}
		for i, r := range res.Records {
			if r.Rerank == nil {
				t.Errorf("result %d has no rerank score", i)
				continue
			}
			if want := embedtest.Relevance(q, r.Record.Text); *r.Rerank != want || r.Score != want {
				t.Errorf("result %d: rerank %v score %v, want %v", i, *r.Rerank, r.Score, want)
			}
			if i > 0 && *r.Rerank > *res.Records[i-1].Rerank {
				t.Errorf("results are not in rerank order: %v after %v", *r.Rerank, *res.Records[i-1].Rerank)
			}
		}

		f.fake.Fail(http.StatusBadGateway)
		// The question's embedding fails too: keyword fallback, not reranked.
		if res := f.search(t, q); res.Reranked || res.Mode != models.RetrievalFallback {
			t.Errorf("with the provider down: reranked %v mode %q", res.Reranked, res.Mode)
		}
	})
}

// TestDeletedRecordsLeaveResults: a record deleted after it was embedded
// is never returned, though its vector was cached.
func TestDeletedRecordsLeaveResults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, false)
		if err := f.r.EmbedDataset(t.Context(), f.dataset.ID); err != nil {
			t.Fatal(err)
		}
		crypto := f.ids[faq[0]]
		if _, ok := has(f.search(t, "bitcoin"), crypto); !ok {
			t.Fatal("the crypto record is not found before deleting it")
		}
		if err := st.DeleteRecord(context.Background(), f.dataset.ID, crypto); err != nil {
			t.Fatal(err)
		}
		if _, ok := has(f.search(t, "bitcoin"), crypto); ok {
			t.Error("a deleted record is still returned")
		}
	})
}

// TestEmbedInBatches: a dataset larger than a batch is embedded in batches
// of EmbedBatch, every record once.
func TestEmbedInBatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, false)
		recs := make([]models.DatasetRecord, 2*retrieval.EmbedBatch+1)
		for i := range recs {
			recs[i].Text = fmt.Sprintf("record number %d about shipping", i)
		}
		if _, err := st.ImportBatch(t.Context(), models.DatasetImport{DatasetID: f.dataset.ID}, recs); err != nil {
			t.Fatal(err)
		}
		if err := f.r.EmbedDataset(t.Context(), f.dataset.ID); err != nil {
			t.Fatal(err)
		}
		total := int64(len(recs) + len(faq))
		if got := f.fake.EmbedInputs(); got != total {
			t.Errorf("embedded %d texts, want each of the %d records once", got, total)
		}
		if want := (total + retrieval.EmbedBatch - 1) / retrieval.EmbedBatch; f.fake.EmbedCalls() != want {
			t.Errorf("%d embeddings calls, want %d batches", f.fake.EmbedCalls(), want)
		}
		state, err := st.EmbeddingState(t.Context(), f.dataset)
		if err != nil || !state.Done() || state.Embedded != total {
			t.Errorf("state = %+v, %v", state, err)
		}
	})
}
