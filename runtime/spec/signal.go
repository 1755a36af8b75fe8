package spec

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// Real-time signal numbers as the C library numbers them (glibc keeps two).
const (
	sigRTMin = 34
	sigRTMax = 64
)

// StopSignal parses an image STOPSIGNAL: a name with or without the SIG
// prefix in any case (`SIGQUIT`, `quit`), `SIGRTMIN+n`/`SIGRTMAX-n`, or a
// number. Empty means SIGTERM (R50).
func StopSignal(imageStopSignal string) (syscall.Signal, error) {
	s := strings.TrimSpace(imageStopSignal)
	if s == "" {
		return syscall.SIGTERM, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > sigRTMax {
			return 0, fmt.Errorf("stop signal %d is out of range", n)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig, ok := realtime(name); ok {
		return sig, nil
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown stop signal %q", imageStopSignal)
}

func realtime(name string) (syscall.Signal, bool) {
	for _, base := range []struct {
		prefix string
		num    int
		sign   string
	}{{"SIGRTMIN", sigRTMin, "+"}, {"SIGRTMAX", sigRTMax, "-"}} {
		rest, ok := strings.CutPrefix(name, base.prefix)
		if !ok {
			continue
		}
		if rest == "" {
			return syscall.Signal(base.num), true
		}
		off, err := strconv.Atoi(strings.TrimPrefix(rest, base.sign))
		if err != nil || !strings.HasPrefix(rest, base.sign) || off < 0 || off > sigRTMax-sigRTMin {
			return 0, false
		}
		if base.sign == "-" {
			off = -off
		}
		return syscall.Signal(base.num + off), true
	}
	return 0, false
}

// ContainerStopSignal is the signal that stops a container:
// lifecycle.stopSignal when set, else the image's STOPSIGNAL, else SIGTERM.
func ContainerStopSignal(c *corev1.Container, imageStopSignal string) (syscall.Signal, error) {
	if c.Lifecycle != nil && c.Lifecycle.StopSignal != nil {
		return StopSignal(string(*c.Lifecycle.StopSignal))
	}
	return StopSignal(imageStopSignal)
}
