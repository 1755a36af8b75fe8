package fastexec

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// helperScript is what a fake helper does for collect: the replies it
// sends (a console reply passes a pipe's write end), whether it then ends
// (closing its socket), and what its forked process leaves on the error
// pipe before closing it (closeErr false: the pipe stays open, a process
// still setting up or stuck).
type helperScript struct {
	replies  []int32 // pairs: type, value
	end      bool
	errMsg   string
	closeErr bool
}

// The helper's replies and its error pipe decide the exec's pid, its
// error, and whether the helper is kept for the next exec (ok): every way
// they can go, driven through a socket pair and a pipe, no helper and no
// root needed.
func TestCollectVerdicts(t *testing.T) {
	run := string([]byte{errKindRun})
	setup := string([]byte{errKindSetup})
	for _, tc := range []struct {
		name        string
		script      helperScript
		wantConsole bool
		wantPid     int
		wantOK      bool
		wantConsOut bool
		wantErr     string // "" for none; else a part of the message
		wantRun     bool   // the error is a CannotRunError
	}{
		{name: "forked, the program runs",
			script:  helperScript{replies: []int32{replyPID, 4242}, closeErr: true},
			wantPid: 4242, wantOK: true},
		{name: "forked with a terminal, the program runs",
			script:      helperScript{replies: []int32{replyPID, 4242, replyConsole, 0}, closeErr: true},
			wantConsole: true, wantPid: 4242, wantOK: true, wantConsOut: true},
		{name: "forked, the program cannot run",
			script:  helperScript{replies: []int32{replyPID, 4242}, errMsg: run + "exec: \"nope\": not found", closeErr: true},
			wantPid: 4242, wantOK: true, wantErr: `exec: "nope": not found`, wantRun: true},
		{name: "forked, the set-up before the program failed",
			script:  helperScript{replies: []int32{replyPID, 4242}, errMsg: setup + "set the working directory: no such file", closeErr: true},
			wantPid: 4242, wantOK: true, wantErr: "set the working directory: no such file"},
		{name: "not forked, the helper says why and stays",
			script: helperScript{replies: []int32{replyPID, 0}, errMsg: setup + "fork: resource temporarily unavailable", closeErr: true},
			wantOK: true, wantErr: "fork: resource temporarily unavailable"},
		{name: "not forked, no word why",
			script: helperScript{replies: []int32{replyPID, -1}, closeErr: true},
			wantOK: true, wantErr: "sent no pid"},
		{name: "the helper ended before any reply",
			script:  helperScript{end: true, errMsg: setup + "join the container: invalid argument", closeErr: true},
			wantErr: "join the container: invalid argument"},
		{name: "the helper hangs",
			script:  helperScript{},
			wantErr: "no reply in time"},
		{name: "a reply of no known type",
			script:  helperScript{replies: []int32{replyReady, 0}},
			wantErr: "unexpected reply 3"},
		{name: "a terminal nobody asked for",
			script:  helperScript{replies: []int32{replyConsole, 0}},
			wantErr: "unexpected reply 2"},
		{name: "a terminal asked for never came, the helper ended",
			script:      helperScript{replies: []int32{replyPID, 7}, end: true, closeErr: true},
			wantConsole: true, wantPid: 7, wantOK: true, wantErr: "sent no terminal"},
		{name: "a second pid where the terminal belongs",
			script:      helperScript{replies: []int32{replyPID, 7, replyPID, 8}, closeErr: true},
			wantConsole: true, wantPid: 7, wantOK: true, wantErr: "sent no terminal"},
		{name: "forked, the process never ends its error pipe",
			script:  helperScript{replies: []int32{replyPID, 4242}},
			wantPid: 4242, wantOK: true, wantErr: "i/o timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock, errR, passed := playHelper(t, tc.script)
			defer errR.Close()
			pid, console, ok, err := collect(sock, errR, tc.wantConsole, time.Now().Add(300*time.Millisecond))
			if console != nil {
				defer console.Close()
			}
			if pid != tc.wantPid || ok != tc.wantOK || (console != nil) != tc.wantConsOut {
				t.Errorf("collect = pid %d, terminal %v, ok %v; want pid %d, terminal %v, ok %v",
					pid, console != nil, ok, tc.wantPid, tc.wantConsOut, tc.wantOK)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("collect: %v, want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("collect: %v, want an error saying %q", err, tc.wantErr)
			}
			var cr *CannotRunError
			if errors.As(err, &cr) != tc.wantRun {
				t.Errorf("collect: %v: CannotRunError %v, want %v", err, !tc.wantRun, tc.wantRun)
			}
			// A terminal not taken is closed, never kept open: its reader
			// sees end-of-file once the test's own copy is gone.
			if passed != nil && console == nil {
				if b, err := io.ReadAll(passed); err != nil || len(b) != 0 {
					t.Errorf("a terminal collect did not take: read %q, %v; want end-of-file", b, err)
				}
			}
		})
	}
}

// playHelper runs script against collect's side: it returns the shim's
// socket, the error pipe's read end, and, when the script passes a
// terminal, the read end of the pipe whose write end it passed (its own
// copy closed).
func playHelper(t *testing.T, s helperScript) (sock, errR, passed *os.File) {
	t.Helper()
	sock, peer := replyPair(t)
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(s.replies); i += 2 {
		typ, v := s.replies[i], s.replies[i+1]
		msg := binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, uint32(typ)), uint32(v))
		var oob []byte
		if typ == replyConsole {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			oob = unix.UnixRights(int(w.Fd()))
			passed = r
			defer w.Close()
		}
		if err := unix.Sendmsg(peer, msg, oob, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	if s.end {
		if err := unix.Shutdown(peer, unix.SHUT_WR); err != nil {
			t.Fatal(err)
		}
	}
	if s.errMsg != "" {
		if _, err := errW.WriteString(s.errMsg); err != nil {
			t.Fatal(err)
		}
	}
	if s.closeErr {
		errW.Close()
	} else {
		t.Cleanup(func() { errW.Close() })
	}
	return sock, errR, passed
}
