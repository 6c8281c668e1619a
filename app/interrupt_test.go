package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/models"
	"parley/models/store/storetest"
)

// hangingModel is an OpenAI-compatible endpoint that never answers a chat
// completion: it says when one arrives and holds it until the client goes.
type hangingModel struct {
	url     string
	arrived chan struct{}
	once    sync.Once
}

func newHangingModel(t *testing.T) *hangingModel {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hangingModel{url: "http://" + ln.Addr().String() + "/v1", arrived: make(chan struct{})}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/chat/completions") {
			h.once.Do(func() { close(h.arrived) })
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data":[{"id":"m"}]}`)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return h
}

// TestInterruptedTurnLeavesATrace kills Parley (SIGKILL) while the bot is
// answering: after the restart the conversation's timeline says the answer
// was interrupted (the API lists the activity entry, the turn is closed as
// interrupted), and the next turn works.
func TestInterruptedTurnLeavesATrace(t *testing.T) {
	bin := buildBinary(t)
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			dbURL := storetest.URL(t, d)
			model := newHangingModel(t)
			st := openStore(t, dbURL)
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateProvider(ctx, models.Provider{Name: "slow", Kind: models.ProviderKindOpenAI, BaseURL: model.url,
				DefaultModel: "m", TimeoutSeconds: 120}, ""); err != nil {
				t.Fatal(err)
			}
			_, secret, err := st.CreateSecret(ctx, "interrupt test", nil)
			if err != nil {
				t.Fatal(err)
			}
			env := []string{"PARLEY_SECRET_KEY=" + strings.Repeat("k", 40)}
			base, proc := startProcess(t, bin, dbURL, env...)

			bot := apiCall(t, base, secret, "/bot/create", `{"name":"Slow","backstory":"Be slow.","model":"slow"}`)
			conv := apiCall(t, base, secret, "/conversation/create", fmt.Sprintf(`{"botId":%q}`, bot["id"]))
			convID := conv["id"].(string)
			go func() {
				req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/conversation/"+convID+"/complete", strings.NewReader(`{"text":"Are you there?"}`))
				req.Header.Set("Authorization", "Bearer "+secret)
				if res, err := http.DefaultClient.Do(req); err == nil {
					res.Body.Close()
				}
			}()
			select {
			case <-model.arrived:
			case <-time.After(20 * time.Second):
				t.Fatal("the model was never called")
			}
			// Mid-turn: the user's message is stored, the bot is answering. Kill.
			if err := proc.Process.Signal(os.Kill); err != nil {
				t.Fatal(err)
			}
			_ = proc.Wait()

			base, _ = startProcess(t, bin, dbURL, env...)
			var msgs []any
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				msgs = apiCall(t, base, secret, "/conversation/"+convID+"/message/list?order=asc", "")["items"].([]any)
				if len(msgs) >= 2 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if len(msgs) != 2 {
				t.Fatalf("after the restart the timeline has %d messages, want the question and an interrupted entry: %v", len(msgs), msgs)
			}
			user, act := msgs[0].(map[string]any), msgs[1].(map[string]any)
			if user["type"] != "user" || user["text"] != "Are you there?" || act["type"] != "activity" ||
				!strings.Contains(act["text"].(string), "interrupted") {
				t.Errorf("timeline = %v", msgs)
			}
			turns, err := st.UnfinishedTurns(ctx, convID, 10)
			if err != nil || len(turns) != 0 {
				t.Errorf("unfinished turns after the restart: %v (%v)", turns, err)
			}

			// The conversation goes on.
			apiCall(t, base, secret, "/bot/"+bot["id"].(string)+"/update", `{"model":"local"}`)
			res := apiCall(t, base, secret, "/conversation/"+convID+"/complete", `{"text":"Hello again"}`)
			if res["id"] == nil || res["end"].(map[string]any)["reason"] != "stop" {
				t.Errorf("the next turn: %v", res)
			}
		})
	}
}
