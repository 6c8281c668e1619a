package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app/config"
	"parley/models/store"
	"parley/models/store/storetest"
)

// shortTimeouts make the timeout tests quick: a request must arrive within
// 300 ms of its first byte; a connection may idle 1.5 s.
var shortTimeouts = config.Timeouts{Read: 300 * time.Millisecond, Idle: 1500 * time.Millisecond,
	Turn: time.Minute, Stream: time.Second, Write: 2 * time.Minute}

// listening starts the server on a real loopback listener and returns its address.
func listening(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.App().Shutdown() })
	return ln.Addr().String()
}

// rawResponse reads one HTTP response from a raw connection.
func rawResponse(t *testing.T, conn net.Conn, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func TestConnectionTimeouts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		logs := &syncBuffer{}
		srv := newServer(t, st, func(su *serverSetup) {
			su.Logger = slog.New(slog.NewTextHandler(logs, nil))
			su.Config.Timeouts = shortTimeouts
		})
		addr := listening(t, srv)
		dial := func(t *testing.T) (net.Conn, *bufio.Reader) {
			t.Helper()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			return conn, bufio.NewReader(conn)
		}

		// A browser opens sockets ahead of time and may use one long after;
		// idling past the read timeout must not fail its first request.
		t.Run("PreOpenedConnectionIdlesPastReadTimeout", func(t *testing.T) {
			conn, br := dial(t)
			time.Sleep(3 * shortTimeouts.Read)
			if _, err := io.WriteString(conn, "GET /bots HTTP/1.1\r\nHost: parley.test\r\nAccept: text/html\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			res, body := rawResponse(t, conn, br)
			// Not signed in: sent to sign in (setup here, no admin yet), not a 4xx.
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("status = %d, want 303; body: %s", res.StatusCode, body)
			}
			// The same connection serves a second request after idling again.
			time.Sleep(3 * shortTimeouts.Read)
			if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: parley.test\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			if res, body := rawResponse(t, conn, br); res.StatusCode != http.StatusOK {
				t.Fatalf("second request: status = %d; body: %s", res.StatusCode, body)
			}
		})

		t.Run("IdlePastIdleTimeoutClosesQuietly", func(t *testing.T) {
			conn, br := dial(t)
			time.Sleep(shortTimeouts.Idle + 500*time.Millisecond)
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := br.ReadByte()
			if err == nil {
				rest, _ := br.Peek(br.Buffered())
				t.Fatalf("the server wrote %q to a connection that never sent a request", string(b)+string(rest))
			}
			if !errors.Is(err, io.EOF) {
				t.Fatalf("read: %v, want EOF (closed by the server)", err)
			}
		})

		// A request that starts but does not finish in time is 408, logged.
		t.Run("SlowRequestIs408", func(t *testing.T) {
			conn, br := dial(t)
			if _, err := io.WriteString(conn, "GET /bots HTTP/1.1\r\nHost: parley.test\r\n"); err != nil {
				t.Fatal(err)
			}
			res, body := rawResponse(t, conn, br)
			if res.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("status = %d, want 408; body: %s", res.StatusCode, body)
			}
			if res.Header.Get("X-Request-Id") == "" {
				t.Error("no request id on the response")
			}
			waitFor(t, "the 408 in the request log", func() bool { return strings.Contains(logs.String(), "status=408") })
		})

		t.Run("SlowAPIRequestIs408JSON", func(t *testing.T) {
			conn, br := dial(t)
			if _, err := io.WriteString(conn, "POST /api/v1/bot/create HTTP/1.1\r\nHost: parley.test\r\nContent-Length: 100\r\n\r\n{\"na"); err != nil {
				t.Fatal(err)
			}
			res, body := rawResponse(t, conn, br)
			wantAPIError(t, res, body, http.StatusRequestTimeout, "REQUEST_TIMEOUT")
		})

		t.Run("HeaderTooLarge", func(t *testing.T) {
			big := "X-Big: " + strings.Repeat("a", 40<<10) + "\r\n"
			conn, br := dial(t)
			if _, err := io.WriteString(conn, "GET /api/v1/bot/list HTTP/1.1\r\nHost: parley.test\r\n"+big+"\r\n"); err != nil {
				t.Fatal(err)
			}
			res, body := rawResponse(t, conn, br)
			wantAPIError(t, res, body, http.StatusRequestHeaderFieldsTooLarge, "REQUEST_HEADER_FIELDS_TOO_LARGE")

			conn, br = dial(t)
			if _, err := io.WriteString(conn, "GET /bots?q="+strings.Repeat("b", 40<<10)+" HTTP/1.1\r\nHost: parley.test\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			res, body = rawResponse(t, conn, br)
			if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("dashboard: status = %d, want 431; body: %s", res.StatusCode, body)
			}
			waitFor(t, "the 431 in the request log", func() bool { return strings.Contains(logs.String(), "status=431") })
		})

		t.Run("MalformedRequestIs400", func(t *testing.T) {
			conn, br := dial(t)
			if _, err := io.WriteString(conn, "GET /api/v1/bot/list HTTP/1.1\r\nHost: parley.test\r\nContent-Length: nope\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			res, body := rawResponse(t, conn, br)
			wantAPIError(t, res, body, http.StatusBadRequest, "BAD_REQUEST")
		})
	})
}

