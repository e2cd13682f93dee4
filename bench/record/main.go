// Command record starts a real Consul agent with consultest, fills it with
// the benchmarks' data set and records its answers into ../testdata (or
// -out) for the replay server:
//
//	cd bench && go run ./record
//
// With -scale it records only the answers at scale (a health service of
// 5,000 instances, a KV listing of 100,000 keys) from an agent filled with
// fixture.PopulateScale, and adds them to the recording already there:
//
//	cd bench && go run ./record -scale
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/goconsul/consul/bench/internal/fixture"
	"github.com/goconsul/consul/bench/internal/replay"
	"github.com/goconsul/consul/consultest"
)

func main() {
	out := flag.String("out", "testdata", "directory to write the recording into")
	scale := flag.Bool("scale", false, "record only the answers at scale, into the existing recording")
	flag.Parse()
	log.SetFlags(0)

	srv, err := consultest.Start(consultest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if *scale {
		recordScale(ctx, srv.HTTPAddr, *out)
		return
	}
	if err := fixture.Populate(ctx, srv.HTTPAddr); err != nil {
		log.Fatal(err)
	}
	// Let the catalog settle, so the recorded indexes are the final ones.
	time.Sleep(time.Second)

	r := &recorder{base: "http://" + srv.HTTPAddr, bodies: map[*replay.Variant][]byte{}}
	// The transport is told not to compress, so that each variant's body is
	// recorded exactly as the agent sent it.
	r.hc = &http.Client{Transport: &http.Transport{DisableCompression: true}}

	var txn bytes.Buffer
	txn.WriteByte('[')
	for i := 0; i < fixture.TxnOps; i++ {
		if i > 0 {
			txn.WriteByte(',')
		}
		op, _ := json.Marshal(map[string]any{"KV": map[string]any{"Verb": "set", "Key": fixture.TxnKey(i), "Value": fixture.TxnValue(i)}})
		txn.Write(op)
	}
	txn.WriteByte(']')

	rec := &replay.Recording{}
	add := func(rt *replay.Route, body []byte) {
		r.record(ctx, rt, body)
		rec.Routes = append(rec.Routes, rt)
	}
	add(&replay.Route{Name: "kv_get", Method: "GET", Path: "/v1/kv/" + fixture.SmallKey}, nil)
	add(&replay.Route{Name: "kv_put", Method: "PUT", Path: "/v1/kv/" + fixture.SmallKey}, []byte(fixture.SmallValue))
	add(&replay.Route{Name: "kv_list", Method: "GET", Path: "/v1/kv/" + fixture.ListPrefix, Query: "recurse"}, nil)
	add(&replay.Route{Name: "health_service", Method: "GET", Path: "/v1/health/service/" + fixture.Service, Query: "passing"}, nil)
	add(&replay.Route{Name: "catalog_services", Method: "GET", Path: "/v1/catalog/services"}, nil)
	add(&replay.Route{Name: "catalog_service", Method: "GET", Path: "/v1/catalog/service/" + fixture.Service}, nil)
	add(&replay.Route{Name: "catalog_nodes", Method: "GET", Path: "/v1/catalog/nodes"}, nil)
	add(&replay.Route{Name: "health_state", Method: "GET", Path: "/v1/health/state/any"}, nil)
	add(&replay.Route{Name: "txn", Method: "PUT", Path: "/v1/txn"}, txn.Bytes())
	add(&replay.Route{Name: "session_create", Method: "PUT", Path: "/v1/session/create"}, []byte(`{"Name":"`+fixture.SessionName+`"}`))
	// Destroy the sessions just created, by their recorded IDs.
	for _, v := range []*replay.Variant{&rec.Route("session_create").Identity, &rec.Route("session_create").Gzip} {
		var s struct{ ID string }
		if err := json.Unmarshal(r.bodies[v], &s); err != nil {
			log.Fatal(err)
		}
		r.destroy = append(r.destroy, s.ID)
	}
	add(&replay.Route{Name: "session_destroy", Method: "PUT", Path: "/v1/session/destroy/", Prefix: true}, nil)
	add(&replay.Route{Name: "kv_watch_put", Method: "PUT", Path: "/v1/kv/" + fixture.WatchKey, Bump: true}, []byte("1"))
	add(&replay.Route{Name: "kv_watch_get", Method: "GET", Path: "/v1/kv/" + fixture.WatchKey, Watch: true}, nil)

	ver, err := r.version(ctx)
	if err != nil {
		log.Fatal(err)
	}
	rec.Agent = ver
	if err := rec.Save(*out, r.bodies); err != nil {
		log.Fatal(err)
	}
	for _, rt := range rec.Routes {
		log.Printf("%-16s %s %s: %d, %d bytes (%d gzipped)", rt.Name, rt.Method, rt.Path, rt.Identity.Status,
			len(r.bodies[&rt.Identity]), len(r.bodies[&rt.Gzip]))
	}
}

type recorder struct {
	base    string
	hc      *http.Client
	bodies  map[*replay.Variant][]byte
	destroy []string // session IDs for the session_destroy variants
}

// recorded are the headers kept: everything but the hop-by-hop ones and
// those the replay server's own HTTP stack writes.
func recorded(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		switch k {
		case "Date", "Content-Length", "Transfer-Encoding", "Connection":
			continue
		}
		out[k] = v
	}
	return out
}

