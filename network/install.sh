#!/usr/bin/env bash
# install.sh builds the Hyperledger Fabric v3.1.1 tools Zhengzhao's local
# network needs (peer, orderer, osnadmin, configtxgen, cryptogen) from the Go
# module proxy, and the Zhengzhao chaincode server. Nothing but Go modules is
# downloaded; no Docker.
#
#   ZZ_FABRIC_CACHE  cache directory (default $HOME/.cache/zhengzhao-fabric);
#                    binaries go to $ZZ_FABRIC_CACHE/bin, Fabric's sample
#                    config to $ZZ_FABRIC_CACHE/sampleconfig.
#
# The Fabric build (about 6 minutes cold on 2 cores) is skipped when the
# binaries of this version are already in the cache. The chaincode server is
# rebuilt every time (incremental, seconds).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cache=${ZZ_FABRIC_CACHE:-$HOME/.cache/zhengzhao-fabric}
bin=$cache/bin

# Fabric v3.1.1 (commit 435a7f1a780a). The module has no /v3 path, so the go
# command names the commit with a pseudo-version on the v1.4.0-rc1 tag; see
# network/README.md.
fabric_version=3.1.1
fabric_pseudo=v1.4.0-rc1.0.20250510200036-435a7f1a780a
tools=(peer orderer osnadmin configtxgen cryptogen)

log() { printf '[install %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

have_fabric() {
	[ -f "$bin/.fabric-version" ] && [ "$(cat "$bin/.fabric-version")" = "$fabric_pseudo" ] || return 1
	for t in "${tools[@]}"; do [ -x "$bin/$t" ] || return 1; done
	[ -f "$cache/sampleconfig/core.yaml" ] && [ -f "$cache/sampleconfig/orderer.yaml" ]
}

mkdir -p "$bin"
if have_fabric; then
	log "Fabric $fabric_version tools already in $bin, skipping the build"
else
	start=$(date +%s)
	work=$cache/build
	rm -rf "$work"
	mkdir -p "$work"
	cd "$work"
	# `go install pkg@version` is refused: it asks the proxy for the module's
	# version list (deprecation check), which the proxy does not serve for
	# this module. go get + go build in a throwaway module avoids that.
	go mod init fabbuild >/dev/null 2>&1
	pkgs=()
	for t in "${tools[@]}"; do pkgs+=("github.com/hyperledger/fabric/cmd/$t@$fabric_pseudo"); done
	log "go get Fabric $fabric_version ($fabric_pseudo)"
	go get "${pkgs[@]}"
	log "go build ${tools[*]}"
	builds=()
	for t in "${tools[@]}"; do builds+=("github.com/hyperledger/fabric/cmd/$t"); done
	go build -trimpath -ldflags "-X github.com/hyperledger/fabric/common/metadata.Version=$fabric_version" -o "$bin/" "${builds[@]}"
	moddir=$(go list -m -f '{{.Dir}}' github.com/hyperledger/fabric)
	rm -rf "$cache/sampleconfig"
	cp -r "$moddir/sampleconfig" "$cache/sampleconfig"
	chmod -R u+w "$cache/sampleconfig"
	echo "$fabric_pseudo" >"$bin/.fabric-version"
	log "Fabric tools built in $(($(date +%s) - start))s"
fi

if [ "${ZZ_SKIP_CHAINCODE:-}" = "1" ]; then
	exit 0
fi
start=$(date +%s)
log "go build chaincode server"
cd "$root/chaincode"
go build -trimpath -o "$bin/zhengzhao-cc" ./cmd/zhengzhao-cc
log "chaincode server built in $(($(date +%s) - start))s: $bin/zhengzhao-cc"
