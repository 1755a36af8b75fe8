package proxier

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// restorer runs iptables-restore --noflush for one Proxier. On an
// nf_tables host it keeps the next one started ahead, waiting on its
// input: a sync then pays for the kernel's commit, not for a process start,
// which on a loaded host is most of a readiness change's way to the data
// path (tens of ms, hundreds in the tail). A legacy iptables-restore takes
// the host's xtables lock as it starts, so there one is started per sync.
type restorer struct {
	ahead bool
	// argv is the command; nil: iptables-restore --noflush (tests fake it).
	argv []string
	next *restoreProc
}

// restoreProc is one started iptables-restore waiting for its input.
type restoreProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	done   chan error
}

func (r *restorer) start() (*restoreProc, error) {
	argv := r.argv
	if argv == nil {
		argv = []string{"iptables-restore", "--noflush", "-w", "5"}
	}
	p := &restoreProc{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan error, 1)}
	p.cmd.Stderr = &p.stderr
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("service rules: iptables-restore: %w", err)
	}
	p.stdin = stdin
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("service rules: iptables-restore: %w", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	return p, nil
}

// run gives p its input and waits for it to apply it; when ctx ends first
// p is killed (iptables-restore commits a table at once or not at all).
func (p *restoreProc) run(ctx context.Context, input string) error {
	_, werr := io.WriteString(p.stdin, input)
	p.stdin.Close()
	var err error
	select {
	case err = <-p.done:
	case <-ctx.Done():
		p.cmd.Process.Kill()
		<-p.done
		err = ctx.Err()
	}
	if err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("service rules: iptables-restore: %w: %s", err, strings.TrimSpace(p.stderr.String()))
	}
	return nil
}

// restore applies input with the iptables-restore started ahead (or a new
// one), then starts the next one when the host allows.
func (r *restorer) restore(ctx context.Context, input string) error {
	ctx, cancel := context.WithTimeout(ctx, restoreTimeout)
	defer cancel()
	p := r.next
	r.next = nil
	if p == nil {
		var err error
		if p, err = r.start(); err != nil {
			return err
		}
	}
	err := p.run(ctx, input)
	if r.ahead {
		// A failure here is no sync's: the next sync starts its own.
		r.next, _ = r.start()
	}
	return err
}

// close ends the iptables-restore started ahead: without input it changes
// nothing.
func (r *restorer) close() {
	if r.next == nil {
		return
	}
	r.next.stdin.Close()
	<-r.next.done
	r.next = nil
}

// nftBackend reports whether iptables-restore drives nf_tables (no xtables
// lock).
func nftBackend() bool {
	out, err := exec.Command("iptables-restore", "--version").CombinedOutput()
	return err == nil && strings.Contains(string(out), "nf_tables")
}
