package sandbox

import (
	"context"
	"io"
	"sync"
	"testing"

	"google.golang.org/grpc"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// execStream is a shim's Exec stream that records what the daemon sends
// and answers with the exit once the start arrived.
type execStream struct {
	grpc.ClientStream
	mu      sync.Mutex
	sent    []*shimv1.ExecRequest
	started chan struct{}
}

func (s *execStream) Send(m *shimv1.ExecRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m)
	if m.GetStart() != nil {
		close(s.started)
	}
	return nil
}

func (s *execStream) Recv() (*shimv1.ExecResponse, error) {
	<-s.started
	return &shimv1.ExecResponse{Msg: &shimv1.ExecResponse_Exit{Exit: &shimv1.ExecExit{}}}, nil
}

func (s *execStream) CloseSend() error { return nil }

type execShim struct {
	ShimClient
	stream *execStream
}

func (e *execShim) Exec(context.Context, ...grpc.CallOption) (grpc.BidiStreamingClient[shimv1.ExecRequest, shimv1.ExecResponse], error) {
	return e.stream, nil
}

// A terminal exec starts with the client's terminal size (its first
// resize), not 0x0 then a resize: a command that reads the size at once
// (stty size, a full-screen program) sees the client's.
func TestExecStartsWithTheClientsTerminalSize(t *testing.T) {
	cl := &execShim{stream: &execStream{started: make(chan struct{})}}
	sizes := make(chan TermSize, 1)
	sizes <- TermSize{Width: 101, Height: 33}
	if _, err := execIn(context.Background(), cl, "c1", ExecRequest{Cmd: []string{"stty", "size"}, Tty: true, Stdout: io.Discard, Resize: sizes}); err != nil {
		t.Fatal(err)
	}
	start := cl.stream.sent[0].GetStart()
	if start.GetWidth() != 101 || start.GetHeight() != 33 {
		t.Fatalf("start %v, want the terminal 101x33", start)
	}
}
