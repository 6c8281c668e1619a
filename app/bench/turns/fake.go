package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// fakeProvider serves an OpenAI-compatible chat completions endpoint that
// streams a short answer at once: the provider's own time is as near zero as
// loopback allows, so what a turn adds shows. It keeps the last request body
// it was sent, so the same request can be timed against it directly.
type fakeProvider struct {
	*httptest.Server
	mu   sync.Mutex
	last []byte
}

// lastBody returns the body of the last chat completion request.
func (f *fakeProvider) lastBody() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func startFake() *fakeProvider {
	words := strings.Fields("To reset your password, open Settings, choose Security and follow the link we email you.")
	f := &fakeProvider{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		_, _ = io.Copy(&body, r.Body)
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		f.last = body.Bytes()
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fl, _ := w.(http.Flusher)
		for i, word := range words {
			if i > 0 {
				word = " " + word
			}
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"fast\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", word)
			if i == 0 && fl != nil {
				fl.Flush()
			}
		}
		fmt.Fprint(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"fast\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":16,\"total_tokens\":66}}\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	return f
}
