#!/bin/sh
# Runs Zhengzhao on this machine with demo departments (embedded ledger,
# SQLite) on http://localhost:8080, data in ./zz-data. Seals and license PDFs
# are drawn with a Chinese TrueType font; on Debian or Ubuntu this installs
# fonts-arphic-gbsn00lp when no such font is there yet. Go 1.26 is the only
# other need.
set -eu
cd "$(dirname "$0")"
if [ -z "${ZHENGZHAO_FONT:-}" ] &&
  [ ! -e /usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf ] &&
  [ ! -e /usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf ]; then
  echo "run-demo: installing the Chinese font fonts-arphic-gbsn00lp (apt-get)" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends fonts-arphic-gbsn00lp
fi
export ZHENGZHAO_PASSPHRASE="${ZHENGZHAO_PASSPHRASE:-demo-only}"
# Build first, saying so: the first build compiles ~150 packages, which takes
# minutes on a small machine and looks like a hang when nothing is shown.
echo "run-demo: building ./zhengzhao with $(go version | cut -d' ' -f3) (the first build takes a few minutes; later ones seconds) …" >&2
start=$(date +%s)
go build -o ./zhengzhao ./cmd/zhengzhao &
build=$!
n=0
while kill -0 "$build" 2>/dev/null; do
  sleep 1
  n=$((n + 1))
  if [ $((n % 15)) = 0 ] && kill -0 "$build" 2>/dev/null; then
    echo "run-demo: still compiling ($n s) …" >&2
  fi
done
wait "$build"
echo "run-demo: built in $(( $(date +%s) - start )) s" >&2
exec ./zhengzhao serve --demo --data ./zz-data "$@"
