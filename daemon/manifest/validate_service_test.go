package manifest

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestServiceDefaults(t *testing.T) {
	docs, _, err := ParseObjects([]byte(`apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  ports: [{port: 80}]
`), "s.yaml", Policy{})
	if err != nil {
		t.Fatal(err)
	}
	s := docs[0].Object.(*corev1.Service)
	p := s.Spec.Ports[0]
	if s.Namespace != "default" || s.Spec.Type != corev1.ServiceTypeClusterIP || p.Protocol != corev1.ProtocolTCP || p.TargetPort != intstr.FromInt32(80) {
		t.Errorf("defaults: %+v", s.Spec)
	}
	if c := s.Spec.SessionAffinityConfig; c == nil || *c.ClientIP.TimeoutSeconds != corev1.DefaultClientIPServiceAffinitySeconds {
		t.Errorf("affinity config %+v, want the API server's default timeout", c)
	}
}

func TestServiceValidationNamesTheField(t *testing.T) {
	head := "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"
	for _, tc := range []struct{ name, spec, want string }{
		{"name is a DNS-1035 label", "", ``},
		{"type", "  type: LoadBalancer\n  ports: [{port: 80}]\n", `spec.type: Unsupported value: "LoadBalancer"`},
		{"ports required", "  selector: {app: web}\n", `spec.ports: Required value`},
		{"port range", "  ports: [{port: 70000}]\n", `spec.ports[0].port: Invalid value: 70000`},
		{"protocol", "  ports: [{port: 80, protocol: SCTP}]\n", `spec.ports[0].protocol: Unsupported value: "SCTP"`},
		{"names with several ports", "  ports: [{port: 80}, {port: 81}]\n", `spec.ports[0].name: Required value`},
		{"named targetPort", "  ports: [{port: 80, targetPort: not_a_name}]\n", `spec.ports[0].targetPort: Invalid value: "not_a_name"`},
		{"nodePort needs NodePort", "  ports: [{port: 80, nodePort: 30080}]\n", `spec.ports[0].nodePort: Forbidden: may not be used when ` + "`type`" + ` is 'ClusterIP'`},
		{"nodePort range", "  type: NodePort\n  ports: [{port: 80, nodePort: 8080}]\n", `spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767`},
		{"headless NodePort", "  type: NodePort\n  clusterIP: None\n  ports: [{port: 80}]\n", `spec.clusterIP: Invalid value: "None": may not be set to 'None' for NodePort services`},
		{"clusterIP format", "  clusterIP: 10.96.0.300\n  ports: [{port: 80}]\n", `spec.clusterIP: Invalid value: "10.96.0.300"`},
		{"affinity", "  sessionAffinity: Cookie\n  ports: [{port: 80}]\n", `spec.sessionAffinity: Unsupported value: "Cookie"`},
		{"affinity timeout", "  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}\n  ports: [{port: 80}]\n",
			`spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0`},
		{"externalIPs are not routed", "  externalIPs: [1.2.3.4]\n  ports: [{port: 80}]\n", `spec.externalIPs: Forbidden`},
		{"Local traffic policy is not served", "  type: NodePort\n  externalTrafficPolicy: Local\n  ports: [{port: 80}]\n", `spec.externalTrafficPolicy: Forbidden`},
		{"IPv6", "  ipFamilies: [IPv6]\n  ports: [{port: 80}]\n", `spec.ipFamilies[0]: Unsupported value: "IPv6"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := head + tc.spec
			if tc.want == "" {
				m = strings.Replace(head, "name: web", "name: web.v1", 1) + "  ports: [{port: 80}]\n"
				tc.want = `metadata.name: Invalid value: "web.v1"`
			}
			_, _, err := ParseObjects([]byte(m), "s.yaml", Policy{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %s", err, tc.want)
			}
		})
	}
}

func TestHeadlessServiceWithoutPortsIsValid(t *testing.T) {
	if _, _, err := ParseObjects([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {clusterIP: None, selector: {app: db}}\n"), "s.yaml", Policy{}); err != nil {
		t.Fatal(err)
	}
}
