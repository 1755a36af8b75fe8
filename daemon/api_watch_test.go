package daemon

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// A watch sends the listed items, then the changes, each only if kept, and
// ends without error when the client goes away.
func TestServeWatch_ListThenChangesFiltered(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan int, 4)
	changes <- 10
	changes <- 11
	changes <- 12
	var sent []int
	done := make(chan error, 1)
	go func() {
		done <- serveWatch(ctx, []int{1, 2, 3, 4}, changes, func(x int) bool { return x%2 == 0 }, func(x int) error {
			sent = append(sent, x)
			if x == 12 {
				cancel()
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end when its context did")
	}
	if want := []int{2, 4, 10, 12}; !slices.Equal(sent, want) {
		t.Errorf("sent %v, want %v", sent, want)
	}
}

// A failed send ends the watch with that error, listing or watching.
func TestServeWatch_SendErrorEnds(t *testing.T) {
	boom := errors.New("client gone")
	for name, listed := range map[string][]int{"listing": {1}, "watching": nil} {
		changes := make(chan int, 1)
		changes <- 2
		err := serveWatch(context.Background(), listed, changes, func(int) bool { return true }, func(int) error { return boom })
		if !errors.Is(err, boom) {
			t.Errorf("%s: err = %v, want the send error", name, err)
		}
	}
}
