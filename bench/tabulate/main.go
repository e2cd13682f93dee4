// Command tabulate turns `go test -bench` output of the bench module into
// the Markdown tables of BENCHMARKS.md: per benchmark group and operation,
// the median ns/op, B/op and allocs/op of each client and the ratios
// ours/official and ours/floor.
//
//	go run ./tabulate new.txt
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Both skip the metrics of their own a benchmark reports between ns/op
// and B/op (MB/s, peak-heap-B...); peak reads peak-heap-B and result-B.
var decodeLine = regexp.MustCompile(`^Benchmark(?:Fast)?Decode/body=(\w+)/decoder=([\w-]+)-\d+\s+\d+\s+([\d.]+) ns/op(?:\s+[\d.e+]+ [\w/-]+)*?\s+([\d.]+) B/op\s+([\d.]+) allocs/op`)

var line = regexp.MustCompile(`^Benchmark(\w+)/op=(\w+)/client=(\w+)-\d+\s+\d+\s+([\d.]+) ns/op(?:\s+[\d.e+]+ [\w/-]+)*?\s+([\d.]+) B/op\s+([\d.]+) allocs/op`)

var (
	peakMetric   = regexp.MustCompile(`([\d.e+]+) peak-heap-B`)
	resultMetric = regexp.MustCompile(`([\d.e+]+) result-B`)
)

type key struct{ group, op, client string }

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tabulate bench-output.txt")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	samples := map[key][3][]float64{}
	var groups []string
	var ops = map[string][]string{}
	dec := map[key][3][]float64{}
	var bodies, decoders []string
	peaks := map[key][2]float64{} // the last peak-heap-B and result-B seen
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var pk [2]float64
		if m := peakMetric.FindStringSubmatch(sc.Text()); m != nil {
			pk[0], _ = strconv.ParseFloat(m[1], 64)
		}
		if m := resultMetric.FindStringSubmatch(sc.Text()); m != nil {
			pk[1], _ = strconv.ParseFloat(m[1], 64)
		}
		if m := decodeLine.FindStringSubmatch(sc.Text()); m != nil {
			k := key{"decode", m[1], m[2]}
			if pk[0] > 0 {
				peaks[k] = pk
			}
			s := dec[k]
			for i := 0; i < 3; i++ {
				v, _ := strconv.ParseFloat(m[3+i], 64)
				s[i] = append(s[i], v)
			}
			dec[k] = s
			if !contains(bodies, m[1]) {
				bodies = append(bodies, m[1])
			}
			if !contains(decoders, m[2]) {
				decoders = append(decoders, m[2])
			}
			continue
		}
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		k := key{m[1], m[2], m[3]}
		if pk[0] > 0 {
			peaks[k] = pk
		}
		s := samples[k]
		for i := 0; i < 3; i++ {
			v, _ := strconv.ParseFloat(m[4+i], 64)
			s[i] = append(s[i], v)
		}
		samples[k] = s
		if !contains(groups, k.group) {
			groups = append(groups, k.group)
		}
		if !contains(ops[k.group], k.op) {
			ops[k.group] = append(ops[k.group], k.op)
		}
	}
	if len(bodies) > 0 {
		fmt.Printf("\n#### Decoding alone (median ns/op, allocs/op)\n\n| answer |")
		for _, d := range decoders {
			fmt.Printf(" %s |", d)
		}
		fmt.Printf("\n|---|")
		for range decoders {
			fmt.Printf("--:|")
		}
		fmt.Println()
		for _, b := range bodies {
			fmt.Printf("| %s |", b)
			for _, d := range decoders {
				if v, ok := med(dec[key{"decode", b, d}]); ok {
					fmt.Printf(" %s ns, %s allocs", num(v[0]), num(v[2]))
					if p := peaks[key{"decode", b, d}]; p[1] > 0 {
						fmt.Printf(", peak %s B = %.2f× result", num(p[0]), p[0]/p[1])
					}
					fmt.Printf(" |")
				} else {
					fmt.Printf(" |")
				}
			}
			fmt.Println()
		}
	}
	for _, g := range groups {
		fmt.Printf("\n#### %s\n\n", g)
		fmt.Println("| operation | ours ns/op | official ns/op | floor ns/op | ours/official | ours/floor | ours B/op | official B/op | floor B/op | ours allocs | official allocs | floor allocs | allocs ours/official |")
		fmt.Println("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		for _, op := range ops[g] {
			o, okO := med(samples[key{g, op, "ours"}])
			h, okH := med(samples[key{g, op, "official"}])
			fl, okF := med(samples[key{g, op, "floor"}])
			if !okO || !okH || !okF {
				continue
			}
			fmt.Printf("| %s | %s | %s | %s | **%.2f** | %.2f | %s | %s | %s | %s | %s | %s | **%.2f** |\n", op,
				num(o[0]), num(h[0]), num(fl[0]), o[0]/h[0], o[0]/fl[0],
				num(o[1]), num(h[1]), num(fl[1]), num(o[2]), num(h[2]), num(fl[2]), o[2]/h[2])
		}
		if g != "ReplayScale" {
			continue
		}
		fmt.Println("\nOne read of each answer (peak-heap-B: the largest heap sampled during the read with GOGC=1, its live peak; result-B: what the decoded answer keeps):")
		fmt.Println()
		fmt.Println("| operation | ours peak B | ours result B | ours peak/result | official peak B | official result B | official peak/result | floor peak B |")
		fmt.Println("|---|--:|--:|--:|--:|--:|--:|--:|")
		for _, op := range ops[g] {
			o, h, fl := peaks[key{g, op, "ours"}], peaks[key{g, op, "official"}], peaks[key{g, op, "floor"}]
			if o[1] == 0 || h[1] == 0 {
				continue
			}
			fmt.Printf("| %s | %s | %s | **%.2f** | %s | %s | %.2f | %s |\n", op, num(o[0]), num(o[1]), o[0]/o[1],
				num(h[0]), num(h[1]), h[0]/h[1], num(fl[0]))
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// med returns the median of each metric.
func med(s [3][]float64) ([3]float64, bool) {
	var out [3]float64
	for i := range s {
		if len(s[i]) == 0 {
			return out, false
		}
		v := append([]float64(nil), s[i]...)
		sort.Float64s(v)
		n := len(v)
		if n%2 == 1 {
			out[i] = v[n/2]
		} else {
			out[i] = (v[n/2-1] + v[n/2]) / 2
		}
	}
	return out, true
}

// num formats with thousands separators.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
