// Package proxier turns Services and their ready endpoints into kernel
// rules, as kube-proxy's iptables mode does, in chains that carry one
// daemon's tag so that side-by-side daemons never touch each other's.
package proxier
