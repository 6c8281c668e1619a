package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// selfCPU is the CPU time (user and system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter adds up the CPU time (user and system) that the processes whose
// command line contains one of the marks use while it runs, by sampling
// /proc every 100 ms: a process that ends between two samples loses at most
// its last 100 ms. Linux only; elsewhere it reports zero.
type cpuMeter struct {
	marks []string
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	first map[int]time.Duration
	last  map[int]time.Duration
}

func meterCPU(marks ...string) *cpuMeter {
	m := &cpuMeter{marks: marks, stop: make(chan struct{}), done: make(chan struct{}),
		first: map[int]time.Duration{}, last: map[int]time.Duration{}}
	m.sample(true)
	go func() {
		defer close(m.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				m.sample(false)
				return
			case <-t.C:
				m.sample(false)
			}
		}
	}()
	return m
}

// Stop ends the metering and returns the CPU time used meanwhile.
func (m *cpuMeter) Stop() time.Duration {
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	var total time.Duration
	for pid, last := range m.last {
		total += last - m.first[pid]
	}
	return total
}

func (m *cpuMeter) sample(initial bool) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, dir := range dirs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(dir + "/cmdline")
		if err != nil || !m.matches(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '}))) {
			continue
		}
		used, ok := procCPU(dir)
		if !ok {
			continue
		}
		if _, seen := m.first[pid]; !seen {
			if initial {
				m.first[pid] = used
			} else {
				m.first[pid] = 0 // started meanwhile: all its time counts
			}
		}
		m.last[pid] = used
	}
}

func (m *cpuMeter) matches(cmd string) bool {
	for _, mark := range m.marks {
		if strings.Contains(cmd, mark) {
			return true
		}
	}
	return false
}

// procCPU reads a process's user and system time from /proc/PID/stat.
func procCPU(dir string) (time.Duration, bool) {
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, false
	}
	// The command sits in parentheses and may hold spaces: fields start after ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks, true
}
