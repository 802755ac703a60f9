#!/usr/bin/env bash
# up.sh starts Zhengzhao's local Hyperledger Fabric network on 127.0.0.1, no
# Docker: an etcdraft ordering service (1 orderer, or 3 with --raft 3), one
# peer for each of PlatformMSP, Org1MSP and Org2MSP, TLS everywhere, channel
# "zhengzhao", and the Zhengzhao chaincode installed, approved and committed
# as a service (chaincode-as-a-service) with the endorsement policy
# AND('PlatformMSP.peer', OR('Org1MSP.peer','Org2MSP.peer')).
#
#   ZZ_FABRIC_CACHE      where install.sh put the binaries (default $HOME/.cache/zhengzhao-fabric)
#   ZZ_FABRIC_NET        network directory: config, crypto, data, logs, PID files
#                        (default /tmp/zhengzhao-fabric-net); wiped on start
#   ZZ_FABRIC_PORT_BASE  first port of the block used (default 27000), see README.md
#
# The settings a client needs are written to $ZZ_FABRIC_NET/connection.json.
# Stop with down.sh.
set -euo pipefail

raft=1
while [ $# -gt 0 ]; do
	case $1 in
	--raft) raft=${2:?--raft needs 1 or 3}; shift 2 ;;
	--raft=*) raft=${1#--raft=}; shift ;;
	-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "up.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
case $raft in 1 | 3) ;; *) echo "up.sh: --raft must be 1 or 3" >&2; exit 2 ;; esac

here=$(cd "$(dirname "$0")" && pwd)
cache=${ZZ_FABRIC_CACHE:-$HOME/.cache/zhengzhao-fabric}
bin=$cache/bin
net=${ZZ_FABRIC_NET:-/tmp/zhengzhao-fabric-net}
base=${ZZ_FABRIC_PORT_BASE:-27000}
channel=zhengzhao
ccname=zhengzhao
cclabel=zhengzhao_1.0
platform_msp=PlatformMSP
policy="AND('PlatformMSP.peer', OR('Org1MSP.peer','Org2MSP.peer'))"
domain=zhengzhao.test

orgs=(platform org1 org2)
msps=(PlatformMSP Org1MSP Org2MSP)
orderer_port() { echo $((base + 50 + 10 * $1)); }  # 27050 27060 27070
admin_port() { echo $((base + 53 + 10 * $1)); }    # 27053 27063 27073
orderer_ops() { echo $((base + 440 + $1)); }       # 27440 27441 27442
peer_port() { echo $((base + 151 + 100 * $1)); }   # 27151 27251 27351 (+1: chaincode listener)
peer_ops() { echo $((base + 450 + $1)); }          # 27450 27451 27452
cc_port=$((base + 999))                            # 27999: chaincode server

t0=$(date +%s%N)
log() {
	local ms=$((($(date +%s%N) - t0) / 1000000))
	printf '[up %3d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*"
}
die() { echo "up.sh: $*" >&2; exit 1; }

for b in peer orderer osnadmin configtxgen cryptogen zhengzhao-cc; do
	[ -x "$bin/$b" ] || die "$bin/$b missing: run network/install.sh first"
