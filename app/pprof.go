//go:build pprof

package main

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // the profiler's handlers, on their own listener
	"os"
)

// Built with -tags pprof (for benchmarks, never in a release), Parley serves
// the Go profiler on PARLEY_PPROF_ADDR (default 127.0.0.1:6060).
func init() {
	addr := os.Getenv("PARLEY_PPROF_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6060"
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof", "error", err)
		}
	}()
}
