package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
)

// startFake serves an OpenAI-compatible chat completions endpoint that
// streams a short answer at once: the provider's own time is as near zero as
// loopback allows, so what a turn adds shows.
func startFake() *httptest.Server {
	words := strings.Fields("To reset your password, open Settings, choose Security and follow the link we email you.")
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		f, _ := w.(http.Flusher)
		for i, word := range words {
			if i > 0 {
				word = " " + word
			}
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"fast\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", word)
			if i == 0 && f != nil {
				f.Flush()
			}
		}
		fmt.Fprint(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"fast\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":16,\"total_tokens\":66}}\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
}
