// Package systemd holds podd's systemd units (podd.service, podd.socket);
// its tests check the units with systemd-analyze and against podd's rules.
package systemd
