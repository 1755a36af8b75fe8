package manifest

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateProbesAndHooks applies R33 (regular init containers take no probes
// and no hooks; sidecars take all) and R44 to every probe and hook.
func validateProbesAndHooks(c *corev1.Container, p *field.Path, regularInit bool) field.ErrorList {
	var errs field.ErrorList
	probes := []struct {
		name  string
		probe *corev1.Probe
	}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}}
	for _, pr := range probes {
		if pr.probe == nil {
			continue
		}
		pp := p.Child(pr.name)
		if regularInit {
			errs = append(errs, field.Forbidden(pp, "may not be set for init containers without restartPolicy=Always"))
			continue
		}
		errs = append(errs, validateProbe(c, pr.probe, pp, pr.name != "readinessProbe")...)
	}
	if c.Lifecycle == nil {
		return errs
	}
	lp := p.Child("lifecycle")
	if regularInit && (c.Lifecycle.PostStart != nil || c.Lifecycle.PreStop != nil) {
		return append(errs, field.Forbidden(lp, "may not be set for init containers without restartPolicy=Always"))
	}
	if h := c.Lifecycle.PostStart; h != nil {
		errs = append(errs, validateLifecycleHandler(c, h, lp.Child("postStart"))...)
	}
	if h := c.Lifecycle.PreStop; h != nil {
		errs = append(errs, validateLifecycleHandler(c, h, lp.Child("preStop"))...)
	}
	if s := c.Lifecycle.StopSignal; s != nil && !stopSignals[*s] {
		errs = append(errs, field.Invalid(lp.Child("stopSignal"), *s, "must be a Linux signal name such as SIGTERM"))
	}
	return errs
}

// validateProbe checks R44's limits. killing is true for liveness and
// startup probes, whose successThreshold must be 1 and which may carry their
// own terminationGracePeriodSeconds.
func validateProbe(c *corev1.Container, pr *corev1.Probe, p *field.Path, killing bool) field.ErrorList {
	var errs field.ErrorList
	min := func(name string, v, lo int32) {
		if v < lo {
			errs = append(errs, field.Invalid(p.Child(name), v, "must be greater than or equal to "+itoa(lo)))
		}
	}
	min("initialDelaySeconds", pr.InitialDelaySeconds, 0)
	min("timeoutSeconds", pr.TimeoutSeconds, 1)
	min("periodSeconds", pr.PeriodSeconds, 1)
	min("successThreshold", pr.SuccessThreshold, 1)
	min("failureThreshold", pr.FailureThreshold, 1)
	if killing && pr.SuccessThreshold > 1 {
		errs = append(errs, field.Invalid(p.Child("successThreshold"), pr.SuccessThreshold, "must be 1"))
	}
	if g := pr.TerminationGracePeriodSeconds; g != nil {
		switch {
		case !killing:
			errs = append(errs, field.Forbidden(p.Child("terminationGracePeriodSeconds"), "may not be set for readiness probes"))
		case *g < 1:
			errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), *g, "must be greater than 0"))
		}
	}
	h := pr.ProbeHandler
	return append(errs, oneHandler(c, p, handlers{exec: h.Exec, httpGet: h.HTTPGet, tcpSocket: h.TCPSocket, grpc: h.GRPC})...)
}

func validateLifecycleHandler(c *corev1.Container, h *corev1.LifecycleHandler, p *field.Path) field.ErrorList {
	errs := oneHandler(c, p, handlers{exec: h.Exec, httpGet: h.HTTPGet, tcpSocket: h.TCPSocket, sleep: h.Sleep})
	if h.Sleep != nil && h.Sleep.Seconds < 0 {
		errs = append(errs, field.Invalid(p.Child("sleep", "seconds"), h.Sleep.Seconds, "must be greater than or equal to 0"))
	}
	return errs
}

// handlers are the actions of a probe or a hook; exactly one must be set.
type handlers struct {
	exec      *corev1.ExecAction
	httpGet   *corev1.HTTPGetAction
	tcpSocket *corev1.TCPSocketAction
	grpc      *corev1.GRPCAction
	sleep     *corev1.SleepAction
}

