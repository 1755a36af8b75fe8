// Package sdnotify tells systemd about podd: readiness, status, stopping and
// a health-gated watchdog over NOTIFY_SOCKET, and hands over listeners that a
// podd.socket unit passed in. Without systemd every call is a no-op.
package sdnotify
