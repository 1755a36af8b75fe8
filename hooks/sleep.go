package hooks

import (
	"context"
	"fmt"
	"time"
)

// sleepHandler waits its duration, then succeeds; the deadline or ctx cut it
// short (R53).
type sleepHandler struct{ d time.Duration }

func (h sleepHandler) String() string { return fmt.Sprintf("sleep %s", h.d) }

func (h sleepHandler) run(ctx context.Context, _ Target, _ time.Duration) (string, error) {
	if h.d <= 0 {
		return "", nil
	}
	t := time.NewTimer(h.d)
	defer t.Stop()
	select {
	case <-t.C:
		return "", nil
	case <-ctx.Done():
		return "", fmt.Errorf("cut short before %s passed: %w", h.d, ctx.Err())
	}
}
