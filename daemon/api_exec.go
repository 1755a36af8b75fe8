package daemon

import (
	"errors"
	"io"

	"github.com/podd-dev/podd/daemon/podworker"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// Exec proxies an exec session between the client and the pod's shim.
func (a *api) Exec(stream poddv1.PodService_ExecServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return toGRPC(classed(ErrInvalidArgument, "exec: the first message must be start"))
	}
	if len(start.GetCommand()) == 0 {
		return toGRPC(classed(ErrInvalidArgument, "command: Required value"))
	}
	e, ok := a.d.pods.get(namespaceOr(start.GetNamespace()), start.GetName())
	if !ok {
		return toGRPC(classed(ErrNotFound, "pods %q not found", start.GetName()))
	}
	name, err := containerOrDefault(e, start.GetContainer())
	if err != nil {
		return toGRPC(err)
	}
	ctx := stream.Context()
	cl, id, err := e.worker.ExecTarget(ctx, name)
	if errors.Is(err, podworker.ErrNoContainer) {
		return toGRPC(classed(ErrFailedPrecondition, "%w", err))
	}
	if err != nil {
		return toGRPC(err)
	}
	shimStream, err := cl.Exec(ctx)
	if err != nil {
		return toGRPC(err)
	}
	if err := shimStream.Send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Start{Start: &shimv1.ExecProcess{
		Container: id, Args: start.GetCommand(), Tty: start.GetTty(), Stdin: start.GetStdin(),
		Width: start.GetWidth(), Height: start.GetHeight(),
	}}}); err != nil {
		return toGRPC(err)
	}
	// client → shim: stdin, resizes, end of stdin. It ends with the RPC.
	go func() {
		for {
			req, err := stream.Recv()
			if err != nil {
				shimStream.CloseSend()
				return
			}
			var msg shimv1.ExecRequest
			switch m := req.Msg.(type) {
			case *poddv1.ExecRequest_Stdin:
				msg.Msg = &shimv1.ExecRequest_Stdin{Stdin: m.Stdin}
			case *poddv1.ExecRequest_Resize:
				msg.Msg = &shimv1.ExecRequest_Resize{Resize: &shimv1.Resize{Width: m.Resize.GetWidth(), Height: m.Resize.GetHeight()}}
			case *poddv1.ExecRequest_CloseStdin:
				msg.Msg = &shimv1.ExecRequest_CloseStdin{CloseStdin: true}
			default:
				continue
			}
			if err := shimStream.Send(&msg); err != nil {
				return
			}
		}
	}()
	// shim → client: output, then the exit code.
	for {
		resp, err := shimStream.Recv()
		if errors.Is(err, io.EOF) {
			return toGRPC(errors.New("exec: the shim ended the session without an exit code"))
		}
		if err != nil {
			return toGRPC(err)
		}
		var out poddv1.ExecResponse
		switch m := resp.Msg.(type) {
		case *shimv1.ExecResponse_Stdout:
			out.Msg = &poddv1.ExecResponse_Stdout{Stdout: m.Stdout}
		case *shimv1.ExecResponse_Stderr:
			out.Msg = &poddv1.ExecResponse_Stderr{Stderr: m.Stderr}
		case *shimv1.ExecResponse_Exit:
			out.Msg = &poddv1.ExecResponse_ExitCode{ExitCode: m.Exit.GetExitCode()}
			return stream.Send(&out)
		}
		if err := stream.Send(&out); err != nil {
			return err
		}
	}
}
