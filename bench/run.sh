#!/bin/sh
# Runs the benchmarks of BENCHMARKS.md and prints the tables.
#   sh run.sh [count]     (from bench/; default count 6)
# Writes new.txt (raw go test output) and prints the machine, benchstat's
# comparison and the summary tables.
set -eu
count=${1:-6}
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "nproc: $(nproc)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "go: $(go version)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
go test -run '^$' -bench 'Replay|Agent' -count "$count" -timeout 60m . > new.txt
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
benchstat=$(go env GOPATH)/bin/benchstat
[ -x "$benchstat" ] || go install golang.org/x/perf/cmd/benchstat@latest
"$benchstat" -col /client new.txt
go run ./tabulate new.txt
