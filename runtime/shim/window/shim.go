package window

import (
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// The codecs of the shim API's two windowed streams, for each side.
var (
	// ExecDaemon is the daemon's side of Exec.
	ExecDaemon = Codec[*shimv1.ExecRequest, *shimv1.ExecResponse]{
		Counts:  execInput,
		Granted: func(m *shimv1.ExecResponse) uint32 { return m.GetWindow() },
		Read:    execOutput,
		Grant: func(n uint32) *shimv1.ExecRequest {
			return &shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Window{Window: n}}
		},
	}
	// ExecShim is the shim's side of Exec.
	ExecShim = Codec[*shimv1.ExecResponse, *shimv1.ExecRequest]{
		Counts:  execOutput,
		Granted: func(m *shimv1.ExecRequest) uint32 { return m.GetWindow() },
		Read:    execInput,
		Grant: func(n uint32) *shimv1.ExecResponse {
			return &shimv1.ExecResponse{Msg: &shimv1.ExecResponse_Window{Window: n}}
		},
	}
	// AttachDaemon is the daemon's side of Attach.
	AttachDaemon = Codec[*shimv1.AttachRequest, *shimv1.AttachResponse]{
		Counts:  attachInput,
		Granted: func(m *shimv1.AttachResponse) uint32 { return m.GetWindow() },
		Read:    attachOutput,
		Grant: func(n uint32) *shimv1.AttachRequest {
			return &shimv1.AttachRequest{Msg: &shimv1.AttachRequest_Window{Window: n}}
		},
	}
	// AttachShim is the shim's side of Attach.
	AttachShim = Codec[*shimv1.AttachResponse, *shimv1.AttachRequest]{
		Counts:  attachOutput,
		Granted: func(m *shimv1.AttachRequest) uint32 { return m.GetWindow() },
		Read:    attachInput,
		Grant: func(n uint32) *shimv1.AttachResponse {
			return &shimv1.AttachResponse{Msg: &shimv1.AttachResponse_Window{Window: n}}
		},
	}
)

func execInput(m *shimv1.ExecRequest) bool {
	switch m.GetMsg().(type) {
	case *shimv1.ExecRequest_Stdin, *shimv1.ExecRequest_Resize, *shimv1.ExecRequest_CloseStdin:
		return true
	}
	return false
}

func execOutput(m *shimv1.ExecResponse) bool {
	switch m.GetMsg().(type) {
	case *shimv1.ExecResponse_Stdout, *shimv1.ExecResponse_Stderr:
		return true
	}
	return false
}

func attachInput(m *shimv1.AttachRequest) bool {
	switch m.GetMsg().(type) {
	case *shimv1.AttachRequest_Stdin, *shimv1.AttachRequest_Resize, *shimv1.AttachRequest_CloseStdin:
		return true
	}
	return false
}

func attachOutput(m *shimv1.AttachResponse) bool {
	switch m.GetMsg().(type) {
	case *shimv1.AttachResponse_Stdout, *shimv1.AttachResponse_Stderr:
		return true
	}
	return false
}