// wantAPIError checks an API error response: status, JSON {message, code}.
func wantAPIError(t *testing.T, res *http.Response, body string, status int, code string) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("status = %d, want %d; body: %s", res.StatusCode, status, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q, want JSON; body: %s", ct, body)
	}
	var e struct{ Message, Code string }
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, body)
	}
	if e.Code != code || e.Message == "" {
		t.Errorf("error = %+v, want code %s and a message", e, code)
	}
}

// syncBuffer is a log sink safe for the server's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAPIErrorsAreJSON: whatever goes wrong under /api/v1 answers {message, code}.
func TestAPIErrorsAreJSON(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		cl := a.api()
		for _, tc := range []struct {
			name, method, path, ctype, body string
			status                          int
			code                            string
		}{
			{"Multipart", "POST", "/bot/create", "multipart/form-data; boundary=XYZ", "--XYZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nBot\r\n--XYZ--\r\n", 415, "UNSUPPORTED_MEDIA_TYPE"},
			{"BrokenMultipart", "POST", "/bot/create", "multipart/form-data; boundary=XYZ", `{"name":"Bot"}`, 415, "UNSUPPORTED_MEDIA_TYPE"},
			{"XML", "POST", "/bot/create", "application/xml", `<bot/>`, 415, "UNSUPPORTED_MEDIA_TYPE"},
			{"UnknownRoute", "GET", "/nothing/here", "", "", 404, "NOT_FOUND"},
			{"CurlForm", "POST", "/bot/create", "application/x-www-form-urlencoded", `{"name":"From curl -d"}`, 200, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := cl.do(tc.method, tc.path, tc.body, "Content-Type", tc.ctype)
				if r.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Raw)
				}
				if tc.code != "" && r.str("code") != tc.code {
					t.Errorf("code %q, want %q: %s", r.str("code"), tc.code, r.Raw)
				}
			})
		}
	})
}

// TestShutdownUnusedConnection: a connection opened ahead of time that has
// not sent a byte (a browser's pre-opened socket, a client pool's spare
// one) does not hold shutdown until its deadline — the server closes it
// shortly after shutdown begins — while a connection whose request begins
// in that moment is still answered.
func TestShutdownUnusedConnection(t *testing.T) {
	st := storetest.Open(t, "sqlite")
	srv := newServer(t, st, func(su *serverSetup) {
		su.Config.Timeouts = shortTimeouts
		su.Config.Timeouts.Idle = time.Minute // longer than the shutdown below may take
	})
	addr := listening(t, srv)
	dial := func() (net.Conn, *bufio.Reader) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn, bufio.NewReader(conn)
	}
	unused, unusedBr := dial()
	late, lateBr := dial()
	// Both connections are accepted and waiting for a request.
	if res, _ := http.Get("http://" + addr + "/healthz"); res != nil {
		res.Body.Close()
	}

	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() { done <- srv.Shutdown(ctx) }()

	time.Sleep(50 * time.Millisecond)
	if _, err := io.WriteString(late, "GET /healthz HTTP/1.1\r\nHost: parley.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if res, body := rawResponse(t, late, lateBr); res.StatusCode != http.StatusOK {
		t.Errorf("a request begun as shutdown started: status %d; body: %s", res.StatusCode, body)
	}
	_ = unused.SetReadDeadline(time.Now().Add(4 * time.Second))
	if b, err := unusedBr.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("the unused connection: read %q, %v; want EOF (closed by the server)", b, err)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v (it waited for the unused connection)", err)
	}
}