func oneHandler(c *corev1.Container, p *field.Path, h handlers) field.ErrorList {
	var errs field.ErrorList
	n := 0
	more := func(name string) {
		n++
		if n > 1 {
			errs = append(errs, field.Forbidden(p.Child(name), "may not specify more than 1 handler type"))
		}
	}
	if h.exec != nil {
		more("exec")
		if len(h.exec.Command) == 0 {
			errs = append(errs, field.Required(p.Child("exec", "command"), ""))
		}
	}
	if h.httpGet != nil {
		more("httpGet")
		errs = append(errs, validateHTTPGet(c, h.httpGet, p.Child("httpGet"))...)
	}
	if h.tcpSocket != nil {
		more("tcpSocket")
		errs = append(errs, validatePortRef(c, h.tcpSocket.Port, p.Child("tcpSocket", "port"))...)
	}
	if h.grpc != nil {
		more("grpc")
		errs = append(errs, msgs(p.Child("grpc", "port"), h.grpc.Port, validation.IsValidPortNum(int(h.grpc.Port)))...)
		// podd's gRPC check dials in plaintext only.
		if m := h.grpc.Mode; m != nil && *m != corev1.GRPCProbeModePlaintext {
			errs = append(errs, field.NotSupported(p.Child("grpc", "mode"), *m, []corev1.GRPCProbeMode{corev1.GRPCProbeModePlaintext}))
		}
	}
	if h.sleep != nil {
		more("sleep")
	}
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a handler type"))
	}
	return errs
}

func validateHTTPGet(c *corev1.Container, h *corev1.HTTPGetAction, p *field.Path) field.ErrorList {
	errs := validatePortRef(c, h.Port, p.Child("port"))
	if h.Scheme != corev1.URISchemeHTTP && h.Scheme != corev1.URISchemeHTTPS {
		errs = append(errs, field.NotSupported(p.Child("scheme"), h.Scheme, []corev1.URIScheme{corev1.URISchemeHTTP, corev1.URISchemeHTTPS}))
	}
	if !strings.HasPrefix(h.Path, "/") {
		errs = append(errs, field.Invalid(p.Child("path"), h.Path, "must start with /"))
	}
	// podd's HTTP check speaks HTTP/1.1 only (no h2c).
	if h.Protocol != nil && *h.Protocol != corev1.HTTPProtocolHTTP1 {
		errs = append(errs, field.NotSupported(p.Child("protocol"), *h.Protocol, []corev1.HTTPProtocol{corev1.HTTPProtocolHTTP1}))
	}
	for i, hdr := range h.HTTPHeaders {
		errs = append(errs, msgs(p.Child("httpHeaders").Index(i).Child("name"), hdr.Name, validation.IsHTTPHeaderName(hdr.Name))...)
	}
	return errs
}

// validatePortRef accepts a port number or the name of one of the
// container's ports (an unknown name would fail every probe).
func validatePortRef(c *corev1.Container, port intstr.IntOrString, p *field.Path) field.ErrorList {
	if intOrStringZero(port) {
		return field.ErrorList{field.Required(p, "")}
	}
	if port.Type == intstr.Int {
		return msgs(p, port.IntVal, validation.IsValidPortNum(int(port.IntVal)))
	}
	if errs := msgs(p, port.StrVal, validation.IsValidPortName(port.StrVal)); len(errs) > 0 {
		return errs
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return nil
		}
	}
	return field.ErrorList{field.Invalid(p, port.StrVal, "must name one of the container's ports")}
}

// intOrStringZero reports whether a port reference is unset.
func intOrStringZero(v intstr.IntOrString) bool {
	return v.Type == intstr.Int && v.IntVal == 0 || v.Type == intstr.String && v.StrVal == ""
}

func itoa(v int32) string { return strconv.Itoa(int(v)) }

// stopSignals are the names lifecycle.stopSignal accepts.
var stopSignals = func() map[corev1.Signal]bool {
	m := map[corev1.Signal]bool{}
	for _, s := range []string{"ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
		"KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP",
		"TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX"} {
		m[corev1.Signal("SIG"+s)] = true
	}
	for i := 1; i <= 15; i++ {
		m[corev1.Signal("SIGRTMIN+"+itoa(int32(i)))] = true
		m[corev1.Signal("SIGRTMAX-"+itoa(int32(i)))] = true
	}
	return m
}()
