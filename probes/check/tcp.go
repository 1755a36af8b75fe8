package check

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"
)

// TCPSocket opens a TCP connection to host:port and closes it. A connection
// made within timeout is Success; a refused or timed-out dial is Failure with
// the dial error as output. A timeout of zero or less means no limit beyond ctx.
func TCPSocket(ctx context.Context, host string, port int, timeout time.Duration) (Result, string, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	dialCtx, cancel := withOptionalTimeout(ctx, timeout)
	defer cancel()
	conn, err := dialer().DialContext(dialCtx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return Unknown, "", fmt.Errorf("tcp check %s: %w", addr, ctx.Err())
		}
		return Failure, err.Error(), nil
	}
	_ = conn.Close()
	return Success, "", nil
}
