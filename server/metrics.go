package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, on a registry of their own
// (so that several servers in one test binary do not collide).
type metrics struct {
	reg      *prometheus.Registry
	issued   prometheus.Counter
	verified *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		issued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zhengzhao_licenses_issued_total", Help: "Licenses issued through the API, the console and batch import.",
		}),
		verified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zhengzhao_verifications_total", Help: "Online verifications by verdict.",
		}, []string{"verdict"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "zhengzhao_http_request_duration_seconds", Help: "HTTP request latency by route pattern, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route", "method", "status"}),
	}
	m.reg.MustRegister(m.issued, m.verified, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// MetricsHandler answers the Prometheus metrics, with no access check: mount
// it only on a listen address of its own (ServeMetrics).
func (s *Server) MetricsHandler() http.Handler { return s.metrics.handler() }

// metricsWithToken answers /metrics on the main handler to a request that
// bears Config.MetricsToken; anyone else gets the JSON 401.
func (s *Server) metricsWithToken(c *echo.Context) error {
	got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
	want := sha256.Sum256([]byte(s.metricsToken))
	have := sha256.Sum256([]byte(strings.TrimSpace(got)))
	if !ok || subtle.ConstantTimeCompare(want[:], have[:]) != 1 {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		return &apiError{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "需要监控指标令牌"}
	}
	s.metrics.handler().ServeHTTP(c.Response(), c.Request())
	return nil
}

// observe times every request and logs it. The log line carries the route
// pattern (never the URL with its query, which may hold a holder code), the
// method, the status and the duration: no personal data.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		err := next(c)
		status := http.StatusOK
		if err != nil {
			status = s.toAPIError(err).Status
		} else if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Status != 0 {
			status = r.Status
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		s.metrics.latency.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Observe(d.Seconds())
		switch {
		case strings.HasPrefix(route, "/assets/") || route == "/metrics":
		case status < 400 && (route == "/api/v1/bundle" || strings.HasPrefix(route, "/status/")):
			// Public, cacheable and polled by every office: a line each at
			// INFO would cost more than serving them from memory.
			s.log.Debug("http", "method", c.Request().Method, "route", route, "status", status, "ms", float64(d.Microseconds())/1000)
		default:
			s.log.Info("http", "method", c.Request().Method, "route", route, "status", status, "ms", float64(d.Microseconds())/1000)
		}
		return err
	}
}
