package check

import (
	"net"
	"syscall"
)

// dialer returns a dialer whose sockets linger one second after close instead
// of sitting in TIME-WAIT for a minute: probes open a connection every period
// and would otherwise pile up sockets on busy hosts (kubernetes #89898).
func dialer() *net.Dialer {
	return &net.Dialer{
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER,
					&syscall.Linger{Onoff: 1, Linger: 1})
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
}
