package daemon

import "context"

// serveWatch is the one shape of the watch RPCs: the caller subscribes to
// changes before it lists (so nothing that happens in between is lost),
// then serveWatch sends each listed item and each change that keep
// accepts, until the client goes away or a send fails.
func serveWatch[T any](ctx context.Context, listed []T, changes <-chan T, keep func(T) bool, send func(T) error) error {
	for _, x := range listed {
		if !keep(x) {
			continue
		}
		if err := send(x); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case x := <-changes:
			if !keep(x) {
				continue
			}
			if err := send(x); err != nil {
				return err
			}
		}
	}
}
