package sdnotify

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
)

// Ready tells systemd that podd finished starting (pods reconciled, API
// serving); a non-empty status is sent with it as the unit's status line.
func Ready(status string) {
	msg := daemon.SdNotifyReady
	if status != "" {
		msg += "\nSTATUS=" + status
	}
	send(msg)
}

// Stopping tells systemd that podd began shutting down.
func Stopping() {
	send(daemon.SdNotifyStopping)
}

// Status sets the one-line status systemctl shows for the unit.
func Status(status string) {
	send("STATUS=" + status)
}

// Watchdog pings systemd's watchdog every WatchdogSec/2 as long as healthy
// reports true, so that a hung daemon gets restarted; it returns when ctx is
// done, or at once when the watchdog is not enabled for this process.
func Watchdog(ctx context.Context, healthy func() bool) {
	timeout, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		slog.Warn("systemd watchdog disabled", "err", err)
		return
	}
	if timeout <= 0 {
		return
	}
	tick := time.NewTicker(timeout / 2)
	defer tick.Stop()
	wasHealthy := true
	for {
		ok := healthy()
		switch {
		case ok:
			send(daemon.SdNotifyWatchdog)
		case wasHealthy:
			// Logged once per unhealthy spell: systemd will restart us if it lasts.
			slog.Warn("health check failed: not pinging the systemd watchdog", "timeout", timeout)
		}
		wasHealthy = ok
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Listeners returns the stream sockets systemd passed to podd through socket
// activation (podd.socket), or none when podd was not socket-activated. It
// clears LISTEN_* so that children do not see them.
func Listeners() ([]net.Listener, error) {
	all, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("read systemd socket activation: %w", err)
	}
	out := make([]net.Listener, 0, len(all))
	for i, l := range all {
		if l == nil {
			for _, o := range out {
				o.Close()
			}
			return nil, fmt.Errorf("systemd passed fd %d that is not a stream socket listener", 3+i)
		}
		out = append(out, l)
	}
	return out, nil
}

// send writes one notification; a failure cannot be acted upon, so it is
// logged and dropped (systemd itself notices a missing READY or WATCHDOG).
func send(msg string) {
	if _, err := daemon.SdNotify(false, msg); err != nil {
		slog.Warn("notify systemd", "msg", msg, "err", err)
	}
}
