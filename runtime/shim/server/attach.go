package server

import (
	"context"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// attachQueue is how many output chunks an attached client may fall behind
// before it is dropped: the container's output (and its log) never waits
// for a slow client.
const attachQueue = 256

// attachHub is a container's stdio as attached clients share it: its output
// fanned out to every client besides the log, and its input (the stdin pipe
// or the terminal) they write to.
type attachHub struct {
	mu     sync.Mutex
	subs   map[*attachSub]struct{}
	exited bool
	// stdin is nil when the container has no stdin; stdinClosed once a
	// stdin_once client detached or the container exited.
	stdin       io.WriteCloser
	stdinClosed bool
	resize      func(width, height uint16) error
}

// attachSub is one attached client's output queue. ch is closed when the
// container exited or the client fell attachQueue chunks behind (lagged).
type attachSub struct {
	stdout, stderr bool
	ch             chan attachChunk
	lagged         bool
}

type attachChunk struct {
	stderr bool
	data   []byte
}

func newAttachHub() *attachHub { return &attachHub{subs: map[*attachSub]struct{}{}} }

// setInput records where clients' input goes once the process runs: stdin
// (nil without one) and the terminal's resize (nil without a terminal).
func (h *attachHub) setInput(stdin io.WriteCloser, resize func(width, height uint16) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stdin, h.resize = stdin, resize
}

// output is the writer a container stream is teed into. It never fails, so
// the log copy is never stopped by a client.
func (h *attachHub) output(stderr bool) io.Writer { return hubWriter{h: h, stderr: stderr} }

type hubWriter struct {
	h      *attachHub
	stderr bool
}

func (w hubWriter) Write(b []byte) (int, error) {
	w.h.broadcast(w.stderr, b)
	return len(b), nil
}

func (h *attachHub) broadcast(stderr bool, b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var data []byte
	for sub := range h.subs {
		if (stderr && !sub.stderr) || (!stderr && !sub.stdout) {
			continue
		}
		if data == nil {
			data = append([]byte(nil), b...)
		}
		select {
		case sub.ch <- attachChunk{stderr: stderr, data: data}:
		default:
			sub.lagged = true
			delete(h.subs, sub)
			close(sub.ch)
		}
	}
}

// subscribe adds a client; false when the container already exited.
func (h *attachHub) subscribe(stdout, stderr bool) (*attachSub, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.exited {
		return nil, false
	}
	sub := &attachSub{stdout: stdout, stderr: stderr, ch: make(chan attachChunk, attachQueue)}
	h.subs[sub] = struct{}{}
	return sub, true
}

func (h *attachHub) unsubscribe(sub *attachSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[sub]; ok {
		delete(h.subs, sub)
		close(sub.ch)
	}
}

// exit ends every client's output once the container's output is drained.
func (h *attachHub) exit() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.exited, h.stdinClosed = true, true
	for sub := range h.subs {
		delete(h.subs, sub)
		close(sub.ch)
	}
}

// write forwards a client's input, dropped once stdin is closed.
func (h *attachHub) write(b []byte) {
	h.mu.Lock()
	stdin, closed := h.stdin, h.stdinClosed
	h.mu.Unlock()
	if stdin != nil && !closed {
		// A container that does not read its stdin blocks only this
		// client's input.
		_, _ = stdin.Write(b)
	}
}

// closeStdin closes the container's stdin for good (end of file on a
// pipe, ^D on a terminal).
func (h *attachHub) closeStdin() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stdin == nil || h.stdinClosed {
		return
	}
	h.stdinClosed = true
	_ = h.stdin.Close()
}

func (h *attachHub) setSize(width, height uint16) error {
	h.mu.Lock()
	resize := h.resize
	h.mu.Unlock()
	if resize == nil {
		return nil
	}
	return resize(width, height)
}

// attachServer is the shim's side of an Attach stream.
type attachServer interface {
	Context() context.Context
	Send(*shimv1.AttachResponse) error
	Recv() (*shimv1.AttachRequest, error)
}

// Attach connects a client to a running container's stdio until the client
// goes or the container exits.
func (s *service) Attach(stream attachServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil || start.GetContainer() == "" {
		return status.Error(codes.InvalidArgument, "attach: the first message must be start with a container")
	}
	c := s.lookup(start.GetContainer())
	if c == nil {
		return status.Errorf(codes.NotFound, "attach to container %q: no such container", start.GetContainer())
	}
	c.mu.Lock()
	st := c.st
	c.mu.Unlock()
	if _, ok := st.(runningState); !ok {
		return status.Errorf(codes.FailedPrecondition, "attach to container %q: it is %s", c.id, st.name())
	}
	if start.GetStdin() && !c.cfg.GetStdin() {
		return status.Errorf(codes.FailedPrecondition, "attach stdin to container %q: it was not created with stdin", c.id)
	}
	sub, ok := c.hub.subscribe(start.GetStdout(), start.GetStderr() && !c.cfg.GetTty())
	if !ok {
		return stream.Send(&shimv1.AttachResponse{Msg: &shimv1.AttachResponse_Exit{Exit: &shimv1.AttachExit{}}})
	}
	defer c.hub.unsubscribe(sub)
	go s.attachInput(stream, c, start)
	ctx := stream.Context()
	for {
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case chunk, ok := <-sub.ch:
			if !ok {
				if sub.lagged {
					return status.Errorf(codes.ResourceExhausted, "attach to container %q: the client fell behind the container's output", c.id)
				}
				return stream.Send(&shimv1.AttachResponse{Msg: &shimv1.AttachResponse_Exit{Exit: &shimv1.AttachExit{}}})
			}
			msg := &shimv1.AttachResponse{Msg: &shimv1.AttachResponse_Stdout{Stdout: chunk.data}}
			if chunk.stderr {
				msg = &shimv1.AttachResponse{Msg: &shimv1.AttachResponse_Stderr{Stderr: chunk.data}}
			}
			if err := stream.Send(msg); err != nil {
				return err
			}
		}
	}
}

// attachInput forwards a client's stdin and resizes until it stops sending
// (close_stdin, the end of its stream or the end of the call). With
// stdin_once the end of its input closes the container's stdin.
func (s *service) attachInput(stream attachServer, c *container, start *shimv1.AttachStart) {
	withStdin := start.GetStdin()
	if withStdin && start.GetStdinOnce() {
		defer c.hub.closeStdin()
	}
	for {
		req, err := stream.Recv()
		if err != nil {
			return
		}
		switch m := req.GetMsg().(type) {
		case *shimv1.AttachRequest_Stdin:
			if withStdin {
				c.hub.write(m.Stdin)
			}
		case *shimv1.AttachRequest_Resize:
			if err := c.hub.setSize(uint16(m.Resize.GetWidth()), uint16(m.Resize.GetHeight())); err != nil {
				s.log.Debug("resize container terminal", "container", c.id, "err", err)
			}
		case *shimv1.AttachRequest_CloseStdin:
			if m.CloseStdin && withStdin {
				if start.GetStdinOnce() {
					c.hub.closeStdin()
				}
				withStdin = false
			}
		}
	}
}
