package metrics

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	return fams
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestMetricsExposition(t *testing.T) {
	m := New(func() Counts { return Counts{RunningPods: 3, RunningContainers: 5, Shims: 3} })
	m.StartPhase("sandbox", "cni_add", 120*time.Millisecond)
	m.StartPhase("sandbox", "total", 400*time.Millisecond)
	m.ContainerRestarted()
	m.ProbeRan("liveness", "failed", 3*time.Millisecond)
	m.ImagePulled(1<<20, 2*time.Second, nil)
	m.ImagePulled(0, time.Second, errors.New("unreachable"))
	m.request("/podd.v1.PodService/GetPod", nil, time.Millisecond)
	fams := scrape(t, m)

	for name, want := range map[string]float64{"podd_running_pods": 3, "podd_running_containers": 5, "podd_shims": 3} {
		f := fams[name]
		if f == nil || f.GetType() != dto.MetricType_GAUGE || f.GetMetric()[0].GetGauge().GetValue() != want {
			t.Errorf("%s = %v, want gauge %v", name, f, want)
		}
	}
	start := fams["podd_pod_start_duration_seconds"]
	if start == nil || start.GetType() != dto.MetricType_HISTOGRAM || len(start.GetMetric()) != 2 {
		t.Fatalf("podd_pod_start_duration_seconds = %v, want a histogram per phase", start)
	}
	for _, s := range start.GetMetric() {
		if label(s, "kind") != "sandbox" || s.GetHistogram().GetSampleCount() != 1 {
			t.Errorf("start sample %v", s)
		}
	}
	if v := fams["podd_container_restarts_total"].GetMetric()[0].GetCounter().GetValue(); v != 1 {
		t.Errorf("restarts %v, want 1", v)
	}
	probe := fams["podd_prober_probe_total"].GetMetric()[0]
	if label(probe, "probe_type") != "liveness" || label(probe, "result") != "failed" || probe.GetCounter().GetValue() != 1 {
		t.Errorf("probe total %v", probe)
	}
	if fams["podd_prober_probe_duration_seconds"] == nil {
		t.Error("no probe duration histogram")
	}
	if v := fams["podd_image_pull_bytes_total"].GetMetric()[0].GetCounter().GetValue(); v != 1<<20 {
		t.Errorf("pull bytes %v, want the successful pull's", v)
	}
	if n := len(fams["podd_image_pull_duration_seconds"].GetMetric()); n != 2 {
		t.Errorf("pull durations by outcome: %d series, want 2", n)
	}
	api := fams["podd_api_request_duration_seconds"].GetMetric()[0]
	if label(api, "method") != "/podd.v1.PodService/GetPod" || label(api, "code") != "OK" {
		t.Errorf("api latency %v", api)
	}
}

// A nil *Metrics (no metrics wired) records nothing and does not panic.
func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.StartPhase("sandbox", "total", time.Second)
	m.ContainerRestarted()
	m.ProbeRan("readiness", "successful", time.Millisecond)
	m.ImagePulled(1, time.Second, nil)
	m.request("/x", nil, time.Millisecond)
}
