#!/usr/bin/env bash
# down.sh stops the processes up.sh started (by their PID files, nothing
# else) and removes the network directory.
#
#   ZZ_FABRIC_NET  network directory (default /tmp/zhengzhao-fabric-net)
#   --keep         stop the processes but keep the directory (logs, ledgers)
set -euo pipefail

net=${ZZ_FABRIC_NET:-/tmp/zhengzhao-fabric-net}
keep=
[ "${1:-}" = --keep ] && keep=1

stopped=0
if [ -d "$net/pids" ]; then
	pids=()
	for f in "$net"/pids/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		# Only a process that is still the one we started: its command line
		# must name a binary of ours (guards against PID reuse).
		if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -Eq '(^|/)(peer|orderer|zhengzhao-cc)( |$)'; then
			kill -TERM "$pid" 2>/dev/null && pids+=("$pid") && stopped=$((stopped + 1))
		fi
		rm -f "$f"
	done
	for pid in "${pids[@]}"; do
		for ((k = 0; k < 100; k++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
	done
fi
echo "down.sh: stopped $stopped processes"
if [ -z "$keep" ] && [ -d "$net" ]; then
	rm -rf "$net"
	echo "down.sh: removed $net"
fi
