// Package embedtest is a fake OpenAI-compatible embeddings and rerank server
// for tests: POST /v1/embeddings answers deterministic vectors (a hashed bag
// of words, with a small synonym table so that "bitcoin" and
// "cryptocurrency" land close) and POST /v1/rerank a deterministic
// word-overlap score. It can be told to fail, and counts what it was asked.
package embedtest

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode"
)

// Dims is the length of the fake vectors.
const Dims = 64

// Server is the fake; URL is its base URL (ending in /v1) for a provider.
type Server struct {
	*httptest.Server
	// URL is the base URL to configure a provider with.
	URL string

	fail        atomic.Int32 // status to answer (0: succeed)
	embedCalls  atomic.Int64
	embedInputs atomic.Int64
	rerankCalls atomic.Int64

	mu     sync.Mutex
	models []string // models asked for, in order
}

// New starts the fake; it is closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/embeddings", s.embeddings)
	mux.HandleFunc("POST /v1/rerank", s.rerank)
	s.Server = httptest.NewServer(mux)
	s.URL = s.Server.URL + "/v1"
	t.Cleanup(s.Close)
	return s
}

// Fail makes every call answer status (0: succeed again).
func (s *Server) Fail(status int) { s.fail.Store(int32(status)) }

// EmbedCalls counts POST /v1/embeddings calls; EmbedInputs the texts they carried.
func (s *Server) EmbedCalls() int64  { return s.embedCalls.Load() }
func (s *Server) EmbedInputs() int64 { return s.embedInputs.Load() }

// RerankCalls counts POST /v1/rerank calls.
func (s *Server) RerankCalls() int64 { return s.rerankCalls.Load() }

// Models are the embeddings models asked for, in order.
func (s *Server) Models() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.models)
}

func (s *Server) failed(w http.ResponseWriter) bool {
	if st := int(s.fail.Load()); st != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st)
		_, _ = w.Write([]byte(`{"error":{"message":"the fake is told to fail"}}`))
		return true
	}
	return false
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	s.embedCalls.Add(1)
	if s.failed(w) {
		return
	}
	var req struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model == "" {
		http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
		return
	}
	s.embedInputs.Add(int64(len(req.Input)))
	s.mu.Lock()
	s.models = append(s.models, req.Model)
	s.mu.Unlock()
	type item struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	out := struct {
		Data []item `json:"data"`
	}{}
	for i, in := range req.Input {
		out.Data = append(out.Data, item{Index: i, Embedding: Vector(in)})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) rerank(w http.ResponseWriter, r *http.Request) {
	s.rerankCalls.Add(1)
	if s.failed(w) {
		return
	}
	var req struct {
		Model     string   `json:"model"`
		Query     string   `json:"query"`
		Documents []string `json:"documents"`
		TopN      int      `json:"top_n"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model == "" {
		http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
		return
	}
	type result struct {
		Index          int     `json:"index"`
		RelevanceScore float64 `json:"relevance_score"`
	}
	var res []result
	for i, d := range req.Documents {
		res = append(res, result{Index: i, RelevanceScore: Relevance(req.Query, d)})
	}
	slices.SortStableFunc(res, func(a, b result) int {
		switch {
		case a.RelevanceScore > b.RelevanceScore:
			return -1
		case a.RelevanceScore < b.RelevanceScore:
			return 1
		}
		return a.Index - b.Index
	})
	if req.TopN > 0 && len(res) > req.TopN {
		res = res[:req.TopN]
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"results": res})
}

// synonyms map words to a shared concept, so texts that mean the same land close.
var synonyms = map[string]string{
	"bitcoin": "crypto", "bitcoins": "crypto", "btc": "crypto", "ethereum": "crypto",
	"cryptocurrency": "crypto", "cryptocurrencies": "crypto", "crypto": "crypto",
	"refund": "refund", "refunds": "refund", "reimburse": "refund", "money-back": "refund",
	"ship": "ship", "shipping": "ship", "delivery": "ship", "deliver": "ship", "shipped": "ship",
	"pay": "pay", "paying": "pay", "payment": "pay", "payments": "pay", "paid": "pay",
	"cancel": "cancel", "cancellation": "cancel", "unsubscribe": "cancel",
}

// stop words carry no meaning for the fake.
var stop = map[string]bool{
	"a": true, "an": true, "the": true, "i": true, "we": true, "you": true, "can": true, "do": true,
	"does": true, "with": true, "by": true, "or": true, "and": true, "of": true, "to": true, "is": true,
	"are": true, "my": true, "our": true, "your": true, "it": true, "in": true, "on": true, "for": true,
	"not": true, "how": true, "what": true,
}

// Concepts are the meaningful words of text, synonyms folded, once each, sorted.
func Concepts(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-'
	}) {
		if stop[w] {
			continue
		}
		if c, ok := synonyms[w]; ok {
			w = c
		}
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}

// Vector is the fake embedding of text: each concept hashed to a dimension
// (and a sign), normalised to length 1; text without concepts gets a fixed
// vector.
func Vector(text string) []float32 {
	v := make([]float32, Dims)
	for _, c := range Concepts(text) {
		h := fnv.New64a()
		_, _ = h.Write([]byte(c))
		x := h.Sum64()
		sign := float32(1)
		if x>>63 == 1 {
			sign = -1
		}
		v[x%Dims] += sign
	}
	var n float64
	for _, f := range v {
		n += float64(f) * float64(f)
	}
	if n == 0 {
		v[0] = 1
		return v
	}
	inv := float32(1 / math.Sqrt(n))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// Relevance is the fake reranker's score: the share of the query's concepts
// the document has (0..1).
func Relevance(query, doc string) float64 {
	q := Concepts(query)
	if len(q) == 0 {
		return 0
	}
	d := map[string]bool{}
	for _, c := range Concepts(doc) {
		d[c] = true
	}
	n := 0
	for _, c := range q {
		if d[c] {
			n++
		}
	}
	return float64(n) / float64(len(q))
}
