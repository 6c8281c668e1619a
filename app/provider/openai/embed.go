package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"parley/app/provider"
)

// Limits of the embeddings and rerank calls.
const (
	// MaxEmbedBatch is the most inputs one POST /embeddings carries.
	MaxEmbedBatch = 256
	// MaxRerankDocuments is the most documents one POST /rerank carries.
	MaxRerankDocuments = 1000
	maxEmbedBody       = 64 << 20 // bytes of an embeddings or rerank response read
)

// embeddingsRequest is the body of POST /embeddings.
type embeddingsRequest struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
}

// embeddingsResponse is what POST /embeddings answers.
type embeddingsResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

// Embed implements provider.Embedder: one POST /embeddings with every input
// (at most MaxEmbedBatch), tried again on 429, 5xx and connection failures
// like Complete. Every vector must have the same length and finite values.
func (c *Client) Embed(ctx context.Context, model string, inputs []string) ([][]float32, error) {
	switch {
	case strings.TrimSpace(model) == "":
		return nil, &provider.Error{Message: c.cfg.Name + ": no embeddings model given"}
	case len(inputs) == 0:
		return nil, nil
	case len(inputs) > MaxEmbedBatch:
		return nil, &provider.Error{Message: fmt.Sprintf("%s: at most %d texts can be embedded at once", c.cfg.Name, MaxEmbedBatch)}
	}
	body, err := json.Marshal(embeddingsRequest{Model: model, Input: inputs})
	if err != nil {
		return nil, &provider.Error{Message: c.cfg.Name + ": cannot encode the embeddings request", Err: err}
	}
	var out embeddingsResponse
	if err := c.postJSON(ctx, "/embeddings", "embeddings", body, &out); err != nil {
		return nil, err
	}
	if len(out.Data) != len(inputs) {
		return nil, &provider.Error{Message: fmt.Sprintf("%s: the embeddings response has %d vectors for %d texts", c.cfg.Name, len(out.Data), len(inputs))}
	}
	vecs := make([][]float32, len(inputs))
	for i, d := range out.Data {
		idx := d.Index
		if idx < 0 || idx >= len(inputs) || vecs[idx] != nil {
			idx = i // servers that leave index out send them in order
		}
		vecs[idx] = d.Embedding
	}
	dims := len(vecs[0])
	for _, v := range vecs {
		if len(v) == 0 || len(v) != dims {
			return nil, &provider.Error{Message: c.cfg.Name + ": the embeddings response has vectors of different lengths (is the model an embeddings model?)"}
		}
		for _, f := range v {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return nil, &provider.Error{Message: c.cfg.Name + ": the embeddings response has values that are not numbers"}
			}
		}
	}
	return vecs, nil
}

// rerankRequest is the body of POST /rerank: documents is what vLLM,
// llama.cpp server, Infinity, Jina and Cohere read; texts is TEI's name.
type rerankRequest struct {
	Model     string   `json:"model"`
	Query     string   `json:"query"`
	Documents []string `json:"documents"`
	Texts     []string `json:"texts"`
	TopN      int      `json:"top_n,omitempty"`
}

// rerankResult is one result, as {index, relevance_score} (Jina/Cohere,
// vLLM, llama.cpp, Infinity) or {index, score} (TEI).
type rerankResult struct {
	Index          int      `json:"index"`
	RelevanceScore *float64 `json:"relevance_score"`
	Score          *float64 `json:"score"`
}

// Rerank implements provider.Reranker: one POST /rerank, read as
// {"results": [...]} or a bare list (TEI), returned best first, at most topN.
func (c *Client) Rerank(ctx context.Context, model, query string, documents []string, topN int) ([]provider.RerankResult, error) {
	switch {
	case strings.TrimSpace(model) == "":
		return nil, &provider.Error{Message: c.cfg.Name + ": no rerank model given"}
	case len(documents) == 0:
		return nil, nil
	case len(documents) > MaxRerankDocuments:
		return nil, &provider.Error{Message: fmt.Sprintf("%s: at most %d documents can be reranked at once", c.cfg.Name, MaxRerankDocuments)}
	}
	if topN <= 0 || topN > len(documents) {
		topN = len(documents)
	}
	body, err := json.Marshal(rerankRequest{Model: model, Query: query, Documents: documents, Texts: documents, TopN: topN})
	if err != nil {
		return nil, &provider.Error{Message: c.cfg.Name + ": cannot encode the rerank request", Err: err}
	}
	var raw json.RawMessage
	if err := c.postJSON(ctx, "/rerank", "rerank", body, &raw); err != nil {
		return nil, err
	}
	var list []rerankResult
	if err := json.Unmarshal(raw, &list); err != nil {
		var obj struct {
			Results []rerankResult `json:"results"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil || obj.Results == nil {
			return nil, &provider.Error{Message: c.cfg.Name + ": the rerank response has no results (is it a rerank endpoint?)"}
		}
		list = obj.Results
	}
	out := make([]provider.RerankResult, 0, len(list))
	seen := map[int]bool{}
	for _, r := range list {
		score := r.RelevanceScore
		if score == nil {
			score = r.Score
		}
		if score == nil || math.IsNaN(*score) || r.Index < 0 || r.Index >= len(documents) || seen[r.Index] {
			return nil, &provider.Error{Message: c.cfg.Name + ": the rerank response has a result without a valid index and score"}
		}
		seen[r.Index] = true
		out = append(out, provider.RerankResult{Index: r.Index, Score: *score})
	}
	slices.SortStableFunc(out, func(a, b provider.RerankResult) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return a.Index - b.Index
	})
	if len(out) > topN {
		out = out[:topN]
	}
	return out, nil
}

// postJSON POSTs body to path and decodes the JSON answer into out, tried
// again on 429, 5xx and connection failures; what names the call in errors.
func (c *Client) postJSON(ctx context.Context, path, what string, body []byte, out any) error {
	tctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		wait, err := c.postOnce(tctx, path, what, body, out)
		if err == nil {
			return nil
		}
		if tctx.Err() != nil {
			return c.callContextError(ctx, what, err)
		}
		var pe *provider.Error
		if !errors.As(err, &pe) || !pe.Retryable || attempt >= c.cfg.MaxRetries {
			return err
		}
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		if dl, ok := tctx.Deadline(); ok && time.Until(dl) < wait {
			return err
		}
		if err := c.sleep(tctx, wait); err != nil {
			return c.callContextError(ctx, what, err)
		}
	}
}

func (c *Client) postOnce(ctx context.Context, path, what string, body []byte, out any) (time.Duration, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, c.urlError(err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	c.authorize(hreq)
	resp, err := c.http.Do(hreq)
	if err != nil {
		return 0, c.connError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return retryAfter(resp.Header), c.statusError(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxEmbedBody)).Decode(out); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, &provider.Error{Message: fmt.Sprintf("%s: the %s response is not valid JSON (check the base URL)", c.cfg.Name, what), Status: resp.StatusCode, Err: err}
	}
	return 0, nil
}

// callContextError explains an embeddings or rerank call stopped by its context.
func (c *Client) callContextError(parent context.Context, what string, err error) error {
	if errors.Is(parent.Err(), context.Canceled) {
		return &provider.Error{Message: fmt.Sprintf("%s: the %s request was cancelled", c.cfg.Name, what), Err: parent.Err()}
	}
	return &provider.Error{Message: fmt.Sprintf("%s: the %s endpoint did not answer in time", c.cfg.Name, what), Retryable: true,
		Err: errors.Join(context.DeadlineExceeded, err)}
}
