#!/bin/sh
# Measures the dependency weight of this library and of the official client:
# the modules of `go list -m all` and the size of a program that creates a
# client and reads one key. Run from bench/weight: sh measure.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "ours: modules in go list -m all (root module): $(cd "$root" && go list -m all | wc -l)"
(cd "$here/.." && go build -o "$tmp/ours" ./weight/ours)
(cd "$here/.." && go build -ldflags='-s -w' -o "$tmp/ours-stripped" ./weight/ours)
(cd "$here/.." && go build -o "$tmp/nethttp" ./weight/nethttp)
(cd "$here/.." && go build -ldflags='-s -w' -o "$tmp/nethttp-stripped" ./weight/nethttp)

mkdir "$tmp/official-mod"
cp "$here/official/main.go" "$tmp/official-mod/"
(cd "$tmp/official-mod" && go mod init example.com/official >/dev/null 2>&1 &&
	go get github.com/hashicorp/consul/api@v1.29.4 >/dev/null 2>&1 && go mod tidy >/dev/null 2>&1 &&
	echo "official: modules in go list -m all (module requiring only api v1.29.4): $(go list -m all | wc -l)" &&
	go build -o "$tmp/official" . && go build -ldflags='-s -w' -o "$tmp/official-stripped" .)
echo "modules linked into the binary (go version -m): ours $(go version -m "$tmp/ours" | grep -c '^\s*dep'), official $(go version -m "$tmp/official" | grep -c '^\s*dep')"
ls -l "$tmp/nethttp" "$tmp/nethttp-stripped" "$tmp/ours" "$tmp/ours-stripped" "$tmp/official" "$tmp/official-stripped" | awk '{print $5, $NF}' | sed "s|$tmp/||"
