package server

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

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
