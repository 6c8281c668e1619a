package channel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"parley/app/channel/webhook"
	"parley/app/engine/ability"
	"parley/app/jobs"
	"parley/models"
)

// sender sends a delivery's parts to its platform.
type sender interface {
	// parts splits a delivery's text into the platform messages it takes.
	parts(d *models.OutboundDelivery) []string
	// send sends part (from 1) of d.
	send(ctx context.Context, it *models.Integration, d *models.OutboundDelivery, part int, text string) result
}

// result is one request to a platform.
type result struct {
	request  string
	status   int
	response string
	latency  time.Duration
	// err is nil when the part was sent.
	err       error
	retryable bool
	// retryAfter is the wait the platform asked for; pauseAll applies it to
	// every delivery of the integration (Telegram's flood control is per bot).
	retryAfter time.Duration
	pauseAll   bool
}

func (s *Service) senderFor(it *models.Integration) sender {
	if it.Type == models.IntegrationTelegram {
		return telegramSender{s}
	}
	return webhookSender{s}
}

// Deliver sends the replies of a delivery's thread that are due, oldest
// first (the delivery job): a reply waiting for its answer holds the ones
// after it, so replies never overtake each other. While the platform asked
// the integration to wait (Telegram's retry_after), the job waits too. It is
// idempotent: parts already sent are not sent again.
func (s *Service) Deliver(ctx context.Context, deliveryID string) error {
	d, err := s.st.FindDelivery(ctx, deliveryID)
	if models.ErrorCode(err) == models.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	it, err := s.st.FindIntegration(ctx, d.IntegrationID)
	if models.ErrorCode(err) == models.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if wait := s.paused(it); wait > 0 {
		return jobs.Later(wait)
	}
	unlock, err := s.st.Lock(ctx, deliveryLock(it.ID, d.ExternalKey))
	if err != nil {
		return err
	}
	defer unlock()
	snd := s.senderFor(it)
	const batch = 50
	for {
		open, err := s.st.OpenDeliveries(ctx, it.ID, d.ExternalKey, batch)
		if err != nil {
			return err
		}
		for i := range open {
			od := &open[i]
			if od.Status == models.DeliveryWaiting {
				return nil // its answer comes first; its job sends what follows
			}
			if od.NextAttemptAt != nil && od.NextAttemptAt.After(s.now()) {
				// Not due yet: this job comes back when it is, not trusting
				// the job that tried it to (it may be gone, discarded after
				// an outage outlasted its attempts).
				return jobs.Later(od.NextAttemptAt.Sub(s.now()))
			}
			if it, err = s.st.FindIntegration(ctx, it.ID); err != nil {
				return err
			}
			if wait := s.paused(it); wait > 0 {
				return jobs.Later(wait)
			}
			done, err := s.sendOne(ctx, it, snd, od)
			if err != nil {
				return err
			}
			if !done {
				// This job tries again when od is due; the rest waits for it.
				return jobs.Later(od.NextAttemptAt.Sub(s.now()))
			}
		}
		// Every delivery read was finished: the thread may hold more (their
		// jobs found an earlier one waiting and left them to this one).
		if len(open) < batch {
			return nil
		}
	}
}

// paused is how long the integration must still wait before sending.
func (s *Service) paused(it *models.Integration) time.Duration {
	if it.PausedUntil == nil {
		return 0
	}
	return it.PausedUntil.Sub(s.now())
}

