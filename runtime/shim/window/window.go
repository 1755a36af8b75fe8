// Package window is the flow control of the shim API's Exec and Attach
// streams over ttrpc. ttrpc has none of its own: each side queues up to 64
// messages of a stream it has not read yet, and closes the stream when one
// more waits there a second. gRPC's flow control held a process back when
// its reader fell behind; over ttrpc the window does.
//
// The protocol (proto/shim/v1/service.proto): each side may have at most
// Size of its counted messages not yet read by the other side (the shim's
// stdout and stderr; the daemon's stdin, resize and close_stdin). The side
// that reads them grants more with a window message saying how many it has
// read since its last grant, once that is half the window. Neither the
// first (start) and last (exit) messages nor the grants count, so a queue
// never holds more than Size plus a few, well under ttrpc's 64.
package window

import (
	"context"
	"errors"
	"sync"
)

// Size is how many counted messages a side may have unread by the other.
// With 32 KiB reads of a process's output, 512 KiB in flight.
const Size = 16

// Codec says which of a side's messages count and how a grant is made:
// S is what the side sends, R what it receives.
type Codec[S, R any] struct {
	// Counts reports whether a message the side sends counts against the
	// other side's window.
	Counts func(S) bool
	// Granted returns the grant a received message carries (0: none).
	Granted func(R) uint32
	// Read reports whether a received message counts: the side grants it
	// back once read.
	Read func(R) bool
	// Grant makes the message that grants n.
	Grant func(n uint32) S
}

// ErrClosed is a Send after CloseSend.
var ErrClosed = errors.New("window: send after close")

// Stream is one side of a windowed stream. Send and Recv may be called
// from different goroutines, Send from several. A goroutine of its own
// takes what the other side sends as it comes, so that grants are taken
// whether or not the caller reads; it ends with the transport's stream.
type Stream[S, R any] struct {
	codec Codec[S, R]
	ctx   context.Context
	send  func(S) error
	recv  func() (R, error)

	// credit holds a token per counted message the side may still send.
	credit chan struct{}
	// in queues what the other side sent, grants apart, for Recv; err
	// says why the stream ended once in is closed.
	in  chan R
	err error

	// mu serialises sends (Recv's grants go beside Send's) and guards
	// read and closed.
	mu     sync.Mutex
	closed bool
	// read counts the counted messages read since the last grant.
	read uint32
}

// inRoom is how many received messages wait for Recv at most: the other
// side's window and its few uncounted messages. A peer sending more
// stalls its own grants behind them, then ttrpc ends the stream.
const inRoom = 2 * Size

// New is a side of a stream whose messages send and recv carry; ctx is
// the stream's (a Send waiting for credit ends with it).
func New[S, R any](ctx context.Context, c Codec[S, R], send func(S) error, recv func() (R, error)) *Stream[S, R] {
	s := &Stream[S, R]{codec: c, ctx: ctx, send: send, recv: recv, credit: make(chan struct{}, Size), in: make(chan R, inRoom)}
	for range Size {
		s.credit <- struct{}{}
	}
	go s.take()
	return s
}

// take receives until the stream ends: grants become credit, the rest
// waits for Recv.
func (s *Stream[S, R]) take() {
	defer close(s.in)
	for {
		m, err := s.recv()
		if err != nil {
			s.err = err
			return
		}
		if n := s.codec.Granted(m); n > 0 {
			s.give(n)
			continue
		}
		select {
		case s.in <- m:
		case <-s.ctx.Done():
			s.err = s.ctx.Err()
			return
		}
	}
}

// Context is the stream's context.
func (s *Stream[S, R]) Context() context.Context { return s.ctx }

// Send sends m, first waiting for credit when it counts.
func (s *Stream[S, R]) Send(m S) error {
	if s.codec.Counts(m) {
		select {
		case <-s.credit:
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.send(m)
}

// CloseSend stops Send; grants still go out, which the other side needs
// to go on sending.
func (s *Stream[S, R]) CloseSend() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// Recv returns the next message that is not a grant, or the error that
// ended the stream once all before it are read. Reading counted messages
// grants them back, by half a window.
func (s *Stream[S, R]) Recv() (R, error) {
	m, ok := <-s.in
	if !ok {
		return m, s.err
	}
	if s.codec.Read(m) {
		s.mu.Lock()
		s.read++
		if s.read >= Size/2 {
			// A grant that cannot go out is a stream that ended: the
			// next Recv says so.
			_ = s.send(s.codec.Grant(s.read))
			s.read = 0
		}
		s.mu.Unlock()
	}
	return m, nil
}

// give adds n tokens of credit; more than Size in all (a peer granting
// what was not sent) is dropped.
func (s *Stream[S, R]) give(n uint32) {
	for range n {
		select {
		case s.credit <- struct{}{}:
		default:
			return
		}
	}
}
