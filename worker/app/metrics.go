package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/catalog"
)

// Metrics is the worker's Prometheus pipeline: the Temporal SDK's metrics
// (go.temporal.io/sdk/contrib/opentelemetry) and Topoflow's own, exported by
// OpenTelemetry's Prometheus exporter into a private registry, together with
// the Go runtime and process collectors.
type Metrics struct {
	// Handler is given to the Temporal client; activities reach it through
	// activity.GetMetricsHandler and workflows through workflow.GetMetricsHandler.
	Handler client.MetricsHandler
	// Registry is the Prometheus registry served on /metrics.
	Registry *prometheus.Registry
	provider *sdkmetric.MeterProvider
}

// NewMetrics builds the metrics pipeline.
func NewMetrics() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("create prometheus exporter: %w", err)
	}
	// Durations are recorded in seconds: use Prometheus-style buckets from
	// 5ms (one API call) to 1h (a long cloud wait), not OTel's millisecond defaults.
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(sdkmetric.NewView(
		sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: DurationBuckets}},
	)))
	h := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                mp.Meter("topoflow-worker"),
		UseMonotonicCounters: true,
		// A metric error must never crash the worker (the default panics).
		OnError: func(error) {},
	})
	return &Metrics{Handler: h, Registry: reg, provider: mp}, nil
}

// DurationBuckets are the histogram bucket bounds, in seconds.
var DurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}

// HTTPHandler serves the registry in the Prometheus text format.
func (m *Metrics) HTTPHandler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Shutdown flushes and stops the meter provider.
func (m *Metrics) Shutdown(ctx context.Context) error { return m.provider.Shutdown(ctx) }

// Names of Topoflow's own metrics (Prometheus adds _total / _seconds suffixes).
const (
	// MetricActionCalls counts action attempts by action, provider, outcome
	// (ok or error) and error type (a plan.Err* constant, or "other").
	MetricActionCalls = "topoflow_action_calls"
	// MetricActionLatency is the duration of action attempts by action, provider and outcome.
	MetricActionLatency = "topoflow_action_latency"
	// MetricActionsMissing is the number of catalog actions without an implementation.
	MetricActionsMissing = "topoflow_catalog_actions_missing"
)

// actionMetrics is an activity interceptor that records Topoflow's action
// metrics around every activity attempt.
type actionMetrics struct {
	interceptor.WorkerInterceptorBase
}

func (*actionMetrics) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &actionMetricsInbound{}
	i.Next = next
	return i
}

type actionMetricsInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (i *actionMetricsInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	start := time.Now()
	res, err := i.Next.ExecuteActivity(ctx, in)
	action := activity.GetInfo(ctx).ActivityType.Name
	outcome, errType := "ok", ""
	if err != nil {
		outcome, errType = "error", errorType(err)
	}
	h := activity.GetMetricsHandler(ctx).WithTags(map[string]string{
		"action": action, "provider": providerOf(action), "outcome": outcome,
	})
	h.Timer(MetricActionLatency).Record(time.Since(start))
	h.WithTags(map[string]string{"error_type": errType}).Counter(MetricActionCalls).Inc(1)
	return res, err
}

// providerOf returns the catalog provider of an action, or the action's
// first dotted segment when it is not in the catalog.
func providerOf(action string) string {
	if a, ok := catalog.Lookup(action); ok && a.Provider != "" {
		return a.Provider
	}
	p, _, _ := strings.Cut(action, ".")
	return p
}

// errorType returns the Temporal application error type of err, "canceled",
// "timeout" or "other".
func errorType(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() != "" {
		return app.Type()
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "other"
}
