package check

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// fakeExecer is a scriptable Execer: it returns its fields, or blocks until
// ctx is done when hang is set.
type fakeExecer struct {
	code     int
	out      []byte
	timedOut bool
	err      error
	hang     bool
	release  chan struct{} // with hang: closed by the test to let Exec's goroutine end
	// startDelay is how long the runtime takes to start the command (queued
	// behind other execs, a busy host); it is not part of the command's run.
	startDelay time.Duration

	gotContainer string
	gotCmd       []string
	gotTimeout   time.Duration
}

func (f *fakeExecer) Exec(ctx context.Context, container string, cmd []string, timeout time.Duration) (int, []byte, bool, error) {
	f.gotContainer, f.gotCmd, f.gotTimeout = container, cmd, timeout
	if f.startDelay > 0 {
		select {
		case <-time.After(f.startDelay):
		case <-ctx.Done():
			return 0, nil, false, ctx.Err()
		}
	}
	if f.hang {
		<-ctx.Done()
		// An Execer that ignores ctx keeps going; Exec must not wait for it.
		<-f.release
	}
	return f.code, f.out, f.timedOut, f.err
}

func TestExec_R48(t *testing.T) {
	big := []byte(strings.Repeat("x", MaxOutput+100))
	tests := []struct {
		name    string
		e       *fakeExecer
		want    Result
		wantOut string
		wantErr bool
	}{
		{"exit 0 is Success", &fakeExecer{code: 0, out: []byte("ok\n")}, Success, "ok\n", false},
		{"exit 1 is Failure", &fakeExecer{code: 1, out: []byte("bad")}, Failure, "bad", false},
		{"exit 137 is Failure", &fakeExecer{code: 137}, Failure, "", false},
		{"timeout is Failure", &fakeExecer{timedOut: true, code: 137}, Failure, `command ["cat" "/healthy"] timed out after 1s`, false},
		{"could not start is Unknown", &fakeExecer{err: errors.New("no such container")}, Unknown, "", true},
		{"output capped at 10 KiB", &fakeExecer{code: 1, out: big}, Failure, string(big[:MaxOutput]), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, out, err := Exec(context.Background(), tt.e, "web-0", []string{"cat", "/healthy"}, time.Second)
			if res != tt.want || out != tt.wantOut || (err != nil) != tt.wantErr {
				t.Fatalf("Exec = (%v, %q, %v), want (%v, %q, err %v)", res, out, err, tt.want, tt.wantOut, tt.wantErr)
			}
			if tt.e.gotContainer != "web-0" || tt.e.gotTimeout != time.Second || len(tt.e.gotCmd) != 2 {
				t.Fatalf("execer got (%q, %q, %s)", tt.e.gotContainer, tt.e.gotCmd, tt.e.gotTimeout)
			}
		})
	}
}

// The runtime kills the command when the timeout passes (R48) and reports
// it; RunExec's own deadline only bounds a runtime that never answers, so
// it costs at most the timeout plus the start allowance (R49).
func TestExec_R49_HangingExecerCostsAtMostTimeoutPlusStartAllowance(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	start := time.Now()
	o, err := runExec(context.Background(), &fakeExecer{hang: true, release: release}, "web-0", []string{"sleep", "100"}, 100*time.Millisecond, 200*time.Millisecond)
	if err != nil || !o.TimedOut {
		t.Fatalf("runExec = (%+v, %v), want TimedOut", o, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("runExec took %s, want about the 100ms timeout + 200ms allowance", d)
	}
}

// R48: the timeout is the command's, as containerd's ExecSync counts it from
// the process start; time spent starting it (a queue of execs, a busy host)
// is not the command hanging and must not fail a healthy container's probe.
func TestExec_R48_StartTimeIsNotTheCommandsTimeout(t *testing.T) {
	e := &fakeExecer{code: 0, out: []byte("ok"), startDelay: 300 * time.Millisecond}
	res, out, err := Exec(context.Background(), e, "web-0", []string{"true"}, 100*time.Millisecond)
	if res != Success || out != "ok" || err != nil {
		t.Fatalf("Exec = (%v, %q, %v), want Success: the command itself ran within its timeout", res, out, err)
	}
}

func TestStartAllowanceIsGenerous(t *testing.T) {
	// A busy host may take seconds to start an exec; only a runtime that
	// never answers should hit this.
	if ExecStartAllowance < 10*time.Second {
		t.Fatalf("ExecStartAllowance = %s, want at least 10s", ExecStartAllowance)
	}
}

func TestExec_CancelledIsUnknown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	res, _, err := Exec(ctx, &fakeExecer{hang: true, release: release}, "web-0", []string{"true"}, time.Second)
	if res != Unknown || !errors.Is(err, context.Canceled) {
		t.Fatalf("Exec = (%v, %v), want Unknown wrapping context.Canceled", res, err)
	}
}

func TestExec_EmptyCommandIsUnknown(t *testing.T) {
	if res, _, err := Exec(context.Background(), &fakeExecer{}, "web-0", nil, time.Second); res != Unknown || err == nil {
		t.Fatalf("Exec(no command) = (%v, %v), want Unknown with an error", res, err)
	}
}
