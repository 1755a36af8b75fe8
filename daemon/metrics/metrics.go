// Package metrics keeps the daemon's Prometheus metrics (kubelet-like names
// under the podd_ prefix) and serves them on the optional metrics listener.
// The packages it measures declare small recorder interfaces; only the
// daemon wires this package in, so nothing below it links Prometheus.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "podd"

// Counts are the figures read at each scrape.
type Counts struct {
	RunningPods, RunningContainers, Shims int
}

// Metrics holds the daemon's collectors. The zero value is not usable;
// New makes one. A nil *Metrics records nothing.
type Metrics struct {
	reg *prometheus.Registry

	startPhase     *prometheus.HistogramVec
	restarts       prometheus.Counter
	probeResults   *prometheus.CounterVec
	probeDuration  *prometheus.HistogramVec
	pullDuration   *prometheus.HistogramVec
	pullBytes      prometheus.Counter
	requestLatency *prometheus.HistogramVec
}

// startBuckets span a fast local step (1 ms) to a slow pull-less start
// under load (about 1 min).
var startBuckets = prometheus.ExponentialBuckets(0.001, 2, 17)

// New registers the daemon's metrics; counts is called at each scrape for
// the gauges (running pods and containers, shims).
func New(counts func() Counts) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		startPhase: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "pod_start_duration_seconds",
			Help: "Duration of each phase of a start by kind: pod (validation and persist at apply; total: accepted until every app container runs), " +
				"sandbox and container (each step; total: the whole start).",
			Buckets: startBuckets,
		}, []string{"kind", "phase"}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "container_restarts_total",
			Help: "Container instances started to replace an earlier instance of the same container.",
		}),
		probeResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "prober", Name: "probe_total",
			Help: "Probe runs by probe type (liveness, readiness, startup) and result (successful, failed, unknown).",
		}, []string{"probe_type", "result"}),
		probeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "prober", Name: "probe_duration_seconds",
			Help:    "Duration of probe runs by probe type.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"probe_type"}),
		pullDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "image_pull_duration_seconds",
			Help:    "Duration of image pulls by outcome (success, error).",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 13),
		}, []string{"outcome"}),
		pullBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "image_pull_bytes_total",
			Help: "Compressed bytes of the images pulled successfully.",
		}),
		requestLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "api", Name: "request_duration_seconds",
			Help:    "Latency of the podd API's calls by method and gRPC code (streams: until they end).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"method", "code"}),
	}
	m.reg.MustRegister(m.startPhase, m.restarts, m.probeResults, m.probeDuration,
		m.pullDuration, m.pullBytes, m.requestLatency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		gauge("running_pods", "Pods whose sandbox runs.", counts, func(c Counts) int { return c.RunningPods }),
		gauge("running_containers", "Containers that run.", counts, func(c Counts) int { return c.RunningContainers }),
		gauge("shims", "Pod shims the daemon is connected to.", counts, func(c Counts) int { return c.Shims }),
	)
	return m
}

func gauge(name, help string, counts func() Counts, pick func(Counts) int) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help},
		func() float64 {
			if counts == nil {
				return 0
			}
			return float64(pick(counts()))
		})
}

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// StartPhase records how long one phase of a sandbox or container start
// took (podworker's Recorder).
func (m *Metrics) StartPhase(kind, phase string, took time.Duration) {
	if m == nil {
		return
	}
	m.startPhase.WithLabelValues(kind, phase).Observe(took.Seconds())
}

// ContainerRestarted counts a container instance that replaced an earlier
// one (podworker's Recorder).
func (m *Metrics) ContainerRestarted() {
	if m == nil {
		return
	}
	m.restarts.Inc()
}

// ProbeRan records one probe run (probes' Recorder).
func (m *Metrics) ProbeRan(probeType, result string, took time.Duration) {
	if m == nil {
		return
	}
	m.probeResults.WithLabelValues(probeType, result).Inc()
	m.probeDuration.WithLabelValues(probeType).Observe(took.Seconds())
}

// ImagePulled records one pull: its duration, and its size when it
// succeeded.
func (m *Metrics) ImagePulled(bytes int64, took time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := "success"
	if err != nil {
		outcome = "error"
	} else if bytes > 0 {
		m.pullBytes.Add(float64(bytes))
	}
	m.pullDuration.WithLabelValues(outcome).Observe(took.Seconds())
}
