package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/models"
	"parley/models/store/storetest"
)

// stickyModel is an OpenAI-compatible endpoint that answers at once, except
// that while hang is set a message containing "hang" is held until the
// client goes (it says when one arrives).
type stickyModel struct {
	url     string
	hang    atomic.Bool
	arrived chan struct{}
	once    sync.Once
}

func newStickyModel(t *testing.T) *stickyModel {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &stickyModel{url: "http://" + ln.Addr().String() + "/v1", arrived: make(chan struct{})}
	m.hang.Store(true)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"data":[{"id":"m"}]}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var req struct {
			Messages []struct{ Role, Content string }
		}
		_ = json.Unmarshal(body, &req)
		last := ""
		for _, msg := range req.Messages {
			if msg.Role == "user" {
				last = msg.Content
			}
		}
		if m.hang.Load() && strings.Contains(last, "hang") {
			m.once.Do(func() { close(m.arrived) })
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, `data: {"choices":[{"delta":{"content":"Hello there."},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return m
}

// TestRunSurvivesAKill kills Parley (SIGKILL) while a test run is half done:
// after the restart the run resumes from its first unfinished case (the one
// that was answering), the cases finished before the kill keep their
// results, and the run passes, saying it was resumed once.
func TestRunSurvivesAKill(t *testing.T) {
	bin := buildBinary(t)
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			dbURL := storetest.URL(t, d)
			model := newStickyModel(t)
			st := openStore(t, dbURL)
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateProvider(ctx, models.Provider{Name: "sticky", Kind: models.ProviderKindOpenAI, BaseURL: model.url,
				DefaultModel: "m", TimeoutSeconds: 120}, ""); err != nil {
				t.Fatal(err)
			}
			_, secret, err := st.CreateSecret(ctx, "qa interrupt test", nil)
			if err != nil {
				t.Fatal(err)
			}
			env := []string{"PARLEY_SECRET_KEY=" + strings.Repeat("k", 40)}
			base, proc := startProcess(t, bin, dbURL, env...)

			bot := apiCall(t, base, secret, "/bot/create", `{"name":"Sticky","backstory":"Answer.","model":"sticky"}`)
			botID := bot["id"].(string)
			suite, err := st.CreateSuite(ctx, models.TestSuite{BotID: botID, Name: "Resume"})
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"first question", "please hang here", "third question"} {
				if _, err := st.CreateCase(ctx, models.TestCase{SuiteID: suite.ID, Name: q, Turns: []models.CaseTurn{{User: q,
					Expect: []models.Assertion{{Kind: models.AssertContains, Text: "Hello"}}}}}); err != nil {
					t.Fatal(err)
				}
			}
			run := apiCall(t, base, secret, "/test/suite/"+suite.ID+"/run", `{}`)
			runID := run["id"].(string)
			select {
			case <-model.arrived:
			case <-time.After(20 * time.Second):
				t.Fatal("the hanging case never reached the model")
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				r, err := st.FindRun(ctx, runID)
				if err != nil {
					t.Fatal(err)
				}
				if r.Done == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the other cases did not finish: %+v", r)
				}
				time.Sleep(20 * time.Millisecond)
			}
			before, _, err := st.FindResults(ctx, runID, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			// Mid-run: two cases done, one answering. Kill.
			if err := proc.Process.Signal(os.Kill); err != nil {
				t.Fatal(err)
			}
			_ = proc.Wait()
			if r, _ := st.FindRun(ctx, runID); r.Status != models.RunRunning {
				t.Fatalf("after the kill the run is %s, want it left running", r.Status)
			}

			model.hang.Store(false)
			startProcess(t, bin, dbURL, env...)
			var r *models.TestRun
			deadline = time.Now().Add(30 * time.Second)
			for {
				if r, err = st.FindRun(ctx, runID); err != nil {
					t.Fatal(err)
				}
				if models.RunFinished(r.Status) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the run did not finish after the restart: %+v", r)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if r.Status != models.RunPassed || r.Resumed != 1 || r.Passed != 3 || r.Done != 3 {
				t.Fatalf("run after the restart = %+v, want passed, resumed once", r)
			}
			after, _, _ := st.FindResults(ctx, runID, 0, 10)
			for i := range before {
				b, a := before[i], after[i]
				if b.Status == models.ResultPass && (a.ConversationID == nil || *a.ConversationID != *b.ConversationID) {
					t.Errorf("case %q finished before the kill but ran again", b.Name)
				}
				if b.Status == models.ResultPending && (a.Status != models.ResultPass || a.ConversationID == nil) {
					t.Errorf("case %q was not resumed: %+v", b.Name, a)
				}
			}
		})
	}
}
