package server

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/podd-dev/podd/runtime/shim/server/internal/libct"
	"github.com/podd-dev/podd/test/testutil"
)

func TestStartLimitBoundsConcurrentStarts(t *testing.T) {
	l := newStartLimit(2)
	ctx := context.Background()
	if err := l.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := l.acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third acquire = %v, want it to wait until its context ends", err)
	}
	got := make(chan error, 1)
	go func() { got <- l.acquire(ctx) }()
	l.release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("acquire did not get the released slot")
	}
}

func TestMaxExecStartsIsPositive(t *testing.T) {
	if maxExecStarts < 1 {
		t.Fatalf("maxExecStarts = %d", maxExecStarts)
	}
}

func TestAnyZombie(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the child is a zombie", func() (bool, error) { return anyZombie(), nil })
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if anyZombie() {
		t.Fatal("anyZombie is true after the only child was reaped")
	}
}

func TestKilledByTimeout(t *testing.T) {
	tests := []struct {
		name  string
		fired bool
		ex    libct.Exit
		want  bool
	}{
		{"ended in time", false, libct.Exit{Code: 0}, false},
		{"timer fired after the command exited 0", true, libct.Exit{Code: 0}, false},
		{"timer fired after the command exited 1", true, libct.Exit{Code: 1}, false},
		{"the timer's SIGKILL ended it", true, libct.Exit{Code: 137, Signal: 9}, true},
		{"killed by someone else, no timeout", false, libct.Exit{Code: 137, Signal: 9}, false},
		{"timer fired, command died of SIGTERM first", true, libct.Exit{Code: 143, Signal: 15}, false},
	}
	for _, tt := range tests {
		if got := killedByTimeout(tt.fired, tt.ex); got != tt.want {
			t.Errorf("%s: killedByTimeout = %v, want %v", tt.name, got, tt.want)
		}
	}
}
