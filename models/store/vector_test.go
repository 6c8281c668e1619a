package store_test

import (
	"slices"
	"strings"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

func mustEmbedProvider(t *testing.T, s *store.Store, name string) *models.Provider {
	t.Helper()
	p, err := s.CreateProvider(t.Context(), models.Provider{Name: name, Kind: models.ProviderKindOpenAI,
		BaseURL: "http://127.0.0.1:9/v1", TimeoutSeconds: 10}, "")
	if err != nil {
		t.Fatalf("CreateProvider: %v", err)
	}
	return p
}

func mustEmbeddingDataset(t *testing.T, s *store.Store, providerID, model string) *models.Dataset {
	t.Helper()
	d := models.NewDataset()
	d.Name, d.EmbedProviderID, d.EmbedModel = "Semantic", &providerID, model
	out, err := s.CreateDataset(t.Context(), d)
	if err != nil {
		t.Fatalf("CreateDataset: %v", err)
	}
	return out
}

func pendingIDs(t *testing.T, s *store.Store, d *models.Dataset) []string {
	t.Helper()
	recs, err := s.PendingRecords(t.Context(), d.ID, d.EmbedModel, "", 100)
	if err != nil {
		t.Fatalf("PendingRecords: %v", err)
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

func saveAll(t *testing.T, s *store.Store, d *models.Dataset, vec []float32) int {
	t.Helper()
	recs, err := s.PendingRecords(t.Context(), d.ID, d.EmbedModel, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var rows []models.RecordVector
	for _, r := range recs {
		rows = append(rows, models.RecordVector{RecordID: r.ID, Model: d.EmbedModel, Dims: len(vec), Vector: models.EncodeVector(vec)})
	}
	n, err := s.SaveVectors(t.Context(), d.ID, recs, rows)
	if err != nil {
		t.Fatalf("SaveVectors: %v", err)
	}
	return n
}

// TestDatasetEmbeddingSettings: an embeddings or rerank model needs its
// provider and its model name, and the provider must exist; nothing is
// written otherwise.
func TestDatasetEmbeddingSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		p := mustEmbedProvider(t, s, "ollama")
		for _, tc := range []struct {
			name   string
			set    func(d *models.Dataset)
			fields []string
		}{
			{"ErrModelRequired", func(d *models.Dataset) { d.EmbedProviderID = &p.ID }, []string{"embedModel"}},
			{"ErrProviderRequired", func(d *models.Dataset) { d.EmbedModel = "nomic-embed-text" }, []string{"embedProviderId"}},
			{"ErrRerankModelRequired", func(d *models.Dataset) { d.RerankProviderID = &p.ID }, []string{"rerankModel"}},
			{"ErrUnknownProvider", func(d *models.Dataset) {
				d.EmbedProviderID, d.EmbedModel = ptr(models.NewID()), "m"
			}, []string{"embedProviderId"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				d := models.NewDataset()
				d.Name = "Bad"
				tc.set(&d)
				_, err := s.CreateDataset(t.Context(), d)
				wantFieldErrors(t, err, tc.fields...)
				if n := count(t, s, "datasets", "name = ?", "Bad"); n != 0 {
					t.Errorf("%d datasets written", n)
				}
			})
		}
		t.Run("ProviderInUseIsKept", func(t *testing.T) {
			q := mustEmbedProvider(t, s, "reranker")
			d := models.NewDataset()
			d.Name, d.RerankProviderID, d.RerankModel = "Reranked", &q.ID, "bge"
			if _, err := s.CreateDataset(t.Context(), d); err != nil {
				t.Fatal(err)
			}
			err := s.DeleteProvider(t.Context(), q.ID)
			wantCode(t, err, models.CodeConflict)
			if !strings.Contains(models.ErrorMessage(err), "Reranked") {
				t.Errorf("message %q does not name the dataset", models.ErrorMessage(err))
			}
		})
		t.Run("OK", func(t *testing.T) {
			d := models.NewDataset()
			d.Name, d.EmbedProviderID, d.EmbedModel = "Good", &p.ID, "nomic-embed-text"
			d.RerankProviderID, d.RerankModel = &p.ID, "bge-reranker"
			got, err := s.CreateDataset(t.Context(), d)
			if err != nil {
				t.Fatal(err)
			}
			back, err := s.FindDataset(t.Context(), got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !back.Embeds() || !back.Reranks() || back.EmbedModel != "nomic-embed-text" || back.RerankModel != "bge-reranker" {
				t.Errorf("read back %+v", back)
			}
		})
	})
}

// TestRecordVectors: every record write leaves the right records pending
// embedding — new ones, changed ones, all of them after a model change —
// deletes take their vectors along, and vectors read back as written.
func TestRecordVectors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustEmbedProvider(t, s, "ollama")
		d := mustEmbeddingDataset(t, s, p.ID, "m1")
		r1 := mustRecord(t, s, d.ID, "we do not accept cryptocurrency")
		r2 := mustRecord(t, s, d.ID, "card payments are welcome")
		want := []string{r1.ID, r2.ID}
		slices.Sort(want)
		if got := pendingIDs(t, s, d); !slices.Equal(got, want) {
			t.Fatalf("pending = %v, want %v", got, want)
		}
		vec := []float32{0.5, -1.25, 3}
		if n := saveAll(t, s, d, vec); n != 2 {
			t.Fatalf("saved %d vectors, want 2", n)
		}
		if got := pendingIDs(t, s, d); len(got) != 0 {
			t.Errorf("pending after saving = %v", got)
		}
		st, err := s.EmbeddingState(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if st.Embedded != 2 || st.Total != 2 || !st.Done() || st.Version == 0 {
			t.Errorf("state = %+v, want 2 of 2 with a version", st)
		}
		got := map[string][]float32{}
		if err := s.EachVector(ctx, d.ID, "m1", func(id string, raw []byte) error {
			got[id] = models.DecodeVector(raw, nil)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !slices.Equal(got[r1.ID], vec) {
			t.Errorf("vectors read back = %v, want %v for each", got, vec)
		}

		t.Run("UpdateTextReembeds", func(t *testing.T) {
			before, _ := s.VectorVersion(ctx, d.ID)
			if _, err := s.UpdateRecord(ctx, models.DatasetRecord{ID: r1.ID, DatasetID: d.ID, Text: "we do not accept bitcoin"}); err != nil {
				t.Fatal(err)
			}
			if got := pendingIDs(t, s, d); !slices.Equal(got, []string{r1.ID}) {
				t.Errorf("pending = %v, want the changed record", got)
			}
			saveAll(t, s, d, vec)
			if after, _ := s.VectorVersion(ctx, d.ID); after <= before {
				t.Errorf("version %d → %d: the change counter did not move", before, after)
			}
			// Only the source changes: the vector stays.
			if _, err := s.UpdateRecord(ctx, models.DatasetRecord{ID: r1.ID, DatasetID: d.ID, Text: "we do not accept bitcoin", Source: "faq"}); err != nil {
				t.Fatal(err)
			}
			if got := pendingIDs(t, s, d); len(got) != 0 {
				t.Errorf("pending after a source edit = %v", got)
			}
		})
		t.Run("ChangedMeanwhileIsSkipped", func(t *testing.T) {
			r3 := mustRecord(t, s, d.ID, "first text")
			recs, _ := s.PendingRecords(ctx, d.ID, "m1", "", 10)
			now := s.Now
			useClock(s) // years later: the record's updated_at moves
			if _, err := s.UpdateRecord(ctx, models.DatasetRecord{ID: r3.ID, DatasetID: d.ID, Text: "second text"}); err != nil {
				t.Fatal(err)
			}
			s.Now = now
			n, err := s.SaveVectors(ctx, d.ID, recs, []models.RecordVector{{RecordID: r3.ID, Model: "m1", Dims: 3, Vector: models.EncodeVector(vec)}})
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("saved %d vectors of a record changed since it was read", n)
			}
			if got := pendingIDs(t, s, d); !slices.Equal(got, []string{r3.ID}) {
				t.Errorf("pending = %v, want the changed record", got)
			}
			saveAll(t, s, d, vec)
		})
		t.Run("DeleteTakesVector", func(t *testing.T) {
			if err := s.DeleteRecord(ctx, d.ID, r2.ID); err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "record_vectors", "record_id = ?", r2.ID); n != 0 {
				t.Errorf("%d vectors left of a deleted record", n)
			}
		})
		t.Run("ImportIsPending", func(t *testing.T) {
			imp, err := s.ImportBatch(ctx, models.DatasetImport{DatasetID: d.ID, Format: "txt", FileName: "a.txt"},
				[]models.DatasetRecord{{Text: "imported one"}, {Text: "imported two"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := pendingIDs(t, s, d); len(got) != 2 {
				t.Errorf("pending after an import = %v, want its 2 records", got)
			}
			saveAll(t, s, d, vec)
			if _, err := s.UndoImport(ctx, d.ID, imp.ID); err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "record_vectors", "dataset_id = ?", d.ID); n != 2 {
				t.Errorf("%d vectors after undoing the import, want the 2 of the records left", n)
			}
		})
		t.Run("ModelChangeReembedsAll", func(t *testing.T) {
			cur, _ := s.FindDataset(ctx, d.ID)
			cur.EmbedModel = "m2"
			upd, err := s.UpdateDataset(ctx, *cur)
			if err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "record_vectors", "dataset_id = ?", d.ID); n != 0 {
				t.Errorf("%d vectors of the old model left", n)
			}
			if got := pendingIDs(t, s, upd); len(got) != 2 {
				t.Errorf("pending after a model change = %v, want every record", got)
			}
			saveAll(t, s, upd, vec)
		})
		t.Run("DatasetDeleteTakesVectors", func(t *testing.T) {
			if err := s.DeleteDataset(ctx, d.ID); err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"record_vectors", "dataset_embeddings"} {
				if n := count(t, s, table, "dataset_id = ?", d.ID); n != 0 {
					t.Errorf("%d rows left in %s", n, table)
				}
			}
		})
	})
}
