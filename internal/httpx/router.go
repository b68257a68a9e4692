package httpx

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HandlerFunc is an API handler: it writes a success itself and returns an
// error for anything else, which the router answers as problem+json.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Router is an http.ServeMux that remembers its API routes (the OpenAPI
// contract test compares them with the spec), instruments every route with
// Prometheus metrics and an access log line, and answers unknown API paths
// with problem+json.
type Router struct {
	mux      *http.ServeMux
	log      *slog.Logger
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	routes   []string
}

// NewRouter registers its metrics with reg.
func NewRouter(log *slog.Logger, reg prometheus.Registerer) *Router {
	rt := &Router{
		mux: http.NewServeMux(),
		log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parley_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
	reg.MustRegister(rt.requests, rt.latency)
	rt.mux.Handle("/api/", rt.instrument("/api/ (unmatched)", http.HandlerFunc(rt.unmatched)))
	return rt
}

// Handle registers an API route, such as "GET /api/v1/me".
func (rt *Router) Handle(pattern string, h HandlerFunc) {
	rt.routes = append(rt.routes, pattern)
	rt.HandleHTTP(pattern, rt.adapt(h))
}

// HandleHTTP registers a plain handler that is not part of the API
// contract (static files, probes, metrics); it is instrumented all the same.
func (rt *Router) HandleHTTP(pattern string, h http.Handler) {
	rt.mux.Handle(pattern, rt.instrument(pattern, h))
}

// Routes lists the API route patterns, sorted.
func (rt *Router) Routes() []string {
	out := slices.Clone(rt.routes)
	slices.Sort(out)
	return out
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.mux.ServeHTTP(w, r) }

// Error answers err as a problem, logging it when it is ours.
func (rt *Router) Error(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(w, r, rt.log, err)
}

func (rt *Router) adapt(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			rt.Error(w, r, err)
		}
	})
}

// unmatched answers an API path no route serves: 405 with Allow when the
// path exists for other methods, else 404.
func (rt *Router) unmatched(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := rt.mux.Handler(probe); pattern != "/api/" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) == 0 {
		rt.Error(w, r, NotFound())
		return
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	rt.Error(w, r, NewProblem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
		r.Method+" is not allowed here; use "+strings.Join(allowed, ", ")))
}

type routeKey struct{}

// instrument names the route of a request for Observe.
func (rt *Router) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if holder, ok := r.Context().Value(routeKey{}).(*string); ok {
			*holder = route
		}
		next.ServeHTTP(w, r)
	})
}

// Observe wraps the whole middleware chain: it counts and times every
// request by route (requests refused before routing, by the rate limit
// say, count as "unrouted") and writes one access log line.
func (rt *Router) Observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := "unrouted"
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
		took := time.Since(start)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		rt.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
		rt.latency.WithLabelValues(route).Observe(took.Seconds())
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		rt.log.Log(r.Context(), level, "http request",
			"method", r.Method, "path", r.URL.Path, "route", route, "status", status,
			"duration_ms", float64(took.Microseconds())/1000, "request_id", RequestID(r.Context()),
			"client", ClientIP(r.Context()).String())
	})
}

// Recover answers a panicking handler with a 500 problem instead of a cut
// connection, and logs the panic with its stack.
func (rt *Router) Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				rt.Error(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status code. Unwrap lets http.ResponseController
// reach the connection underneath (flushing, hijacking for WebSockets).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection over (WebSocket libraries type-assert
// http.Hijacker rather than use http.ResponseController).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}
