package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"parley/app/provider/embedtest"
	"parley/app/retrieval"
	"parley/models"
)

// TestSemanticRetrieval drives semantic search as an app and an operator
// would: a dataset created through the API names the fake's embeddings
// model; once embedded, fetch reports the progress, search and a turn find
// the cryptocurrency record for a bitcoin question with its vector score,
// the turn records it, and the timeline's "why" shows the scores. With the
// provider down, search falls back to keywords and says so.
func TestSemanticRetrieval(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		fake := embedtest.New(t)
		p, err := a.store.CreateProvider(ctx, models.Provider{Name: "fake", Kind: models.ProviderKindOpenAI, BaseURL: fake.URL, TimeoutSeconds: 5}, "")
		if err != nil {
			t.Fatal(err)
		}
		c := a.api()
		t.Run("ErrUnknownProvider", func(t *testing.T) {
			before := count(t, a.store, "datasets")
			r := c.post("/dataset/create", fmt.Sprintf(`{"name":"Bad","embedProviderId":%q,"embedModel":"m"}`, models.NewID()))
			wantError(t, r, http.StatusBadRequest, "BAD_REQUEST")
			if !strings.Contains(r.Raw, "embedProviderId") || count(t, a.store, "datasets") != before {
				t.Errorf("answer %s; datasets %d → %d", r.Raw, before, count(t, a.store, "datasets"))
			}
		})
		ds := mustCreate(t, c, "/dataset/create", fmt.Sprintf(`{"name":"Help","searchMaxRecords":3,"embedProviderId":%q,"embedModel":"fake-embed"}`, p.ID))
		crypto := mustCreate(t, c, "/dataset/"+ds+"/record/create", `{"text":"We do not accept cryptocurrency."}`)
		for _, text := range []string{"You can pay by card or bank transfer.", "Orders ship within two business days."} {
			mustCreate(t, c, "/dataset/"+ds+"/record/create", fmt.Sprintf(`{"text":%q}`, text))
		}
		f := ok(t, c.get("/dataset/"+ds+"/fetch"))
		emb, _ := f.JSON["embedding"].(map[string]any)
		if f.str("embedModel") != "fake-embed" || f.str("embedProviderId") != p.ID || emb == nil || emb["total"] != 3.0 || emb["embedded"] != 0.0 {
			t.Fatalf("fetch before embedding = %s", f.Raw)
		}
		if err := a.srv.opts.Retriever.(*retrieval.Retriever).EmbedDataset(ctx, ds); err != nil {
			t.Fatal(err)
		}
		if emb, _ = ok(t, c.get("/dataset/"+ds+"/fetch")).JSON["embedding"].(map[string]any); emb["embedded"] != 3.0 {
			t.Errorf("embedding after the job = %v, want 3 of 3", emb)
		}

		t.Run("APISearch", func(t *testing.T) {
			r := ok(t, c.post("/dataset/"+ds+"/search", `{"search":"can I pay with bitcoin"}`))
			if r.str("retrieval") != "hybrid" {
				t.Fatalf("retrieval = %q: %s", r.str("retrieval"), r.Raw)
			}
			found := false
			for _, it := range r.JSON["records"].([]any) {
				rec := it.(map[string]any)
				if rec["id"] == crypto {
					found = rec["vectorScore"] != nil && rec["fusedScore"] != nil
				}
			}
			if !found {
				t.Errorf("the cryptocurrency record is missing or has no vector score: %s", r.Raw)
			}
		})
		t.Run("TurnRecordsScores", func(t *testing.T) {
			conv := ok(t, c.post("/conversation/create", fmt.Sprintf(`{"model":"local","datasetId":%q}`, ds))).str("id")
			ok(t, c.post("/conversation/"+conv+"/complete", `{"text":"can I pay with bitcoin"}`))
			var turn models.Turn
			if err := a.store.DB().Preload("Records").Where("conversation_id = ?", conv).First(&turn).Error; err != nil {
				t.Fatal(err)
			}
			if turn.Retrieval != models.RetrievalHybrid {
				t.Errorf("turn retrieval = %q (%s), want hybrid", turn.Retrieval, turn.RetrievalNote)
			}
			var rec *models.TurnRecord
			for i := range turn.Records {
				if turn.Records[i].RecordID == crypto {
					rec = &turn.Records[i]
				}
			}
			if rec == nil || rec.VectorScore == nil || rec.FusedScore == nil || rec.KeywordScore != nil {
				t.Fatalf("turn records = %+v, want the crypto record with vector and fused scores only", turn.Records)
			}
			page := a.as(models.RoleAdmin).get("/conversations/" + conv)
			wantStatus(t, page, http.StatusOK)
			wantBody(t, page, "Found by keywords and meaning", "<th scope=\"col\">Vector</th>", fmt.Sprintf("%.2f", *rec.VectorScore))
		})
		t.Run("QACheck", func(t *testing.T) {
			res, err := a.srv.qa.Check(ctx, models.RetrievalCheck{DatasetID: ds, Query: "can I pay with bitcoin", RecordID: crypto, TopK: 3})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Pass {
				t.Errorf("a retrieval check searches as turns do, semantically: %s", res.Message)
			}
		})
		t.Run("DashboardSearch", func(t *testing.T) {
			r := a.as(models.RoleBuilder).htmxGet("/datasets/" + ds + "/search?q=" + url.QueryEscape("can I pay with bitcoin"))
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, "cryptocurrency", "Keyword and semantic results fused")
			show := a.as(models.RoleBuilder).get("/datasets/" + ds)
			wantBody(t, show, "Semantic search", "3 of 3", "fake-embed")
		})
		t.Run("FallbackWhenDown", func(t *testing.T) {
			fake.Fail(http.StatusInternalServerError)
			defer fake.Fail(0)
			r := ok(t, c.post("/dataset/"+ds+"/search", `{"search":"can I pay with bitcoin"}`))
			if r.str("retrieval") != models.RetrievalFallback || !strings.Contains(r.str("retrievalNote"), "500") {
				t.Errorf("with the provider down: %s", r.Raw)
			}
			page := a.as(models.RoleBuilder).htmxGet("/datasets/" + ds + "/search?q=" + url.QueryEscape("card payment"))
			wantBody(t, page, "Keyword search only:")
			// A turn still answers, by keywords, and its record says why.
			conv := ok(t, c.post("/conversation/create", fmt.Sprintf(`{"model":"local","datasetId":%q}`, ds))).str("id")
			ok(t, c.post("/conversation/"+conv+"/complete", `{"text":"how do I pay by card"}`))
			var turn models.Turn
			if err := a.store.DB().Preload("Records").Where("conversation_id = ?", conv).First(&turn).Error; err != nil {
				t.Fatal(err)
			}
			if turn.Status != models.TurnDone || turn.Retrieval != models.RetrievalFallback || !strings.Contains(turn.RetrievalNote, "embeddings provider failed") || len(turn.Records) == 0 {
				t.Errorf("turn %s: retrieval %q note %q, %d records; want a keyword fallback that answered", turn.Status, turn.Retrieval, turn.RetrievalNote, len(turn.Records))
			}
			wantBody(t, a.as(models.RoleAdmin).get("/conversations/"+conv), "Keyword search only: the embeddings provider failed")
		})
		t.Run("ClearSettings", func(t *testing.T) {
			ok(t, c.post("/dataset/"+ds+"/update", `{"embedProviderId":"","embedModel":""}`))
			f := ok(t, c.get("/dataset/"+ds+"/fetch"))
			if f.JSON["embedProviderId"] != nil || f.str("embedModel") != "" || f.JSON["embedding"] != nil {
				t.Errorf("after clearing: %s", f.Raw)
			}
			if n := count(t, a.store, "record_vectors"); n != 0 {
				t.Errorf("%d vectors kept after the embeddings model was removed", n)
			}
		})
	})
}

