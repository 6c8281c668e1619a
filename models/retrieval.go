package models

import (
	"encoding/binary"
	"math"
	"time"
)

// Retrieval modes, as a turn records how its records were found.
const (
	// RetrievalKeyword: keyword search only (no dataset has an embeddings model).
	RetrievalKeyword = "keyword"
	// RetrievalHybrid: keyword and vector results fused (and reranked when
	// a dataset has a rerank model).
	RetrievalHybrid = "hybrid"
	// RetrievalFallback: a dataset has an embeddings model but its provider
	// failed (or its vectors are not ready), so keyword search alone answered;
	// the note says why.
	RetrievalFallback = "keyword_fallback"
)

// RecordVector is a record's embedding: dims float32 values stored as
// little-endian bytes, the same on both databases.
type RecordVector struct {
	RecordID  string    `gorm:"primaryKey;size:36"`
	DatasetID string    `gorm:"size:36;not null"`
	Model     string    `gorm:"size:200;not null"`
	Dims      int       `gorm:"not null"`
	Vector    []byte    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
}

// EncodeVector turns a vector into its stored bytes (little-endian float32).
func EncodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// DecodeVector reads stored bytes back into dst (grown as needed); a
// trailing partial value is ignored.
func DecodeVector(b []byte, dst []float32) []float32 {
	n := len(b) / 4
	dst = dst[:0]
	for i := 0; i < n; i++ {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return dst
}

// EmbeddingState is how far a dataset's records are embedded with its
// current embeddings model, for the dataset page and the API.
type EmbeddingState struct {
	// Model is the embeddings model ("" when the dataset has none).
	Model string `json:"model"`
	// Embedded of Total records have a vector of Model.
	Embedded int64 `json:"embedded"`
	Total    int64 `json:"total"`
	// LastError is the provider's last failure, in plain words ("" after a
	// batch succeeds), and when it happened.
	LastError   string     `json:"lastError,omitempty"`
	LastErrorAt *time.Time `json:"lastErrorAt,omitempty"`
	// Version changes whenever the dataset's vectors change (caches key on it).
	Version int64 `json:"-"`
}

// Done reports whether every record is embedded.
func (e EmbeddingState) Done() bool { return e.Embedded >= e.Total }

// Retrieval is what a search of one or more datasets found and how.
type Retrieval struct {
	// Mode is RetrievalKeyword, RetrievalHybrid or RetrievalFallback.
	Mode string `json:"mode"`
	// Note says why a search fell back to keywords ("" otherwise).
	Note string `json:"note,omitempty"`
	// Reranked says a rerank model ordered the results.
	Reranked bool              `json:"reranked"`
	Records  []RetrievedRecord `json:"records"`
}

// RetrievedRecord is a record a search found with every score that placed
// it, so the "why" of a turn and the search page can show them.
type RetrievedRecord struct {
	Record DatasetRecord `json:"record"`
	// Score is 0..1, higher is better: the rerank score when reranked, else
	// the fused score scaled to 0..1, else (keyword only) the keyword score.
	Score float64 `json:"score"`
	// Keyword is the keyword score (nil: not found by keywords).
	Keyword *float64 `json:"keywordScore,omitempty"`
	// Vector is the cosine similarity to the question (nil: not found by vectors).
	Vector *float64 `json:"vectorScore,omitempty"`
	// Fused is the reciprocal rank fusion score (nil: keyword only).
	Fused *float64 `json:"fusedScore,omitempty"`
	// Rerank is the rerank model's relevance score (nil: not reranked).
	Rerank *float64 `json:"rerankScore,omitempty"`
}
