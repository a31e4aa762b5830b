#!/bin/sh
# Run the three node benchmarks (throughput, instructions per command, memory
# per key) with their default settings and print their tables.
#
# Usage: tests/bench/run_all.sh [--quick] [--cand-bin PATH] [--ref-bin PATH]
#                               [--cand-args STR] [--ref-args STR] [--out-dir DIR]
#
# The options are the ones every script accepts, passed to each unchanged;
# script-specific options go to the scripts themselves (see README.md).
# --quick is a smoke run (about a minute in all); the full run takes about
# ten minutes. Every benchmark runs even if an earlier one fails; the exit
# status is non-zero if any failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3 # Debian's: it has python3-redis

failed=""
for b in bench_node callgrind_ops memory_keys; do
    echo
    echo "=== $b ==="
    if ! "$py" "$here/$b.py" "$@"; then
        failed="$failed $b"
    fi
done

echo
if [ -n "$failed" ]; then
    echo "run_all: FAILED:$failed"
    exit 1
fi
echo "run_all: all benchmarks completed (JSON in $here/results/ unless --out-dir)"
