package verb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
)

// stdinChunk is the most stdin bytes sent in one message.
const stdinChunk = 32 * 1024

// ExecOptions are the inputs of `podctl exec`.
type ExecOptions struct {
	Streams
	Namespace string
	Pod       string
	// Container defaults as in kubectl (annotation, else the first).
	Container string
	Command   []string
	// Stdin forwards standard input (-i).
	Stdin bool
	// TTY asks for a terminal (-t); honoured when In is a terminal.
	TTY bool
}

// Exec runs a command in a container, relaying stdin, stdout, stderr and
// terminal size changes. A non-zero remote exit code is returned as an
// *ExitError carrying that code.
func Exec(ctx context.Context, c poddv1.PodServiceClient, opts ExecOptions) error {
	if len(opts.Command) == 0 {
		return fmt.Errorf("you must specify at least one command for the container")
	}
	ns := namespaceOrDefault(opts.Namespace)
	pod, container, err := getPodContainer(ctx, c, ns, opts.Pod, opts.Container, opts.ErrOut)
	if err != nil {
		return err
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return fmt.Errorf("cannot exec into a container in a completed pod; current phase is %s", pod.Status.Phase)
	}

	tty := opts.TTY
	inFd, inIsTerm := terminalFd(opts.In)
	if tty && !inIsTerm {
		fmt.Fprintln(opts.ErrOut, "Unable to use a TTY - input is not a terminal or the right kind of file")
		tty = false
	}
	start := &poddv1.ExecStart{Namespace: ns, Name: opts.Pod, Container: container,
		Command: opts.Command, Stdin: opts.Stdin, Tty: tty}
	if tty {
		if w, h, err := term.GetSize(sizeFd(opts.Out, inFd)); err == nil {
			start.Width, start.Height = uint32(w), uint32(h)
		}
		if opts.Stdin {
			state, err := term.MakeRaw(inFd)
			if err != nil {
				return fmt.Errorf("put terminal in raw mode: %w", err)
			}
			defer func() { _ = term.Restore(inFd, state) }()
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Exec(ctx)
	if err != nil {
		return err
	}
	s := &execSender{stream: stream}
	if err := s.send(&poddv1.ExecRequest{Msg: &poddv1.ExecRequest_Start{Start: start}}); err != nil {
		return fmt.Errorf("start exec: %w", err)
	}
	if opts.Stdin {
		go s.forwardStdin(opts.In)
	}
	if tty {
		go s.forwardResizes(ctx, sizeFd(opts.Out, inFd))
	}
	code, err := receiveExec(stream, opts.Out, opts.ErrOut)
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Code: int(code), Message: fmt.Sprintf("command terminated with exit code %d", code)}
	}
	return nil
}

// receiveExec copies output until the stream ends and returns the exit code.
func receiveExec(stream poddv1.PodService_ExecClient, out, errOut io.Writer) (int32, error) {
	var code int32
	gotCode := false
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if !gotCode {
				return 0, fmt.Errorf("exec stream ended without an exit code")
			}
			return code, nil
		}
		if err != nil {
			return 0, err
		}
		switch m := resp.GetMsg().(type) {
		case *poddv1.ExecResponse_Stdout:
			if _, err := out.Write(m.Stdout); err != nil {
				return 0, fmt.Errorf("write stdout: %w", err)
			}
		case *poddv1.ExecResponse_Stderr:
			if _, err := errOut.Write(m.Stderr); err != nil {
				return 0, fmt.Errorf("write stderr: %w", err)
			}
		case *poddv1.ExecResponse_ExitCode:
			code, gotCode = m.ExitCode, true
		}
	}
}

// execSender serializes sends on the stream (gRPC allows one sender at a
// time): stdin and resizes come from different goroutines.
type execSender struct {
	mu     sync.Mutex
	stream poddv1.PodService_ExecClient
}

func (s *execSender) send(req *poddv1.ExecRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.Send(req)
}

// forwardStdin sends in until EOF, then close_stdin. Send errors end it:
// the receive side reports why the stream failed.
func (s *execSender) forwardStdin(in io.Reader) {
	buf := make([]byte, stdinChunk)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			data := append([]byte(nil), buf[:n]...)
			if s.send(&poddv1.ExecRequest{Msg: &poddv1.ExecRequest_Stdin{Stdin: data}}) != nil {
				return
			}
		}
		if err != nil {
			_ = s.send(&poddv1.ExecRequest{Msg: &poddv1.ExecRequest_CloseStdin{CloseStdin: true}})
			return
		}
	}
}

// forwardResizes sends the terminal size after each SIGWINCH until ctx ends.
func (s *execSender) forwardResizes(ctx context.Context, fd int) {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-winch:
			w, h, err := term.GetSize(fd)
			if err != nil {
				continue
			}
			if s.send(&poddv1.ExecRequest{Msg: &poddv1.ExecRequest_Resize{
				Resize: &poddv1.Resize{Width: uint32(w), Height: uint32(h)}}}) != nil {
				return
			}
		}
	}
}

// terminalFd returns r's file descriptor and whether it is a terminal.
func terminalFd(r any) (int, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return -1, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// sizeFd picks the descriptor to read the window size from: the output
// terminal if there is one, else the input.
func sizeFd(out any, inFd int) int {
	if fd, ok := terminalFd(out); ok {
		return fd
	}
	return inFd
}
