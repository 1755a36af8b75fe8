package holder

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// Pins are the UTS and IPC namespaces a shim makes for its pod as it
// starts, before the holder runs, and holds open for as long as it lives,
// as CRI-O's pinns pins a pod's namespaces before its infra container. A
// holder that makes namespaces of those types joins them instead
// (JoinPins), and a container that joins the holder's can be created
// beside the holder's start instead of after it. A holder in a user
// namespace of its own makes its own: the pins are never used then.
type Pins struct {
	files map[string]*os.File
}

// pinType is a namespace type that is pinned, with its clone flag.
type pinType struct {
	typ  string
	flag int
}

// pinTypes are the pinned types, in the order they are listed.
var pinTypes = []pinType{{"uts", unix.CLONE_NEWUTS}, {"ipc", unix.CLONE_NEWIPC}}

// PinNamespaces makes a new UTS and a new IPC namespace and holds them.
func PinNamespaces() (*Pins, error) {
	p := &Pins{files: map[string]*os.File{}}
	flags := 0
	for _, t := range pinTypes {
		flags |= t.flag
	}
	// A thread of its own makes them: the shim's other threads stay in the
	// host's namespaces.
	err := onThrowawayThread(func() error {
		if err := unix.Unshare(flags); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		for _, t := range pinTypes {
			ns, err := os.Open("/proc/thread-self/ns/" + t.typ)
			if err != nil {
				return err
			}
			p.files[t.typ] = ns
		}
		return nil
	})
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("pin uts and ipc namespaces: %w", err)
	}
	return p, nil
}

// Types lists the pinned namespace types, in a fixed order (none for nil
// Pins).
func (p *Pins) Types() []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, t := range pinTypes {
		if p.files[t.typ] != nil {
			out = append(out, t.typ)
		}
	}
	return out
}

// Path is where another process opens the pinned namespace of type typ
// (the shim's descriptor of it), "" when it is not pinned.
func (p *Pins) Path(typ string) string {
	if p == nil || p.files[typ] == nil {
		return ""
	}
	return "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(int(p.files[typ].Fd()))
}

// Close lets the namespaces go (they live on while a process is in one).
func (p *Pins) Close() error {
	if p == nil {
		return nil
	}
	var errs []error
	for t, f := range p.files {
		errs = append(errs, f.Close())
		delete(p.files, t)
	}
	return errors.Join(errs...)
}

// PinsJoined lists the pinned types the holder of cfg (a holder's shim
// config) joins (see joinsPins); none for a config the holder's start
// will refuse. The shim knows from it, as soon as the holder is asked
// for, which of the holder's namespaces a container can join before the
// holder runs.
func PinsJoined(cfg *shimv1.ContainerConfig) []string {
	c, err := FromContainerConfig(cfg, 0)
	if err != nil {
		return nil
	}
	return c.joinsPins()
}

// joinsPins lists the pinned types the holder of c joins: those it makes a
// namespace of, unless it makes a user namespace of its own (its
// namespaces are then inside it).
func (c *Config) joinsPins() []string {
	if c.NewUser {
		return nil
	}
	var out []string
	if c.NewUTS {
		out = append(out, "uts")
	}
	if c.NewIPC {
		out = append(out, "ipc")
	}
	return out
}

// JoinPins points c at the pinned namespaces of p of the types it joins
// (joinsPins), which the holder then joins instead of unsharing.
func (c *Config) JoinPins(p *Pins) {
	for _, t := range c.joinsPins() {
		switch t {
		case "uts":
			c.UTSPath = p.Path(t)
		case "ipc":
			c.IPCPath = p.Path(t)
		}
	}
}
