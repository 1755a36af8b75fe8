package holder

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// Pins are namespaces made for a pod before its holder runs and held open
// by the shim for as long as it lives, as CRI-O's pinns pins a pod's
// namespaces before its infra container: the holder joins them instead of
// making its own, and a container that joins the holder's can be created
// beside the holder instead of after it. Only namespaces the shim's user
// namespace owns (uts, ipc) are pinned; a pod in a user namespace of its own
// has none.
type Pins struct {
	files map[string]*os.File
}

// pinType is a namespace type that can be pinned, with its clone flag.
type pinType struct {
	typ  string
	flag int
}

// pinFlags are the types that can be pinned, in the order they are listed.
var pinFlags = []pinType{{"uts", unix.CLONE_NEWUTS}, {"ipc", unix.CLONE_NEWIPC}}

// PinNamespaces makes a new namespace of each of types ("uts", "ipc") and
// holds it. None for no type.
func PinNamespaces(types []string) (*Pins, error) {
	p := &Pins{files: map[string]*os.File{}}
	flags := 0
	for _, t := range types {
		i := slices.IndexFunc(pinFlags, func(f pinType) bool { return f.typ == t })
		if i < 0 {
			return nil, fmt.Errorf("pin namespaces: %q is not one of uts, ipc", t)
		}
		flags |= pinFlags[i].flag
	}
	if flags == 0 {
		return p, nil
	}
	// A thread of its own makes them: the shim's other threads stay in the
	// host's namespaces.
	err := onThrowawayThread(func() error {
		if err := unix.Unshare(flags); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		for _, f := range pinFlags {
			if flags&f.flag == 0 {
				continue
			}
			ns, err := os.Open("/proc/thread-self/ns/" + f.typ)
			if err != nil {
				return err
			}
			p.files[f.typ] = ns
		}
		return nil
	})
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("pin namespaces %v: %w", types, err)
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
	for _, f := range pinFlags {
		if p.files[f.typ] != nil {
			out = append(out, f.typ)
		}
	}
	return out
}

// Path is where another process opens the pinned namespace of type typ
// (the shim's descriptor of it), "" when it is not pinned.
func (p *Pins) Path(typ string) string {
	if p == nil {
		return ""
	}
	f := p.files[typ]
	if f == nil {
		return ""
	}
	return "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(int(f.Fd()))
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

// JoinPins points c at the pinned namespaces of p, which the holder then
// joins instead of making its own. A holder in a user namespace of its
// own, or one that makes no namespace of a pinned type, cannot use them:
// the containers would join namespaces it is not in.
func (c *Config) JoinPins(p *Pins) error {
	cfg := c
	if len(p.Types()) == 0 {
		return nil
	}
	wants := map[string]bool{"uts": cfg.NewUTS, "ipc": cfg.NewIPC}
	for _, t := range p.Types() {
		switch {
		case cfg.NewUser:
			return fmt.Errorf("holder %q: namespace %q is pinned in the shim's user namespace, but the holder makes its own", cfg.ID, t)
		case !wants[t]:
			return fmt.Errorf("holder %q: namespace %q is pinned, but the holder has none of its own", cfg.ID, t)
		}
	}
	cfg.UTSPath, cfg.IPCPath = p.Path("uts"), p.Path("ipc")
	return nil
}