// sendOne sends the parts of d not sent yet, recording each attempt; it
// reports whether d is finished (delivered or failed for good).
func (s *Service) sendOne(ctx context.Context, it *models.Integration, snd sender, d *models.OutboundDelivery) (bool, error) {
	parts := snd.parts(d)
	if len(parts) == 0 {
		parts = []string{"…"} // an empty answer still gets its message
	}
	for part := d.PartsSent + 1; part <= len(parts); part++ {
		started := s.now()
		r := snd.send(ctx, it, d, part, parts[part-1])
		a := models.DeliveryAttempt{Part: part, Request: r.request, StatusCode: r.status, Response: r.response,
			LatencyMs: r.latency.Milliseconds(), StartedAt: started, Outcome: models.AttemptSent}
		if r.err == nil {
			next, err := s.st.RecordAttempt(ctx, d.ID, len(parts), a)
			if err != nil {
				return false, err
			}
			*d = *next
			continue
		}
		a.Error = r.err.Error()
		retries := d.Attempts - d.PartsSent // attempts that sent nothing
		switch {
		case ctx.Err() != nil:
			return false, ctx.Err() // stopping: the job runs again, nothing recorded
		case !r.retryable:
			a.Outcome = models.AttemptFailed
		case retries+1 > s.lim.DeliveryRetries:
			a.Outcome, a.Error = models.AttemptFailed, fmt.Sprintf("%s (gave up after %d retries)", a.Error, s.lim.DeliveryRetries)
		default:
			wait := s.backoff(retries)
			if r.retryAfter > 0 {
				wait = r.retryAfter
			}
			at := s.now().Add(wait)
			a.Outcome, a.RetryAt = models.AttemptRetry, &at
			if r.pauseAll {
				if err := s.st.PauseIntegration(ctx, it.ID, at); err != nil {
					return false, err
				}
			}
		}
		s.log.Warn("channel delivery attempt failed", "integration_id", it.ID, "delivery_id", d.ID, "part", part,
			"status", r.status, "outcome", a.Outcome, "error", a.Error)
		next, err := s.st.RecordAttempt(ctx, d.ID, len(parts), a)
		if err != nil {
			return false, err
		}
		*d = *next
		return a.Outcome == models.AttemptFailed, nil
	}
	return true, nil
}

// backoff is the wait before retry n+1: RetryBase doubled n times, at most RetryMax.
func (s *Service) backoff(n int) time.Duration {
	d := s.lim.RetryBase
	for i := 0; i < n && d < s.lim.RetryMax; i++ {
		d *= 2
	}
	return min(d, s.lim.RetryMax)
}

// webhookSender posts replies to the integration's callback URL, signed,
// through the SSRF guard.
type webhookSender struct{ s *Service }

func (w webhookSender) parts(d *models.OutboundDelivery) []string { return []string{d.Text} }

func (w webhookSender) send(ctx context.Context, it *models.Integration, d *models.OutboundDelivery, _ int, text string) result {
	url := it.Webhook.CallbackURL
	r := result{request: "POST " + url}
	if url == "" {
		r.err = errors.New("the integration has no callback URL, and no request waited for the reply (?wait=1)")
		return r
	}
	ev, err := w.s.st.FindEvent(ctx, d.EventID)
	if err != nil {
		r.err, r.retryable = err, models.ErrorCode(err) != models.CodeNotFound
		return r
	}
	body, _ := json.Marshal(webhook.Reply{EventID: ev.ExternalID, ConversationID: ev.ExternalKey, Kind: d.Kind, Text: text,
		DeliveryID: d.ID, ParleyConversationID: models.Deref(d.ConversationID), MessageID: models.Deref(d.MessageID)})
	r.request += ", " + strconv.Itoa(len(body)) + " bytes of JSON"
	sec, err := w.s.st.IntegrationSecrets(ctx, it.ID)
	if err != nil {
		r.err, r.retryable = err, true
		return r
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		r.err = err
		return r
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "parley")
	req.Header.Set(webhook.SignatureHeader, webhook.Sign(sec.SigningSecret, w.s.now(), body))
	start := time.Now()
	resp, err := w.s.callbacks.Do(req)
	r.latency = time.Since(start)
	if err != nil {
		r.err = err
		r.retryable = !errors.Is(err, ability.ErrBlocked)
		return r
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, models.MaxResponseExcerpt+1))
	r.status, r.response = resp.StatusCode, strings.ToValidUTF8(string(raw), "\uFFFD")
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return r
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		r.retryable = true
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
			r.retryAfter = time.Duration(s) * time.Second
			r.pauseAll = resp.StatusCode == http.StatusTooManyRequests
		}
	}
	r.err = fmt.Errorf("the callback answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	return r
}
