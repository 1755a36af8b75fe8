// Package clusterdns is the node's cluster DNS server: it answers the
// Kubernetes DNS names of Services and pods inside the cluster domain from a
// Catalog, and forwards every other name to the host's resolvers.
package clusterdns
