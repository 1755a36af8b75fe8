package verb

import (
	"bytes"
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

// forEachAtOnce is forEach with up to limit items in flight at once. Each
// item writes to Streams of its own, copied to s in the items' order as they
// finish, so that the output reads as forEach's would.
func forEachAtOnce[T any](ctx context.Context, s Streams, items []T, limit int, do func(T, Streams) error) error {
	type result struct {
		out, errOut bytes.Buffer
		err         error
		done        chan struct{}
	}
	results := make([]*result, len(items))
	for i := range results {
		results[i] = &result{done: make(chan struct{})}
	}
	go func() {
		slots := make(chan struct{}, max(limit, 1))
		for i, it := range items {
			r := results[i]
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				r.err = ctx.Err()
				close(r.done)
				continue
			}
			go func() {
				defer func() {
					<-slots
					close(r.done)
				}()
				r.err = do(it, Streams{In: s.In, Out: &r.out, ErrOut: &r.errOut})
			}()
		}
	}()
	failed := false
	for _, r := range results {
		<-r.done
		_, _ = io.Copy(s.Out, &r.out)
		_, _ = io.Copy(s.ErrOut, &r.errOut)
		if r.err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed = true
			fmt.Fprintln(s.ErrOut, podclient.FormatError(r.err))
		}
	}
	if failed {
		return errReported
	}
	return nil
}
