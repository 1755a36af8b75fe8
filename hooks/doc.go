// Package hooks runs a container's postStart and preStop lifecycle handlers
// (exec, httpGet, sleep; tcpSocket is accepted and does nothing) within a
// deadline, and says which handler failed and why (R50–R53).
package hooks
