package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"parley/app/provider"
)

// moderationTimeout bounds one Moderate call (retries included): a screening
// step should not hold a turn as long as an answer may.
const moderationTimeout = 30 * time.Second

// moderationRequest is the body of POST /moderations.
type moderationRequest struct {
	Input string `json:"input"`
}

// moderationResponse is what POST /moderations answers.
type moderationResponse struct {
	Results []struct {
		Flagged    bool            `json:"flagged"`
		Categories map[string]bool `json:"categories"`
	} `json:"results"`
}

// Moderate implements provider.Moderator: POST /moderations with the text,
// read back as results[0].flagged and the categories set to true (sorted).
// 429, 5xx and connection failures are tried again like Complete's. An
// endpoint without a moderations route (404, 405 or 501 — Ollama, llama.cpp
// and most local servers) answers with an error that wraps
// provider.ErrNoModeration, and this client does not ask it again.
func (c *Client) Moderate(ctx context.Context, text string) (bool, []string, error) {
	if c.noModeration.Load() {
		return false, nil, c.noModerationError(0)
	}
	body, err := json.Marshal(moderationRequest{Input: text})
	if err != nil {
		return false, nil, &provider.Error{Message: c.cfg.Name + ": cannot encode the moderation request", Err: err}
	}
	tctx, cancel := context.WithTimeout(ctx, min(c.cfg.Timeout, moderationTimeout))
	defer cancel()
	for attempt := 0; ; attempt++ {
		res, wait, err := c.moderateOnce(tctx, body)
		if err == nil {
			return moderationVerdict(res)
		}
		if tctx.Err() != nil {
			return false, nil, c.moderationContextError(ctx, err)
		}
		var pe *provider.Error
		if !errors.As(err, &pe) || !pe.Retryable || attempt >= c.cfg.MaxRetries {
			return false, nil, err
		}
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		if dl, ok := tctx.Deadline(); ok && time.Until(dl) < wait {
			return false, nil, err
		}
		if err := c.sleep(tctx, wait); err != nil {
			return false, nil, c.moderationContextError(ctx, err)
		}
	}
}

// moderateOnce makes one moderation request; wait is the server's Retry-After.
func (c *Client) moderateOnce(ctx context.Context, body []byte) (*moderationResponse, time.Duration, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/moderations", bytes.NewReader(body))
	if err != nil {
		return nil, 0, c.urlError(err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	c.authorize(hreq)
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, 0, c.connError(ctx, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		c.noModeration.Store(true)
		return nil, 0, c.noModerationError(resp.StatusCode)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, retryAfter(resp.Header), c.statusError(resp)
	}
	var out moderationResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxLine)).Decode(&out); err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, &provider.Error{Message: c.cfg.Name + ": the moderation response is not valid JSON", Status: resp.StatusCode, Err: err}
	}
	if len(out.Results) == 0 {
		return nil, 0, &provider.Error{Message: c.cfg.Name + ": the moderation response has no result", Status: resp.StatusCode}
	}
	return &out, 0, nil
}

func moderationVerdict(res *moderationResponse) (bool, []string, error) {
	r := res.Results[0]
	var cats []string
	for name, on := range r.Categories {
		if on {
			cats = append(cats, name)
		}
	}
	slices.Sort(cats)
	return r.Flagged, cats, nil
}

// noModerationError says the endpoint has no moderations route (status 0:
// it said so before).
func (c *Client) noModerationError(status int) error {
	msg := c.cfg.Name + ": the endpoint offers no moderation (POST /moderations"
	if status != 0 {
		msg += fmt.Sprintf(" answered %d %s)", status, http.StatusText(status))
	} else {
		msg += " was not found before)"
	}
	return &provider.Error{Message: msg, Status: status, Err: provider.ErrNoModeration}
}

// moderationContextError explains a moderation call stopped by its context.
func (c *Client) moderationContextError(parent context.Context, err error) error {
	if errors.Is(parent.Err(), context.Canceled) {
		return &provider.Error{Message: c.cfg.Name + ": the moderation request was cancelled", Err: parent.Err()}
	}
	return &provider.Error{Message: c.cfg.Name + ": the moderation endpoint did not answer in time", Retryable: true,
		Err: errors.Join(context.DeadlineExceeded, err)}
}
