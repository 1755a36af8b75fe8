// Package services decides what the Services of one node are: their
// cluster IPs and node ports (Allocate), their endpoints (Endpoints), the
// ports the proxier serves (ProxyPorts), and it keeps the table other
// consumers read (Registry: the cluster DNS). All of it is pure but the
// Registry's lock.
package services
