#!/bin/sh
# measure.sh ROWS [IN_FLIGHT]: the import figures of docs/import.md.
# Builds zhengzhao, writes ROWS rows of 营业执照 (GBK CSV), imports them into
# a fresh demo data directory with `zhengzhao import --data`, then into
# another through a server with `--server`; prints licenses/s and CPU µs a
# license (user+sys of every process: import, and with --server the server).
# With --data the run also reports how busy the Go scheduler kept the cores
# (--cpuprofile), a figure that does not depend on what else the machine runs.
set -eu
rows=${1:-100000}
inflight=${2:-4}
cd "$(dirname "$0")/../../.."
work=$(mktemp -d)
trap 'kill $srv 2>/dev/null || true; rm -rf "$work"' EXIT
srv=
go build -o "$work/zz" ./cmd/zhengzhao
go run ./registry/importer/testdata/gen -n "$rows" -gbk -o "$work/rows.csv"
export ZHENGZHAO_PASSPHRASE=measure-only
"$work/zz" init --data "$work/d" --demo --json >"$work/tok.json"
cp -a "$work/d" "$work/s"
dept=$(sed -n 's/.*"uscc": *"\([^"]*\)".*/\1/p' "$work/tok.json" | head -1)
token=$(sed -n 's/.*"issuer_token": *"\([^"]*\)".*/\1/p' "$work/tok.json" | head -1)
args="--file $work/rows.csv --type 11100000000013338W001 --department $dept --in-flight $inflight --json"
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # clock ticks
tck=$(getconf CLK_TCK)

echo "== zhengzhao import --data, $rows rows, --in-flight $inflight ($(uptime | sed 's/.*load/load/'))"
/usr/bin/time -f "%e %U %S" -o "$work/time" "$work/zz" import --data "$work/d" $args --cpuprofile "$work/cpu.prof" >"$work/out" 2>"$work/err" || true
grep scheduler "$work/err" || true
read -r wall user sys <"$work/time"
awk -v w="$wall" -v u="$user" -v s="$sys" -v n="$rows" 'BEGIN { printf "%.0f licenses/s, %.0f CPU µs a license\n", n / w, (u + s) * 1e6 / n }'

echo "== zhengzhao import --server, $rows rows, --in-flight $inflight ($(uptime | sed 's/.*load/load/'))"
"$work/zz" serve --data "$work/s" --addr 127.0.0.1:18739 >"$work/serve.log" 2>&1 &
srv=$!
until curl -sf http://127.0.0.1:18739/healthz >/dev/null; do sleep 0.1; done
s0=$(cpu $srv)
/usr/bin/time -f "%e %U %S" -o "$work/time" "$work/zz" import --server http://127.0.0.1:18739 --token "$token" $args >"$work/out" 2>"$work/err" || true
s1=$(cpu $srv)
read -r wall user sys <"$work/time"
awk -v w="$wall" -v u="$user" -v s="$sys" -v n="$rows" -v sv="$(( s1 - s0 ))" -v t="$tck" 'BEGIN {
	printf "%.0f licenses/s, %.0f CPU µs a license (import %.0f, server %.0f)\n", n / w, ((u + s) + sv / t) * 1e6 / n, (u + s) * 1e6 / n, sv / t * 1e6 / n }'
