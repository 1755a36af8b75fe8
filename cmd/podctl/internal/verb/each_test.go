package verb

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// A failed item is reported and the others still run; the verb then
// fails with errReported.
func TestForEach_ReportsAndGoesOn(t *testing.T) {
	var errOut bytes.Buffer
	var ran []string
	err := forEach(context.Background(), &errOut, []string{"a", "b", "c"}, func(s string) error {
		ran = append(ran, s)
		if s == "b" {
			return errors.New("b is busy")
		}
		return nil
	})
	if !errors.Is(err, errReported) {
		t.Fatalf("err = %v, want errReported", err)
	}
	if !slices.Equal(ran, []string{"a", "b", "c"}) {
		t.Errorf("ran %v", ran)
	}
	if !strings.Contains(errOut.String(), "b is busy") {
		t.Errorf("errOut = %q", errOut.String())
	}
	if err := forEach(context.Background(), &errOut, []int{1, 2}, func(int) error { return nil }); err != nil {
		t.Errorf("all ok: err = %v", err)
	}
}

// A cancelled context stops at the first failure with its own error.
func TestForEach_CancelStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ran int
	err := forEach(ctx, &bytes.Buffer{}, []int{1, 2, 3}, func(int) error {
		ran++
		cancel()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) || ran != 1 {
		t.Errorf("err = %v after %d items, want context.Canceled after 1", err, ran)
	}
}
