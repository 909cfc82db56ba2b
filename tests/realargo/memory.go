package realargo

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ResidentMemory is process pid's resident memory in bytes (VmRSS).
func ResidentMemory(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// PeakRSS samples process Pid's resident memory every 100 ms, or every
// Every when set: a sampled peak, which a spike between two samples can
// exceed.
type PeakRSS struct {
	Pid   int
	Every time.Duration
	mu    sync.Mutex
	peak  int64
	taken int
	err   error
}

// Sample starts sampling; the function it returns stops it after one last
// sample.
func (p *PeakRSS) Sample() func() {
	stop, done := make(chan struct{}), make(chan struct{})
	take := func() {
		n, err := ResidentMemory(p.Pid)
		p.mu.Lock()
		defer p.mu.Unlock()
		if err != nil {
			p.err = err // the process may end between samples
			return
		}
		p.peak, p.taken = max(p.peak, n), p.taken+1
	}
	every := p.Every
	if every == 0 {
		every = 100 * time.Millisecond
	}
	go func() {
		defer close(done)
		for {
			take()
			select {
			case <-stop:
				take()
				return
			case <-time.After(every):
			}
		}
	}()
	return func() { close(stop); <-done }
}

// Max is the largest resident memory sampled, in bytes; an error when no
// sample could be read (a wrong pid must not read as 0 bytes).
func (p *PeakRSS) Max() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.taken == 0 {
		return 0, fmt.Errorf("realargo: no memory sample of process %d: %v", p.Pid, p.err)
	}
	return p.peak, nil
}
