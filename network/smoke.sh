#!/usr/bin/env bash
# smoke.sh runs the smoke client (chaincode/cmd/smoke) against the network
# up.sh started: register a department (platform), anchor a signed license
# (Org1), refuse a forged one, refuse Org2's revocation, revoke (Org1), read
# it back from Org2's peer, refuse resuming it, publish two checkpoints.
#
#   ZZ_FABRIC_NET  network directory (default /tmp/zhengzhao-fabric-net)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
net=${ZZ_FABRIC_NET:-/tmp/zhengzhao-fabric-net}
[ -f "$net/connection.json" ] || { echo "smoke.sh: no $net/connection.json: run network/up.sh first" >&2; exit 1; }
cd "$here/../chaincode"
go build -o "$net/smoke" ./cmd/smoke
exec "$net/smoke" -connection "$net/connection.json"
