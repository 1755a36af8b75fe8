package libct

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/podd-dev/podd/runtime/shim/createchild"
)

// ErrCannotRun marks a start failure caused by the executable itself: not
// found, not permitted, or not a format the kernel runs.
var ErrCannotRun = errors.New("container cannot run")

// cannotRunError carries the cause as the kubelet shows it.
type cannotRunError struct{ cause string }

func (e *cannotRunError) Error() string        { return e.cause }
func (e *cannotRunError) Is(target error) bool { return target == ErrCannotRun }

// classify turns libcontainer's report of a failed executable lookup (made
// inside the container and sent back as text) into a cannotRunError.
func classify(err error) error {
	cause, ok := createchild.CannotRunCause(err)
	if !ok {
		return err
	}
	return &cannotRunError{cause: cause}
}

// elfMachines are the ELF e_machine values the host runs natively (or
// through its compat mode).
var elfMachines = map[string][]uint16{
	"amd64":   {62, 3},
	"386":     {3},
	"arm64":   {183, 40},
	"arm":     {40},
	"riscv64": {243},
	"ppc64le": {21},
	"s390x":   {22},
}

// checkExecutable catches an executable the kernel would refuse with ENOEXEC,
// which libcontainer only meets after the start has been reported. It looks
// the command up in the rootfs as the container would and reads its header;
// anything it cannot find or read is left for libcontainer to judge (a
// volume may provide it).
func checkExecutable(s *specs.Spec) error {
	path := findExecutable(s)
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	hdr := make([]byte, 20)
	n, _ := io.ReadFull(f, hdr)
	hdr = hdr[:n]
	if runnable(hdr) {
		return nil
	}
	return &cannotRunError{cause: "exec " + s.Process.Args[0] + ": exec format error"}
}

func runnable(hdr []byte) bool {
	if bytes.HasPrefix(hdr, []byte("#!")) {
		return true
	}
	if !bytes.HasPrefix(hdr, []byte("\x7fELF")) || len(hdr) < 20 {
		return false
	}
	machines, known := elfMachines[runtime.GOARCH]
	if !known {
		return true
	}
	var order binary.ByteOrder = binary.LittleEndian
	if hdr[5] == 2 {
		order = binary.BigEndian
	}
	m := order.Uint16(hdr[18:20])
	for _, want := range machines {
		if m == want {
			return true
		}
	}
	return false
}

// findExecutable returns the host path of the container's command in its
// rootfs, resolved like exec.LookPath inside the container, or "".
func findExecutable(s *specs.Spec) string {
	name := s.Process.Args[0]
	var candidates []string
	switch {
	case strings.Contains(name, "/"):
		if !filepath.IsAbs(name) {
			name = filepath.Join(s.Process.Cwd, name)
		}
		candidates = []string{name}
	default:
		for _, e := range s.Process.Env {
			if v, ok := strings.CutPrefix(e, "PATH="); ok {
				for _, dir := range filepath.SplitList(v) {
					if filepath.IsAbs(dir) {
						candidates = append(candidates, filepath.Join(dir, name))
					}
				}
			}
		}
	}
	for _, c := range candidates {
		p, err := securejoin.SecureJoin(s.Root.Path, c)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}
