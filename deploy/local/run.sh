#!/usr/bin/env bash
# deploy/local/run.sh: install what is missing, build a release build and
# start the default local deployment in the foreground.
#
# That is a cluster of six tessera-nodes on 127.0.0.1: three masters and
# three replicas (ports 7000-7005, bus ports +10000), made with
# `redis-cli --cluster create --cluster-replicas 1` on the first run and
# restarted from each node's nodes.conf afterwards.  The cluster secret is
# generated once and kept in the data directory.  A tessera-proxy in front
# of the cluster listens on 127.0.0.1:6379 (PROXY_PORT), so a plain Redis
# client needs no cluster support.  Ctrl-C stops everything.
#
#   deploy/local/run.sh                 ports 7000-7005
#   PORT=7100 deploy/local/run.sh       ports 7100-7105
#   PROXY_PORT=6400 deploy/local/run.sh proxy on another port (0: no proxy)
#   NODES=1 deploy/local/run.sh         one standalone node instead
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib.sh
install_missing "${BUILD_PKGS[@]}" redis-tools

BUILD=${BUILD:-build-release}
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" -Dbuildtype=release -Dtests=disabled >/dev/null
fi
ninja -C "$BUILD" node/tessera-node proxy/tessera-proxy >/dev/null
BIN="$ROOT/$BUILD/node/tessera-node"
PROXY_BIN="$ROOT/$BUILD/proxy/tessera-proxy"
PROXY_PORT=${PROXY_PORT:-6379}

PORT=${PORT:-7000}
NODES=${NODES:-6}
DATA=${DATA:-$ROOT/deploy/local/data}

if [ "$NODES" = 1 ]; then
    mkdir -p "$DATA/$PORT"
    printf '\n  tessera-node on 127.0.0.1:%s  (data dir %s)\n' "$PORT" "$DATA/$PORT"
    printf '  connect with:   redis-cli -p %s\n  stop with:      Ctrl-C\n\n' "$PORT"
    exec "$BIN" --port "$PORT" --bind 127.0.0.1 --dir "$DATA/$PORT" \
        --save '' --appendonly no
fi

mkdir -p "$DATA"
[ -s "$DATA/cluster-secret" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DATA/cluster-secret"
SECRET=$(cat "$DATA/cluster-secret")

pids=()
stop_all() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop_all EXIT INT TERM

addrs=()
fresh=1
for i in $(seq 0 $((NODES - 1))); do
    p=$((PORT + i))
    dir="$DATA/$p"
    mkdir -p "$dir"
    [ -s "$dir/nodes.conf" ] && fresh=0
    "$BIN" --port "$p" --bind 127.0.0.1 --dir "$dir" --save '' \
        --appendonly no --cluster-enabled yes --cluster-secret "$SECRET" \
        --cluster-node-timeout 5000 --logfile "$dir/node.log" &
    pids+=($!)
    addrs+=("127.0.0.1:$p")
done
for p in $(seq "$PORT" $((PORT + NODES - 1))); do
    for _ in $(seq 50); do
        redis-cli -p "$p" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
done
if [ "$fresh" = 1 ]; then
    replicas=$(( NODES >= 6 ? 1 : 0 ))
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$replicas" \
        --cluster-yes >/dev/null
fi
redis-cli --cluster check "127.0.0.1:$PORT" | grep -a "slots covered" || true

proxy_msg=""
if [ "$PROXY_PORT" != 0 ]; then
    seeds=$(IFS=,; echo "${addrs[*]}")
    "$PROXY_BIN" --port "$PROXY_PORT" --bind 127.0.0.1 --cluster-nodes "$seeds" \
        --logfile "$DATA/proxy.log" &
    pids+=($!)
    for _ in $(seq 50); do
        redis-cli -p "$PROXY_PORT" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    proxy_msg="  proxy:          redis-cli -p $PROXY_PORT   (any Redis client, no cluster support needed)
                  redis-cli -p $PROXY_PORT proxy   (its topology and counters)"
fi

cat <<MSG

  Tessera cluster: $NODES nodes on 127.0.0.1:$PORT-$((PORT + NODES - 1))
  (data and logs in $DATA/<port>)
$proxy_msg
  nodes directly: redis-cli -c -p $PORT
                  redis.cluster.RedisCluster(host="127.0.0.1", port=$PORT)
  state:          redis-cli -p $PORT cluster nodes
  stop with:      Ctrl-C

MSG
wait
