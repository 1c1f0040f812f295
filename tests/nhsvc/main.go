// A small service exposing native histograms with Debian's client_golang (1.14), for the
// native-histogram interop tests: promterm and Prometheus scrape it over protobuf.
//
// Usage: nhsvc ADDR. Metrics at /metrics. Observations are driven over HTTP so a test
// controls exactly what each scrape sees:
//   GET /observe?name=NAME&v=V[&v=V...]   observe values (NAME: one of the histograms below)
//   GET /reset?name=NAME                  replace NAME with a fresh histogram (a counter reset)
//
// Histograms:
//   rpc_latency_seconds     native (factor 1.1, zero threshold 0.001) and classic (mixed)
//   native_only_seconds     native only (factor 1.5, at most 8 buckets: the schema drops as
//                           the observed range widens, a schema change)
//   classic_only_seconds    classic only
//   request_size_bytes{route} native only, a vector
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var (
	mu  sync.Mutex
	reg = prometheus.NewRegistry()
	hs  = map[string]prometheus.Histogram{}
	vec *prometheus.HistogramVec
)

func makeOpts(name string) prometheus.HistogramOpts {
	switch name {
	case "rpc_latency_seconds":
		return prometheus.HistogramOpts{Name: name, Help: "RPC latency, native and classic.",
			Buckets: []float64{0.1, 1, 10}, NativeHistogramBucketFactor: 1.1,
			NativeHistogramZeroThreshold: 0.001}
	case "native_only_seconds":
		return prometheus.HistogramOpts{Name: name, Help: "Native only, bucket-limited.",
			NativeHistogramBucketFactor: 1.5, NativeHistogramMaxBucketNumber: 8}
	default:
		return prometheus.HistogramOpts{Name: name, Help: "Classic only.",
			Buckets: []float64{0.25, 0.5, 1, 2.5}}
	}
}

func register(name string) {
	if old, ok := hs[name]; ok {
		reg.Unregister(old)
	}
	h := prometheus.NewHistogram(makeOpts(name))
	reg.MustRegister(h)
	hs[name] = h
}

func main() {
	for _, n := range []string{"rpc_latency_seconds", "native_only_seconds", "classic_only_seconds"} {
		register(n)
	}
	vec = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "request_size_bytes",
		Help: "Request sizes by route.", NativeHistogramBucketFactor: 2}, []string{"route"})
	reg.MustRegister(vec)
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "nhsvc_requests_total", Help: "Requests."})
	reg.MustRegister(c)
	c.Add(3)

	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	http.HandleFunc("/observe", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		name := r.URL.Query().Get("name")
		for _, s := range r.URL.Query()["v"] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				http.Error(w, fmt.Sprintf("bad value %q", s), 400)
				return
			}
			if route := r.URL.Query().Get("route"); route != "" {
				vec.WithLabelValues(route).Observe(v)
			} else if h, ok := hs[name]; ok {
				h.Observe(v)
			} else {
				http.Error(w, fmt.Sprintf("no histogram %q", name), 404)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		name := r.URL.Query().Get("name")
		if _, ok := hs[name]; !ok {
			http.Error(w, fmt.Sprintf("no histogram %q", name), 404)
			return
		}
		register(name)
		fmt.Fprintln(w, "ok")
	})
	if err := http.ListenAndServe(os.Args[1], nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
