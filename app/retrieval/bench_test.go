package retrieval

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"parley/models"
	"parley/models/store/storetest"
)

// randomIndex builds an index of n random vectors of dims (seeded, so every
// run measures the same data).
func randomIndex(n, dims int) (*Index, []float32) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := &Index{Model: "bench"}
	v := make([]float32, dims)
	for i := range n {
		for j := range v {
			v[j] = rng.Float32()*2 - 1
		}
		x.Add(fmt.Sprintf("r%07d", i), v)
	}
	q := make([]float32, dims)
	for j := range q {
		q[j] = rng.Float32()*2 - 1
	}
	return x, q
}

// BenchmarkVectorSearch measures exact cosine search of the top 20 among a
// dataset's vectors of 768 dimensions (a common embeddings size), the cost
// every semantic search pays once the vectors are in memory:
//
//	go test ./app/retrieval -run '^$' -bench VectorSearch -benchtime 20x
func BenchmarkVectorSearch(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("n=%d/dims=768", n), func(b *testing.B) {
			x, q := randomIndex(n, 768)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if hits := x.Search(q, 20, 0); len(hits) != 20 {
					b.Fatalf("%d hits", len(hits))
				}
			}
			b.ReportMetric(float64(n*768*4)/(1<<20), "MiB")
		})
	}
}

// TestIndexSearchIsExact: the top k by brute force match a full sort, best
// first, whether the scan runs on one core or several.
func TestIndexSearchIsExact(t *testing.T) {
	for _, n := range []int{50, parallelFrom + 7} {
		x, q := randomIndex(n, 16)
		hits := x.Search(q, 5, -1)
		if len(hits) != 5 {
			t.Fatalf("n=%d: %d hits", n, len(hits))
		}
		// The best by a plain scan.
		best, bestSim := "", -2.0
		qn := make([]float32, len(q))
		nq := norm(q)
		for i, f := range q {
			qn[i] = f / nq
		}
		for i, id := range x.IDs {
			if s := float64(dot(qn, x.vecs[i*16:(i+1)*16])); s > bestSim {
				best, bestSim = id, s
			}
		}
		if hits[0].ID != best {
			t.Errorf("n=%d: first hit %s, want %s", n, hits[0].ID, best)
		}
		for i := 1; i < len(hits); i++ {
			if hits[i].Similarity > hits[i-1].Similarity {
				t.Errorf("n=%d: hits not best first: %v", n, hits)
			}
		}
	}
}

// BenchmarkVectorLoad measures reading a dataset's 10,000 vectors of 768
// dimensions from the database into memory: what the first search after a
// change of the dataset's vectors pays (later ones use the cache).
//
//	go test ./app/retrieval -run '^$' -bench VectorLoad -benchtime 5x
func BenchmarkVectorLoad(b *testing.B) {
	for _, dialect := range storetest.Dialects(b) {
		b.Run(dialect, func(b *testing.B) {
			st := storetest.Open(b, dialect)
			ctx := b.Context()
			p, err := st.CreateProvider(ctx, models.Provider{Name: "bench", Kind: models.ProviderKindOpenAI, BaseURL: "http://127.0.0.1:9/v1", TimeoutSeconds: 5}, "")
			if err != nil {
				b.Fatal(err)
			}
			d := models.NewDataset()
			d.Name, d.EmbedProviderID, d.EmbedModel = "bench", &p.ID, "m"
			ds, err := st.CreateDataset(ctx, d)
			if err != nil {
				b.Fatal(err)
			}
			const n = 10000
			recs := make([]models.DatasetRecord, n)
			for i := range recs {
				recs[i].Text = fmt.Sprintf("record %d", i)
			}
			if _, err := st.ImportBatch(ctx, models.DatasetImport{DatasetID: ds.ID}, recs); err != nil {
				b.Fatal(err)
			}
			x, _ := randomIndex(1, 768)
			raw := models.EncodeVector(x.vecs)
			for {
				pending, err := st.PendingRecords(ctx, ds.ID, "m", "", 1000)
				if err != nil {
					b.Fatal(err)
				}
				if len(pending) == 0 {
					break
				}
				rows := make([]models.RecordVector, len(pending))
				for i, r := range pending {
					rows[i] = models.RecordVector{RecordID: r.ID, Model: "m", Dims: 768, Vector: raw}
				}
				if _, err := st.SaveVectors(ctx, ds.ID, pending, rows); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				var c cache // empty each time: a cold load
				idx, err := c.index(ctx, st, ds.ID, "m", 1, DefaultMaxVectors)
				if err != nil || idx.Len() != n {
					b.Fatalf("loaded %v, %v", idx, err)
				}
			}
		})
	}
}