// TestDatasetFormSemanticFields: the dataset form offers the configured
// providers, keeps the input on an error (a model without its provider)
// and saves both settings.
func TestDatasetFormSemanticFields(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		p, err := a.store.CreateProvider(ctx, models.Provider{Name: "ollama", Kind: models.ProviderKindOpenAI, BaseURL: "http://127.0.0.1:9/v1", TimeoutSeconds: 5}, "")
		if err != nil {
			t.Fatal(err)
		}
		b := a.as(models.RoleBuilder)
		wantBody(t, b.get("/datasets/new"), "Embeddings provider", `<option value="`+p.ID+`">ollama</option>`)
		form := url.Values{"name": {"Semantic"}, "searchMaxRecords": {"3"}, "recordMaxTokens": {"1000"}, "searchMaxTokens": {"3000"},
			"searchMinScore": {"0"}, "embedModel": {"nomic-embed-text"}}
		r := b.post("/datasets", form)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, "Choose the provider that serves the embeddings model", `value="nomic-embed-text"`)
		if n := count(t, a.store, "datasets"); n != 0 {
			t.Errorf("%d datasets written by an invalid form", n)
		}
		form.Set("embedProviderId", p.ID)
		form.Set("rerankProviderId", p.ID)
		form.Set("rerankModel", "bge-reranker-v2-m3")
		r = b.post("/datasets", form)
		wantStatus(t, r, http.StatusSeeOther)
		ds, _, err := a.store.FindDatasets(ctx, models.Page{Limit: 5})
		if err != nil || len(ds) != 1 {
			t.Fatalf("datasets = %v, %v", ds, err)
		}
		if !ds[0].Embeds() || !ds[0].Reranks() || ds[0].EmbedModel != "nomic-embed-text" || ds[0].RerankModel != "bge-reranker-v2-m3" {
			t.Errorf("saved %+v", ds[0])
		}
		frag := b.htmxGet("/datasets/" + ds[0].ID + "/embedding")
		wantStatus(t, frag, http.StatusOK)
		wantBody(t, frag, "0 of 0", "bge-reranker-v2-m3")
	})
}
