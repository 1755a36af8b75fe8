package sandbox

import (
	"context"
	"io"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// forwardStdin sends a client's input to the shim in the background: each
// read with data until a send fails, then, once the input ends (or fails),
// ended.
func forwardStdin(r io.Reader, data func([]byte) error, ended func()) {
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if data(append([]byte(nil), buf[:n]...)) != nil {
					return
				}
			}
			if err != nil {
				ended()
				return
			}
		}
	}()
}

// forwardResizes sends a client's terminal sizes to the shim in the
// background, until ctx ends, sizes closes or a send fails.
func forwardResizes(ctx context.Context, sizes <-chan TermSize, send func(*shimv1.Resize) error) {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case sz, ok := <-sizes:
				if !ok {
					return
				}
				if send(&shimv1.Resize{Width: uint32(sz.Width), Height: uint32(sz.Height)}) != nil {
					return
				}
			}
		}
	}()
}
