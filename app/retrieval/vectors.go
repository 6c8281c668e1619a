package retrieval

import (
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"parley/models/store"
)

// Index is one dataset's vectors of one model, normalised to length 1 and
// laid out flat, for exact (brute-force) cosine search in memory.
type Index struct {
	// Model and Version say what the index holds (the dataset's change
	// counter when it was read).
	Model   string
	Version int64
	Dims    int
	IDs     []string
	vecs    []float32 // len(IDs)*Dims
}

// Len is the number of vectors.
func (x *Index) Len() int { return len(x.IDs) }

// Add appends a vector (normalised; a vector of another length than the
// first is skipped, as is a zero vector) and reports whether it was kept.
func (x *Index) Add(id string, v []float32) bool {
	if x.Dims == 0 {
		x.Dims = len(v)
	}
	if len(v) != x.Dims || x.Dims == 0 {
		return false
	}
	n := norm(v)
	if n == 0 {
		return false
	}
	x.IDs = append(x.IDs, id)
	for _, f := range v {
		x.vecs = append(x.vecs, f/n)
	}
	return true
}

// addRaw appends a stored vector (little-endian float32 bytes) without an
// intermediate copy, normalised like Add; it reports whether it was kept.
func (x *Index) addRaw(id string, raw []byte) bool {
	n := len(raw) / 4
	if x.Dims == 0 {
		x.Dims = n
	}
	if n != x.Dims || n == 0 {
		return false
	}
	start := len(x.vecs)
	x.vecs = slices.Grow(x.vecs, n)[:start+n]
	v := x.vecs[start:]
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	l := norm(v)
	if l == 0 {
		x.vecs = x.vecs[:start]
		return false
	}
	for i := range v {
		v[i] /= l
	}
	x.IDs = append(x.IDs, id)
	return true
}

func norm(v []float32) float32 {
	var s float64
	for _, f := range v {
		s += float64(f) * float64(f)
	}
	return float32(math.Sqrt(s))
}

// Hit is a vector search result: a record and its cosine similarity.
type Hit struct {
	ID         string
	Similarity float64
}

// parallelFrom is the index size from which a search uses every core.
const parallelFrom = 20000

// Search returns the k vectors most similar to q (cosine), best first,
// none below minSim. It scans every vector: exact, O(len × dims).
func (x *Index) Search(q []float32, k int, minSim float64) []Hit {
	if len(q) != x.Dims || x.Len() == 0 || k <= 0 {
		return nil
	}
	n := norm(q)
	if n == 0 {
		return nil
	}
	qn := make([]float32, len(q))
	for i, f := range q {
		qn[i] = f / n
	}
	parts := 1
	if x.Len() >= parallelFrom {
		parts = runtime.GOMAXPROCS(0)
	}
	results := make([]hitHeap, parts)
	var wg sync.WaitGroup
	per := (x.Len() + parts - 1) / parts
	for p := 0; p < parts; p++ {
		lo, hi := p*per, min((p+1)*per, x.Len())
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[p] = x.scan(qn, lo, hi, k, minSim)
		}()
	}
	wg.Wait()
	all := make(hitHeap, 0, k)
	for _, r := range results {
		for _, h := range r {
			all.pushTop(h, k)
		}
	}
	out := make([]Hit, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&all).(Hit)
	}
	return out
}

func (x *Index) scan(q []float32, lo, hi, k int, minSim float64) hitHeap {
	top := make(hitHeap, 0, k)
	d := x.Dims
	for i := lo; i < hi; i++ {
		s := float64(dot(q, x.vecs[i*d:(i+1)*d]))
		if s < minSim || (len(top) == k && s < top[0].Similarity) {
			continue
		}
		top.pushTop(Hit{ID: x.IDs[i], Similarity: s}, k)
	}
	return top
}

// pushTop keeps the k best hits in the min-heap h.
func (h *hitHeap) pushTop(hit Hit, k int) {
	if len(*h) < k {
		heap.Push(h, hit)
		return
	}
	if less((*h)[0], hit) {
		(*h)[0] = hit
		heap.Fix(h, 0)
	}
}

func dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// less orders hits worst first: lower similarity, then the greater id.
func less(a, b Hit) bool {
	if a.Similarity != b.Similarity {
		return a.Similarity < b.Similarity
	}
	return a.ID > b.ID
}

type hitHeap []Hit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return less(h[i], h[j]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(Hit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// cache keeps each dataset's index in memory, keyed by (dataset, model,
// change counter), so a search reads the vectors from the database only
// after they changed.
type cache struct {
	mu      sync.Mutex
	entries map[string]*cacheEntry // by dataset id
}

type cacheEntry struct {
	mu     sync.Mutex // held while loading, so concurrent searches load once
	idx    *Index
	loaded time.Time
}

// A large index is reloaded at most every refreshEvery while its vectors
// change (embedding bumps the counter every batch): until then searches use
// the vectors as they were.
const (
	refreshLarge = 5000
	refreshEvery = 10 * time.Second
)

// index returns the dataset's index of model at version, loading it when
// the cached one is older or of another model. A dataset with more than
// limit vectors is refused (ErrTooLarge).
func (c *cache) index(ctx context.Context, st *store.Store, datasetID, model string, version int64, limit int) (*Index, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*cacheEntry{}
	}
	e, ok := c.entries[datasetID]
	if !ok {
		e = &cacheEntry{}
		c.entries[datasetID] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.idx != nil && e.idx.Model == model && (e.idx.Version == version ||
		(e.idx.Len() >= refreshLarge && time.Since(e.loaded) < refreshEvery)) {
		return e.idx, nil
	}
	idx := &Index{Model: model, Version: version}
	if e.idx != nil && e.idx.Model == model {
		// About the size it had: one allocation rather than a doubling series.
		idx.vecs = make([]float32, 0, len(e.idx.vecs)+len(e.idx.vecs)/8)
		idx.IDs = make([]string, 0, len(e.idx.IDs)+len(e.idx.IDs)/8)
	}
	err := st.EachVector(ctx, datasetID, model, func(id string, raw []byte) error {
		if idx.Len() >= limit {
			return &tooLargeError{limit: limit}
		}
		idx.addRaw(id, raw)
		return nil
	})
	if err != nil {
		e.idx = nil
		return nil, err
	}
	e.idx, e.loaded = idx, time.Now()
	return idx, nil
}

// tooLargeError says a dataset has more vectors than exact search serves.
type tooLargeError struct{ limit int }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("the dataset has more than %d embedded records, the most exact vector search serves", e.limit)
}
