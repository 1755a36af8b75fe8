package podclient

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestFormatError(t *testing.T) {
	notFound := status.Error(codes.NotFound, `pods "x" not found`)
	tests := []struct {
		err  error
		want string
	}{
		{notFound, `Error from server (NotFound): pods "x" not found`},
		{fmt.Errorf("get pod: %w", notFound), `Error from server (NotFound): pods "x" not found`},
		{status.Error(codes.InvalidArgument, "spec.containers[1].image: Required value"),
			"Error from server (InvalidArgument): spec.containers[1].image: Required value"},
		{status.Error(codes.Unknown, "odd"), "Error from server: odd"},
		{errors.New("plain"), "error: plain"},
		{&NotRunningError{Socket: "/run/podd/podd.sock", Err: errors.New("connect: no such file or directory")},
			"error: cannot connect to podd at unix:///run/podd/podd.sock: is the daemon running? (connect: no such file or directory)"},
	}
	for _, tt := range tests {
		if got := FormatError(tt.err); got != tt.want {
			t.Errorf("FormatError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestSocketDefault(t *testing.T) {
	t.Setenv(SocketEnv, "")
	if got := SocketDefault(); got != DefaultSocket {
		t.Errorf("SocketDefault() = %q, want %q", got, DefaultSocket)
	}
	t.Setenv(SocketEnv, "/tmp/x.sock")
	if got := SocketDefault(); got != "/tmp/x.sock" {
		t.Errorf("SocketDefault() with %s = %q", SocketEnv, got)
	}
}
