package verb

import (
	"context"
	"fmt"
	"io"

	"github.com/podd-dev/podd/cmd/podctl/internal/podclient"
)

// forEach runs do for each item as kubectl runs a verb over several
// objects: a failure is reported on errOut and the other items still run;
// a cancelled ctx stops it at once with the context's error. It returns
// errReported when an item failed.
func forEach[T any](ctx context.Context, errOut io.Writer, items []T, do func(T) error) error {
	failed := false
	for _, it := range items {
		if err := do(it); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed = true
			fmt.Fprintln(errOut, podclient.FormatError(err))
		}
	}
	if failed {
		return errReported
	}
	return nil
}
