// Package metrics keeps Parley's Prometheus metrics: HTTP requests by route
// and status, turns by outcome, provider latency and time to first token,
// retrieval latency, live event streams, the job queue and the database
// pools. The app serves them on their own listener (PARLEY_METRICS_ADDR),
// never on the public port.
package metrics

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"parley/models"
	"parley/models/store"
)

// Metrics are the collectors the server, the engine and the queue report to.
// A nil *Metrics records nothing, so every method may be called on one.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.HistogramVec
	turns        *prometheus.CounterVec
	turnSeconds  *prometheus.HistogramVec
	provider     *prometheus.HistogramVec
	ttft         *prometheus.HistogramVec
	retrieval    *prometheus.HistogramVec
	toolCalls    *prometheus.CounterVec
	tokens       *prometheus.CounterVec
	interrupted  prometheus.Counter
	buildVersion *prometheus.GaugeVec
}

// New registers Parley's collectors and the Go runtime and process ones.
func New(version string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "parley_http_request_duration_seconds",
			Help:    "HTTP requests by route (the route's pattern), method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"route", "method", "status"}),
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_turns_total",
			Help: "Finished turns by outcome: done, failed, interrupted, moderated."}, []string{"outcome"}),
		turnSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "parley_turn_duration_seconds",
			Help:    "How long turns took from start to stored answer, by outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}}, []string{"outcome"}),
		provider: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "parley_provider_latency_seconds",
			Help:    "Model latency per turn (all of a turn's model calls), by provider and model.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}}, []string{"provider", "model"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "parley_provider_time_to_first_token_seconds",
			Help:    "Time from the start of a turn to its first streamed token, by provider and model.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"provider", "model"}),
		retrieval: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "parley_retrieval_duration_seconds",
			Help:    "Dataset retrieval per turn, by kind (keyword).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"kind"}),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_ability_calls_total",
			Help: "Ability runs by result: ok or error."}, []string{"result"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_tokens_total",
			Help: "Tokens used by turns, by provider, model and direction (input, output)."}, []string{"provider", "model", "direction"}),
		interrupted: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_turns_recovered_total",
			Help: "Turns closed as interrupted because the process running them stopped."}),
		buildVersion: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "parley_build_info",
			Help: "Always 1, with the running version."}, []string{"version"}),
	}
	reg.MustRegister(m.requests, m.turns, m.turnSeconds, m.provider, m.ttft, m.retrieval, m.toolCalls, m.tokens,
		m.interrupted, m.buildVersion,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.buildVersion.WithLabelValues(version).Set(1)
	return m
}

// Handler serves the metrics in Prometheus's text format; with a token,
// only to requests that carry it as a Bearer value.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley metrics"`)
			http.Error(w, "metrics need 'Authorization: Bearer <PARLEY_METRICS_TOKEN>'", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Request records one HTTP request; route is the matched pattern (never the
// raw path, whose ids would make a series per conversation).
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "(unrouted)"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// Turn records a finished turn.
func (m *Metrics) Turn(t *models.Turn) {
	if m == nil || t == nil {
		return
	}
	outcome := t.Status
	if t.Moderated {
		outcome = "moderated"
	}
	m.turns.WithLabelValues(outcome).Inc()
	if t.StartedAt != nil && t.FinishedAt != nil {
		m.turnSeconds.WithLabelValues(outcome).Observe(t.FinishedAt.Sub(*t.StartedAt).Seconds())
	}
	if t.Provider == "" {
		return
	}
	if t.Status == models.TurnDone {
		m.provider.WithLabelValues(t.Provider, t.Model).Observe(float64(t.LatencyMs) / 1000)
	}
	if t.TTFTMs != nil {
		m.ttft.WithLabelValues(t.Provider, t.Model).Observe(float64(*t.TTFTMs) / 1000)
	}
	m.tokens.WithLabelValues(t.Provider, t.Model, "input").Add(float64(t.InputTokens))
	m.tokens.WithLabelValues(t.Provider, t.Model, "output").Add(float64(t.OutputTokens))
	for _, c := range t.Calls {
		if c.Error != "" {
			m.toolCalls.WithLabelValues("error").Inc()
		} else {
			m.toolCalls.WithLabelValues("ok").Inc()
		}
	}
}

// Retrieval records how long a turn's retrieval took.
func (m *Metrics) Retrieval(kind string, d time.Duration) {
	if m == nil {
		return
	}
	m.retrieval.WithLabelValues(kind).Observe(d.Seconds())
}

// Recovered counts turns closed as interrupted after a stop.
func (m *Metrics) Recovered(n int) {
	if m == nil {
		return
	}
	m.interrupted.Add(float64(n))
}

// Gauge registers a value read when metrics are scraped (live streams, queue
// depth and age, …).
func (m *Metrics) Gauge(name, help string, read func() float64) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read))
}

// DBStats registers a database pool's statistics under db_name.
func (m *Metrics) DBStats(db *sql.DB, name string) {
	if m == nil || db == nil {
		return
	}
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// Queue registers the job queue's depth (unfinished jobs by kind and state)
// and the wait of its oldest due job by kind, read from the database when
// metrics are scraped (at most two seconds; a failed read reports nothing
// rather than stale figures).
func (m *Metrics) Queue(read func(ctx context.Context) ([]store.QueueStat, error)) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&queueCollector{read: read,
		depth: prometheus.NewDesc("parley_jobs", "Unfinished jobs in the queue by kind and state.", []string{"kind", "state"}, nil),
		wait:  prometheus.NewDesc("parley_job_oldest_wait_seconds", "How long the oldest due job of a kind has waited to be taken.", []string{"kind"}, nil)})
}

type queueCollector struct {
	read        func(ctx context.Context) ([]store.QueueStat, error)
	depth, wait *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.depth; ch <- c.wait }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stats, err := c.read(ctx)
	if err != nil {
		return
	}
	wait := map[string]time.Duration{}
	for _, s := range stats {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(s.Jobs), s.Kind, s.State)
		wait[s.Kind] = max(wait[s.Kind], s.OldestWait)
	}
	for _, kind := range []string{store.JobEvent, store.JobDelivery} {
		if _, ok := wait[kind]; !ok {
			wait[kind] = 0
		}
	}
	for kind, d := range wait {
		ch <- prometheus.MustNewConstMetric(c.wait, prometheus.GaugeValue, d.Seconds(), kind)
	}
}