func (r *recorder) record(ctx context.Context, rt *replay.Route, body []byte) {
	for i, v := range []*replay.Variant{&rt.Identity, &rt.Gzip} {
		path := rt.Path
		if rt.Prefix {
			path += r.destroy[i]
		}
		url := r.base + path
		if rt.Query != "" {
			url += "?" + rt.Query
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, rt.Method, url, rd)
		if err != nil {
			log.Fatal(err)
		}
		ext := ".json"
		if i == 1 {
			req.Header.Set("Accept-Encoding", "gzip")
			ext = ".json.gz"
		}
		resp, err := r.hc.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			log.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			log.Fatalf("%s %s: %s: %s", rt.Method, url, resp.Status, b)
		}
		if i == 1 && resp.Header.Get("Content-Encoding") != "gzip" {
			ext = ".json"
		}
		v.Status = resp.StatusCode
		v.Header = recorded(resp.Header)
		v.BodyFile = fmt.Sprintf("%s%s%s", rt.Name, strings.Repeat(".gzip", i), ext)
		r.bodies[v] = b
	}
}

func (r *recorder) version(ctx context.Context) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", r.base+"/v1/agent/self", nil)
	resp, err := r.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var self struct{ Config struct{ Version string } }
	if err := json.NewDecoder(resp.Body).Decode(&self); err != nil {
		return "", err
	}
	return self.Config.Version, nil
}

// recordScale fills the agent at addr with the data set at scale and adds
// its two answers to the recording in dir, replacing earlier ones.
func recordScale(ctx context.Context, addr, dir string) {
	start := time.Now()
	if err := fixture.PopulateScale(ctx, addr); err != nil {
		log.Fatal(err)
	}
	log.Printf("filled in %v", time.Since(start).Round(time.Second))
	time.Sleep(time.Second)
	rec, err := replay.Load(dir)
	if err != nil {
		log.Fatal(err)
	}
	r := &recorder{base: "http://" + addr, bodies: map[*replay.Variant][]byte{}}
	r.hc = &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, rt := range []*replay.Route{
		{Name: "kv_list_100000", Method: "GET", Path: "/v1/kv/" + fixture.ScalePrefix, Query: "recurse"},
		{Name: "health_service_5000", Method: "GET", Path: "/v1/health/service/" + fixture.ScaleService, Query: "passing"},
	} {
		r.record(ctx, rt, nil)
		kept := rec.Routes[:0]
		for _, old := range rec.Routes {
			if old.Name != rt.Name {
				kept = append(kept, old)
			}
		}
		rec.Routes = append(kept, rt)
		log.Printf("%-20s %s %s: %d, %d bytes (%d gzipped)", rt.Name, rt.Method, rt.Path, rt.Identity.Status,
			len(r.bodies[&rt.Identity]), len(r.bodies[&rt.Gzip]))
	}
	if err := rec.Save(dir, r.bodies); err != nil {
		log.Fatal(err)
	}
}