done
[ -f "$cache/sampleconfig/core.yaml" ] || die "$cache/sampleconfig missing: run network/install.sh first"
if [ -d "$net/pids" ]; then
	for f in "$net"/pids/*.pid; do
		[ -e "$f" ] || continue
		if kill -0 "$(cat "$f")" 2>/dev/null; then die "a network is running in $net: run network/down.sh first"; fi
	done
fi

rm -rf "$net"
mkdir -p "$net"/{config,artifacts,data,logs,pids,cc}
crypto=$net/crypto
cfg=$net/config

# --- crypto material (cryptogen) -------------------------------------------
{
	echo "OrdererOrgs:"
	echo "  - Name: Orderer"
	echo "    Domain: $domain"
	echo "    EnableNodeOUs: true"
	echo "    Specs:"
	for ((i = 0; i < raft; i++)); do
		echo "      - Hostname: orderer$i"
		echo "        SANS: [localhost, 127.0.0.1]"
	done
	echo "PeerOrgs:"
	for j in 0 1 2; do
		o=${orgs[$j]}
		cat <<YAML
  - Name: ${msps[$j]%MSP}
    Domain: $o.$domain
    EnableNodeOUs: true
    Template: {Count: 1, SANS: [localhost, 127.0.0.1]}
    Users: {Count: 1}
YAML
		# The chaincode server's TLS certificate (from the platform's TLS CA).
		if [ "$o" = platform ]; then
			printf '    Specs:\n      - Hostname: chaincode\n        SANS: [localhost, 127.0.0.1]\n'
		fi
	done
} >"$cfg/crypto-config.yaml"
"$bin/cryptogen" generate --config="$cfg/crypto-config.yaml" --output="$crypto" >/dev/null
log "crypto material generated"

ord_dir() { echo "$crypto/ordererOrganizations/$domain/orderers/orderer$1.$domain"; }
org_dir() { echo "$crypto/peerOrganizations/${orgs[$1]}.$domain"; }
peer_dir() { echo "$(org_dir "$1")/peers/peer0.${orgs[$1]}.$domain"; }
orderer_ca=$(ord_dir 0)/tls/ca.crt

# --- channel genesis block (configtxgen) --------------------------------------
{
	cat <<YAML
Organizations:
  - &OrdererOrg
    Name: OrdererMSP
    ID: OrdererMSP
    MSPDir: $crypto/ordererOrganizations/$domain/msp
    Policies:
      Readers: {Type: Signature, Rule: "OR('OrdererMSP.member')"}
      Writers: {Type: Signature, Rule: "OR('OrdererMSP.member')"}
      Admins: {Type: Signature, Rule: "OR('OrdererMSP.admin')"}
    OrdererEndpoints:
YAML
	for ((i = 0; i < raft; i++)); do echo "      - 127.0.0.1:$(orderer_port $i)"; done
	for j in 0 1 2; do
		m=${msps[$j]}
		cat <<YAML
  - &${m}
    Name: $m
    ID: $m
    MSPDir: $(org_dir $j)/msp
    Policies:
      Readers: {Type: Signature, Rule: "OR('$m.admin', '$m.peer', '$m.client')"}
      Writers: {Type: Signature, Rule: "OR('$m.admin', '$m.client')"}
      Admins: {Type: Signature, Rule: "OR('$m.admin')"}
      Endorsement: {Type: Signature, Rule: "OR('$m.peer')"}
    AnchorPeers:
      - {Host: 127.0.0.1, Port: $(peer_port $j)}
YAML
	done
	cat <<YAML
Capabilities:
  Channel: &ChannelCapabilities {V2_0: true}
  Orderer: &OrdererCapabilities {V2_0: true}
  Application: &ApplicationCapabilities {V2_0: true}
Application: &ApplicationDefaults
  Organizations:
  Policies:
    Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
    Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
    Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
    LifecycleEndorsement: {Type: ImplicitMeta, Rule: "MAJORITY Endorsement"}
    Endorsement: {Type: ImplicitMeta, Rule: "MAJORITY Endorsement"}
  Capabilities: *ApplicationCapabilities
Orderer: &OrdererDefaults
  OrdererType: etcdraft
  BatchTimeout: 20ms
  BatchSize:
    MaxMessageCount: 100
    AbsoluteMaxBytes: 10 MB
    PreferredMaxBytes: 2 MB
  EtcdRaft:
    Consenters:
YAML
	for ((i = 0; i < raft; i++)); do
		cat <<YAML
      - Host: 127.0.0.1
        Port: $(orderer_port $i)
        ClientTLSCert: $(ord_dir $i)/tls/server.crt
        ServerTLSCert: $(ord_dir $i)/tls/server.crt
YAML
	done
	cat <<YAML
  Organizations:
  Policies:
    Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
    Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
    Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
    BlockValidation: {Type: ImplicitMeta, Rule: "ANY Writers"}
Channel: &ChannelDefaults
  Policies:
    Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
    Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
    Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
  Capabilities: *ChannelCapabilities
Profiles:
  ZhengzhaoChannel:
    <<: *ChannelDefaults
    Orderer:
      <<: *OrdererDefaults
      Organizations: [*OrdererOrg]
      Capabilities: *OrdererCapabilities
    Application:
      <<: *ApplicationDefaults
      Organizations: [*PlatformMSP, *Org1MSP, *Org2MSP]
      Capabilities: *ApplicationCapabilities
YAML
} >"$cfg/configtx.yaml"
FABRIC_CFG_PATH=$cfg "$bin/configtxgen" -profile ZhengzhaoChannel -channelID "$channel" \
	-outputBlock "$net/artifacts/$channel.block" 2>"$net/logs/configtxgen.log" || { cat "$net/logs/configtxgen.log" >&2; exit 1; }
log "channel genesis block made"

# --- node config: Fabric's sample core.yaml / orderer.yaml, two edits --------
cp "$cache/sampleconfig/orderer.yaml" "$cfg/orderer.yaml"
# No Docker: no VM endpoint, and our ccaas external builder.
sed -e 's#^\(  endpoint:\) unix:///var/run/docker.sock#\1 ""#' \
	-e "s#^\(    - name:\) ccaas_builder#\1 ccaas#" \
	-e "s#^\(      path:\) /opt/hyperledger/ccaas_builder#\1 $here/builders/ccaas#" \
	"$cache/sampleconfig/core.yaml" >"$cfg/core.yaml"
grep -q "path: $here/builders/ccaas" "$cfg/core.yaml" || die "could not set the external builder in core.yaml"
grep -q '^  endpoint: ""' "$cfg/core.yaml" || die "could not unset vm.endpoint in core.yaml"
cp -r "$cache/sampleconfig/msp" "$cfg/msp" 2>/dev/null || true

# start NAME CMD...: runs CMD in the background with its log and PID file.
start() {
	local name=$1
	shift
	nohup "$@" >"$net/logs/$name.log" 2>&1 </dev/null &
	echo $! >"$net/pids/$name.pid"
}

quiet_logs=INFO:grpc=WARN:comm.grpc.server=WARN:comm.grpc=WARN:gossip.discovery=WARN:gossip.election=WARN

# --- orderers ---------------------------------------------------------------
for ((i = 0; i < raft; i++)); do
	O=$(ord_dir $i)
	D=$net/data/orderer$i
	start orderer$i env FABRIC_CFG_PATH="$cfg" FABRIC_LOGGING_SPEC=$quiet_logs \
		ORDERER_GENERAL_LISTENADDRESS=127.0.0.1 ORDERER_GENERAL_LISTENPORT="$(orderer_port $i)" \
		ORDERER_GENERAL_LOCALMSPID=OrdererMSP ORDERER_GENERAL_LOCALMSPDIR="$O/msp" \
		ORDERER_GENERAL_TLS_ENABLED=true ORDERER_GENERAL_TLS_PRIVATEKEY="$O/tls/server.key" \
		ORDERER_GENERAL_TLS_CERTIFICATE="$O/tls/server.crt" ORDERER_GENERAL_TLS_ROOTCAS="[$O/tls/ca.crt]" \
		ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE="$O/tls/server.crt" ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY="$O/tls/server.key" \
		ORDERER_GENERAL_CLUSTER_ROOTCAS="[$O/tls/ca.crt]" \
		ORDERER_CHANNELPARTICIPATION_ENABLED=true \
		ORDERER_ADMIN_LISTENADDRESS="127.0.0.1:$(admin_port $i)" ORDERER_ADMIN_TLS_ENABLED=true \
		ORDERER_ADMIN_TLS_PRIVATEKEY="$O/tls/server.key" ORDERER_ADMIN_TLS_CERTIFICATE="$O/tls/server.crt" \
		ORDERER_ADMIN_TLS_ROOTCAS="[$O/tls/ca.crt]" ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true \
		ORDERER_ADMIN_TLS_CLIENTROOTCAS="[$O/tls/ca.crt]" \
		ORDERER_OPERATIONS_LISTENADDRESS="127.0.0.1:$(orderer_ops $i)" ORDERER_METRICS_PROVIDER=disabled \
		ORDERER_FILELEDGER_LOCATION="$D/ledger" ORDERER_CONSENSUS_WALDIR="$D/etcdraft/wal" \
		ORDERER_CONSENSUS_SNAPDIR="$D/etcdraft/snapshot" \
		"$bin/orderer"
done

# --- peers ------------------------------------------------------------------
for j in 0 1 2; do
	P=$(peer_dir $j)
	D=$net/data/peer0.${orgs[$j]}
	port=$(peer_port $j)
	start peer0.${orgs[$j]} env FABRIC_CFG_PATH="$cfg" FABRIC_LOGGING_SPEC=$quiet_logs \
		CORE_PEER_ID="peer0.${orgs[$j]}.$domain" \
		CORE_PEER_LISTENADDRESS="127.0.0.1:$port" CORE_PEER_ADDRESS="127.0.0.1:$port" \
		CORE_PEER_CHAINCODELISTENADDRESS="127.0.0.1:$((port + 1))" CORE_PEER_CHAINCODEADDRESS="127.0.0.1:$((port + 1))" \
		CORE_PEER_GOSSIP_BOOTSTRAP="127.0.0.1:$port" CORE_PEER_GOSSIP_EXTERNALENDPOINT="127.0.0.1:$port" \
		CORE_PEER_GOSSIP_RECONNECTINTERVAL=2s \
		CORE_PEER_LOCALMSPID="${msps[$j]}" CORE_PEER_MSPCONFIGPATH="$P/msp" \
		CORE_PEER_TLS_ENABLED=true CORE_PEER_TLS_CERT_FILE="$P/tls/server.crt" \
		CORE_PEER_TLS_KEY_FILE="$P/tls/server.key" CORE_PEER_TLS_ROOTCERT_FILE="$P/tls/ca.crt" \
		CORE_PEER_FILESYSTEMPATH="$D" CORE_LEDGER_SNAPSHOTS_ROOTDIR="$D/snapshots" \
		CORE_LEDGER_STATE_STATEDATABASE=goleveldb CORE_LEDGER_HISTORY_ENABLEHISTORYDATABASE=false \
		CORE_OPERATIONS_LISTENADDRESS="127.0.0.1:$(peer_ops $j)" CORE_METRICS_PROVIDER=prometheus \
		"$bin/peer" node start
done

wait_healthy() { # NAME URL
	local k
	for ((k = 0; k < 150; k++)); do
		if curl -fsS "$2" >/dev/null 2>&1; then return 0; fi
		kill -0 "$(cat "$net/pids/$1.pid")" 2>/dev/null || die "$1 exited; see $net/logs/$1.log"
		sleep 0.1
	done
	die "$1 not healthy after 15s; see $net/logs/$1.log"
}
for ((i = 0; i < raft; i++)); do wait_healthy orderer$i "http://127.0.0.1:$(orderer_ops $i)/healthz"; done
for j in 0 1 2; do wait_healthy peer0.${orgs[$j]} "http://127.0.0.1:$(peer_ops $j)/healthz"; done
log "orderer(s) and peers healthy"

# as_admin J CMD...: runs a peer CLI command as org J's admin against its peer.
as_admin() {
	local j=$1
	shift
	env FABRIC_CFG_PATH="$cfg" FABRIC_LOGGING_SPEC=WARN \
		CORE_PEER_LOCALMSPID="${msps[$j]}" CORE_PEER_ADDRESS="127.0.0.1:$(peer_port $j)" \
		CORE_PEER_TLS_ENABLED=true CORE_PEER_TLS_ROOTCERT_FILE="$(peer_dir $j)/tls/ca.crt" \
		CORE_PEER_MSPCONFIGPATH="$(org_dir $j)/users/Admin@${orgs[$j]}.$domain/msp" \
		"$bin/peer" "$@"
}

# retry N CMD...: the ordering service needs a moment to elect a Raft leader.
retry() {
	local n=$1 k
	shift
	for ((k = 1; k <= n; k++)); do
		if "$@" >>"$net/logs/cli.log" 2>&1; then return 0; fi
		sleep 1
	done
	echo "up.sh: failed $n times: $*" >&2
	tail -20 "$net/logs/cli.log" >&2
	exit 1
}

# --- channel ----------------------------------------------------------------
for ((i = 0; i < raft; i++)); do
	O=$(ord_dir $i)
	retry 5 "$bin/osnadmin" channel join --channelID "$channel" --config-block "$net/artifacts/$channel.block" \
		-o "127.0.0.1:$(admin_port $i)" --ca-file "$O/tls/ca.crt" --client-cert "$O/tls/server.crt" --client-key "$O/tls/server.key"
done
for j in 0 1 2; do retry 5 as_admin $j channel join -b "$net/artifacts/$channel.block"; done
log "channel $channel joined by $raft orderer(s) and 3 peers"

# --- chaincode as a service -------------------------------------------------
# TLS between peer and chaincode server: the server has a certificate of the
# platform's TLS CA and requires a client certificate of the same CA.
C=$(org_dir 0)/peers/chaincode.platform.$domain/tls
pem_json() { awk 'BEGIN{ORS="\\n"} {print}' "$1"; }
printf '{"address":"127.0.0.1:%s","dial_timeout":"10s","tls_required":true,"client_auth_required":true,"root_cert":"%s","client_cert":"%s","client_key":"%s"}\n' \
	"$cc_port" "$(pem_json "$C/ca.crt")" "$(pem_json "$C/server.crt")" "$(pem_json "$C/server.key")" >"$net/cc/connection.json"
printf '{"type":"ccaas","label":"%s"}\n' "$cclabel" >"$net/cc/metadata.json"
(cd "$net/cc" && tar czf code.tar.gz connection.json && tar czf "$ccname.tgz" metadata.json code.tar.gz)
pkgid=$(as_admin 0 lifecycle chaincode calculatepackageid "$net/cc/$ccname.tgz")
start chaincode env CHAINCODE_ID="$pkgid" CHAINCODE_SERVER_ADDRESS="127.0.0.1:$cc_port" ZZ_PLATFORM_MSP=$platform_msp \
	CHAINCODE_TLS_CERT="$C/server.crt" CHAINCODE_TLS_KEY="$C/server.key" CHAINCODE_TLS_CLIENT_CA="$C/ca.crt" \
	"$bin/zhengzhao-cc"
for j in 0 1 2; do retry 3 as_admin $j lifecycle chaincode install "$net/cc/$ccname.tgz"; done
log "chaincode package $pkgid installed on 3 peers"
for j in 0 1 2; do
	retry 10 as_admin $j lifecycle chaincode approveformyorg -o "127.0.0.1:$(orderer_port 0)" --tls --cafile "$orderer_ca" \
		--channelID "$channel" --name "$ccname" --version 1.0 --package-id "$pkgid" --sequence 1 \
		--signature-policy "$policy" --waitForEvent
done
log "chaincode approved by 3 orgs"
peers=()
for j in 0 1 2; do peers+=(--peerAddresses "127.0.0.1:$(peer_port $j)" --tlsRootCertFiles "$(peer_dir $j)/tls/ca.crt"); done
retry 5 as_admin 0 lifecycle chaincode commit -o "127.0.0.1:$(orderer_port 0)" --tls --cafile "$orderer_ca" \
	--channelID "$channel" --name "$ccname" --version 1.0 --sequence 1 --signature-policy "$policy" \
	"${peers[@]}" --waitForEvent
log "chaincode $ccname committed on $channel"

# --- ready: every peer reaches the chaincode and knows the other two --------
for j in 0 1 2; do
	for ((k = 0; k < 100; k++)); do
		out=$(as_admin $j chaincode query -C "$channel" -n "$ccname" -c '{"Args":["GetCheckpoint"]}' 2>&1 || true)
		case $out in *ERR_NOT_FOUND*) break ;; esac
		sleep 0.2
	done
	case $out in *ERR_NOT_FOUND*) ;; *) die "peer0.${orgs[$j]} cannot reach the chaincode: $out" ;; esac
done
log "chaincode answers on 3 peers"
for j in 0 1 2; do
	for ((k = 0; k < 300; k++)); do
		known=$(curl -fsS "http://127.0.0.1:$(peer_ops $j)/metrics" 2>/dev/null |
			awk -v c="$channel" '$1 ~ "^gossip_membership_total_peers_known\\{channel=\""c"\"" {print $2}')
		[ "${known:-0}" -ge 2 ] && break
		sleep 0.1
	done
	[ "${known:-0}" -ge 2 ] || echo "up.sh: warning: peer0.${orgs[$j]} knows ${known:-0} other peers on $channel after 30s" >&2
done
log "gossip: every peer knows the other two"

# --- connection settings ----------------------------------------------------
{
	printf '{\n  "channel": "%s",\n  "chaincode": "%s",\n  "platform_msp": "%s",\n' "$channel" "$ccname" "$platform_msp"
	printf '  "server_name_override": "localhost",\n  "orderers": [\n'
	for ((i = 0; i < raft; i++)); do
		sep=,
		[ $i -eq $((raft - 1)) ] && sep=
		printf '    {"address": "127.0.0.1:%s", "tls_root_cert": "%s", "server_name_override": "localhost"}%s\n' \
			"$(orderer_port $i)" "$(ord_dir $i)/tls/ca.crt" "$sep"
	done
	printf '  ],\n  "orgs": [\n'
	for j in 0 1 2; do
		o=${orgs[$j]}
		u=$(org_dir $j)/users/User1@$o.$domain/msp
		a=$(org_dir $j)/users/Admin@$o.$domain/msp
		sep=,
		[ $j -eq 2 ] && sep=
		cat <<JSON
    {
      "msp_id": "${msps[$j]}",
      "peer_address": "127.0.0.1:$(peer_port $j)",
      "tls_root_cert": "$(org_dir $j)/tlsca/tlsca.$o.$domain-cert.pem",
      "server_name_override": "localhost",
      "client_cert": "$u/signcerts/User1@$o.$domain-cert.pem",
      "client_key": "$u/keystore/priv_sk",
      "admin_cert": "$a/signcerts/Admin@$o.$domain-cert.pem",
      "admin_key": "$a/keystore/priv_sk"
    }$sep
JSON
	done
	printf '  ]\n}\n'
} >"$net/connection.json"
log "network up; connection settings in $net/connection.json"
