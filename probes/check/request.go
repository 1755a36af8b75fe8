package check

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// HostFor returns the host a probe or hook connects to when its handler names
// none: the pod IP, or 127.0.0.1 for a hostNetwork pod.
func HostFor(podIP string, hostNetwork bool) string {
	if hostNetwork {
		return "127.0.0.1"
	}
	return podIP
}

// ResolvePort turns a handler's port into a number: an int is taken as is; a
// string is looked up by name in ports, then tried as a number. The result
// must be 1..65535.
func ResolvePort(port intstr.IntOrString, ports []corev1.ContainerPort) (int, error) {
	var n int
	switch port.Type {
	case intstr.Int:
		n = port.IntValue()
	case intstr.String:
		found := false
		for _, p := range ports {
			if p.Name == port.StrVal {
				n, found = int(p.ContainerPort), true
				break
			}
		}
		if !found {
			v, err := strconv.Atoi(port.StrVal)
			if err != nil {
				return 0, fmt.Errorf("port %q: no container port has that name", port.StrVal)
			}
			n = v
		}
	default:
		return 0, fmt.Errorf("port %v: neither number nor name", port)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %s: %d is out of range 1-65535", port.String(), n)
	}
	return n, nil
}

// HTTPGetRequestFor builds the request for a core/v1 httpGet handler. An empty
// host becomes defaultHost (see HostFor); a named port is looked up in ports.
func HTTPGetRequestFor(a *corev1.HTTPGetAction, defaultHost string, ports []corev1.ContainerPort, timeout time.Duration) (HTTPGetRequest, error) {
	port, err := ResolvePort(a.Port, ports)
	if err != nil {
		return HTTPGetRequest{}, fmt.Errorf("httpGet %s: %w", a.Path, err)
	}
	host := a.Host
	if host == "" {
		host = defaultHost
	}
	if host == "" {
		return HTTPGetRequest{}, fmt.Errorf("httpGet %s: no host and no pod IP", a.Path)
	}
	headers := make(http.Header, len(a.HTTPHeaders))
	for _, h := range a.HTTPHeaders {
		headers.Add(h.Name, h.Value)
	}
	return HTTPGetRequest{
		Scheme:  string(a.Scheme),
		Host:    host,
		Port:    port,
		Path:    a.Path,
		Headers: headers,
		Timeout: timeout,
	}, nil
}
