// Package network gives each pod sandbox its network: it pins a fresh
// network namespace under <run-root>/netns, attaches it with CNI, and tears
// both down again idempotently. Subpackages do the parts: netns (pins), cni
// (libcni) and podfiles (hostname, hosts, resolv.conf).
package network
