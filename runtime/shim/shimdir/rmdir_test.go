package shimdir

import (
	"errors"
	"syscall"
	"testing"
	"time"
)

func TestRetryBusy(t *testing.T) {
	waits := []time.Duration{1, 2, 3}
	tests := []struct {
		name      string
		results   []error
		wantErr   error
		wantSlept []time.Duration
	}{
		{"removed at once", []error{nil}, nil, nil},
		{"already gone", []error{syscall.ENOENT}, nil, nil},
		{"busy, then empty", []error{syscall.EBUSY, syscall.EBUSY, nil}, nil, []time.Duration{1, 2}},
		{"busy, then gone", []error{syscall.EBUSY, syscall.ENOENT}, nil, []time.Duration{1}},
		{"interrupted, then removed", []error{syscall.EINTR, nil}, nil, []time.Duration{1}},
		{"busy past the bound", []error{syscall.EBUSY, syscall.EBUSY, syscall.EBUSY, syscall.EBUSY}, syscall.EBUSY, []time.Duration{1, 2, 3}},
		{"not busy: no retry", []error{syscall.EACCES}, syscall.EACCES, nil},
		{"not empty: no retry", []error{syscall.ENOTEMPTY}, syscall.ENOTEMPTY, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			rm := func() error {
				if calls >= len(tt.results) {
					t.Fatalf("rm called %d times, results for %d", calls+1, len(tt.results))
				}
				calls++
				return tt.results[calls-1]
			}
			var slept []time.Duration
			err := retryBusy(rm, waits, func(d time.Duration) { slept = append(slept, d) })
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if calls != len(tt.results) {
				t.Errorf("rm called %d times, want %d", calls, len(tt.results))
			}
			if len(slept) != len(tt.wantSlept) {
				t.Fatalf("slept %v, want %v", slept, tt.wantSlept)
			}
			for i := range slept {
				if slept[i] != tt.wantSlept[i] {
					t.Errorf("slept %v, want %v", slept, tt.wantSlept)
				}
			}
		})
	}
}

// The waits grow and stay bounded near one second in all.
func TestRmdirWaitsBounded(t *testing.T) {
	var total time.Duration
	for i, w := range rmdirWaits {
		if i > 0 && w < rmdirWaits[i-1] {
			t.Errorf("wait %d (%s) shorter than the one before", i, w)
		}
		total += w
	}
	if total < 500*time.Millisecond || total > 1500*time.Millisecond {
		t.Errorf("total wait %s, want about 1 s", total)
	}
}
