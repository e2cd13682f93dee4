#!/bin/sh
# Runs the benchmarks of BENCHMARKS.md and prints the tables.
#   sh run.sh [count]     (from bench/; default count 6)
# Writes results/new.txt (client benchmarks) and results/decode.txt
# (decoding alone), and prints the machine, benchstat's comparisons and the
# summary tables.
set -eu
count=${1:-6}
mkdir -p results
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "nproc: $(nproc)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "go: $(go version)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
go test -run '^$' -bench 'Replay|Agent' -count "$count" -timeout 60m . > results/new.txt
echo "load after clients: $(cut -d' ' -f1-3 /proc/loadavg)"
go test -run '^$' -bench 'Decode' -count "$count" . > results/decode.txt
(cd .. && go test -run '^$' -bench 'FastDecode$' -count "$count" .) >> results/decode.txt
echo "load after decode: $(cut -d' ' -f1-3 /proc/loadavg)"
benchstat=$(go env GOPATH)/bin/benchstat
[ -x "$benchstat" ] || go install golang.org/x/perf/cmd/benchstat@latest
"$benchstat" -col /client results/new.txt
"$benchstat" -col /decoder results/decode.txt
go run ./tabulate results/new.txt
