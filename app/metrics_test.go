package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"parley/models/store/storetest"
)

// freePort returns a loopback address nothing listens on (yet).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestMetrics scrapes the real binary's metrics listener after a turn: the
// token is required, and requests by route, turns by outcome, provider
// latency and time to first token, live streams and the database pools are
// there — on their own port, not the public one.
func TestMetrics(t *testing.T) {
	bin := buildBinary(t)
	d := storetest.Dialects(t)[0]
	dbURL := storetest.URL(t, d)
	st := openStore(t, dbURL)
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, secret, err := st.CreateSecret(context.Background(), "metrics test", nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	const token = "a-metrics-token-of-some-length"
	base, _ := startProcess(t, bin, dbURL, "PARLEY_METRICS_ADDR="+addr, "PARLEY_METRICS_TOKEN="+token)
	conv := apiCall(t, base, secret, "/conversation/create", `{"model":"local"}`)
	apiCall(t, base, secret, "/conversation/"+conv["id"].(string)+"/complete", `{"text":"Hello there"}`)

	get := func(url, auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := get("http://"+addr+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("metrics without the token: %d, want 401", code)
	}
	if code, _ := get("http://"+addr+"/metrics", "Bearer wrong-token-wrong-token"); code != http.StatusUnauthorized {
		t.Errorf("metrics with a wrong token: %d, want 401", code)
	}
	if code, _ := get(base+"/metrics", "Bearer "+token); code != http.StatusNotFound && code != http.StatusSeeOther {
		t.Errorf("/metrics on the public port: %d, want it not served there", code)
	}
	code, body := get("http://"+addr+"/metrics", "Bearer "+token)
	if code != http.StatusOK {
		t.Fatalf("metrics: %d %s", code, body)
	}
	for _, want := range []string{
		`parley_http_request_duration_seconds_count{method="POST",route="/api/v1/conversation/:conversationId/complete",status="200"} 1`,
		`parley_turns_total{outcome="done"} 1`,
		`parley_provider_latency_seconds_count{model="local",provider="local"} 1`,
		`parley_provider_time_to_first_token_seconds_count{model="local",provider="local"} 1`,
		`parley_tokens_total{direction="output",model="local",provider="local"}`,
		`parley_live_streams 0`,
		`parley_job_oldest_wait_seconds{kind="channel_event"} 0`,
		`go_sql_open_connections{db_name="main"}`,
		`parley_build_info{version=`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
