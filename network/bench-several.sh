#!/usr/bin/env bash
# bench-several.sh measures issuing from several `zhengzhao serve` instances
# on one PostgreSQL database and one Fabric network, all on this machine:
# it starts a fresh Fabric network (up.sh) and a throwaway PostgreSQL
# cluster (.ci/postgres.sh), runs `zhengzhao bench --several`, and stops
# both again, whatever happens. Each run needs both fresh: the platform's
# log key is recorded on the channel, and the bench makes the demo platform
# in an empty database.
#
#   network/bench-several.sh [bench flags]      default: --several 2 --issue-n 20000
#
#   ZZ_BIN               the zhengzhao binary (default: built from this tree)
#   ZZ_FABRIC_NET        network directory (default /tmp/zhengzhao-bench-fabnet)
#   ZZ_FABRIC_PORT_BASE  first port of the network (default 27000)
#   ZZ_PG_PORT           PostgreSQL's port (default 5544)
#
# Flags go to `zhengzhao bench` (--several K, --issue-n N, --batch B rows a
# call, --concurrency C calls in flight per instance, --json, --keep); see
# docs/several-instances.md for what it prints and the figures measured.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
export ZZ_FABRIC_NET=${ZZ_FABRIC_NET:-/tmp/zhengzhao-bench-fabnet}
export ZZ_FABRIC_PORT_BASE=${ZZ_FABRIC_PORT_BASE:-27000}
[ "$#" -gt 0 ] || set -- --several 2 --issue-n 20000

bin=${ZZ_BIN:-}
if [ -z "$bin" ]; then
	bin=$(mktemp -d /tmp/zz-bench-bin.XXXXXX)/zhengzhao
	(cd "$root" && go build -o "$bin" ./cmd/zhengzhao)
fi

pg_dir=
cleanup() {
	"$here/down.sh" >/dev/null 2>&1 || true
	if [ -n "$pg_dir" ]; then ZZ_PG_DIR=$pg_dir "$root/.ci/postgres.sh" stop || true; fi
	if [ -z "${ZZ_BIN:-}" ]; then rm -rf "$(dirname "$bin")"; fi
}
trap cleanup EXIT

"$here/install.sh" >/dev/null
"$here/up.sh" >"${TMPDIR:-/tmp}/zz-bench-several-up.log" 2>&1 ||
	{ tail -20 "${TMPDIR:-/tmp}/zz-bench-several-up.log" >&2; exit 1; }
env=$("$root/.ci/postgres.sh" start)
eval "$env"
pg_dir=$ZZ_PG_DIR

"$bin" bench "$@" --store "$ZZ_POSTGRES" --ledger fabric --fabric-config "$ZZ_FABRIC_NET/connection.json"
