package shim_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// An exec's output waits for a daemon that reads it slowly: nothing is
// lost, and the stream survives a reader that stops for longer than ttrpc
// keeps a full stream (a second) and than the shim reads on after the
// process exits (the process writes a line every 10 ms and exits while
// the reader stops, much of its output still in the pipe).
func TestExecOutputWaitsForASlowReader(t *testing.T) {
	p := startPod(t)
	p.create(p.config("app", p.rootfs("r"), "sleep", "1000"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stream, err := p.c.Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const lines = 60
	script := fmt.Sprintf("i=0; while [ $i -lt %d ]; do echo line-$i; i=$((i+1)); sleep 0.01; done", lines)
	if err := stream.Send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Start{Start: &shimv1.ExecProcess{Container: "app", Args: []string{"sh", "-c", script}}}}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for n := 0; ; n++ {
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("after %d messages (%d bytes): %v", n, out.Len(), err)
		}
		if n == 1 {
			time.Sleep(2500 * time.Millisecond) // the reader falls behind: what the test is about
		}
		if m.GetExit() != nil {
			if code := m.GetExit().GetExitCode(); code != 0 {
				t.Fatalf("exit %d", code)
			}
			break
		}
		out.Write(m.GetStdout())
	}
	var want bytes.Buffer
	for i := range lines {
		fmt.Fprintf(&want, "line-%d\n", i)
	}
	if !bytes.Equal(out.Bytes(), want.Bytes()) {
		t.Fatalf("read %d bytes of output, want the %d of %d lines in order", out.Len(), want.Len(), lines)
	}
}
