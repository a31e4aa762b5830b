#!/usr/bin/env bash
# deploy/local/run.sh: install what is missing, build a release build and
# start the default local deployment in the foreground.
#
# Today that is one tessera-node on 127.0.0.1:7000 (the cluster with
# replicas and the proxy are not built yet).  Ctrl-C stops it cleanly.
#
#   deploy/local/run.sh                 port 7000
#   PORT=7100 deploy/local/run.sh       another port
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib.sh
install_missing "${BUILD_PKGS[@]}" redis-tools

BUILD=${BUILD:-build-release}
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" -Dbuildtype=release -Dtests=disabled >/dev/null
fi
ninja -C "$BUILD" node/tessera-node >/dev/null

PORT=${PORT:-7000}
DATA=${DATA:-$ROOT/deploy/local/data/$PORT}
mkdir -p "$DATA"
cat <<MSG

  tessera-node on 127.0.0.1:$PORT  (data dir $DATA)
  connect with:   redis-cli -p $PORT
  stop with:      Ctrl-C

MSG
exec "$BUILD/node/tessera-node" --port "$PORT" --bind 127.0.0.1 \
    --dir "$DATA" --save '' --appendonly no
