package hooks

import (
	"context"
	"time"
)

// tcpSocketHandler is accepted for compatibility and does nothing (R53), as
// the kubelet has never run tcpSocket lifecycle handlers.
type tcpSocketHandler struct{}

func (tcpSocketHandler) String() string { return "tcpSocket" }

func (tcpSocketHandler) run(context.Context, Target, time.Duration) (string, error) { return "", nil }
