#!/usr/bin/env bash
# tests/run.sh: the one test command.
#
# Installs what is missing, builds with ASan+UBSan (warnings are errors),
# runs the unit suites (Check, via meson test), the system suites (pytest
# against real tessera-node processes) and short libFuzzer runs, then
# prints one closing line "N passed, N failed".  Exit status is non-zero
# on any failure.
#
#   tests/run.sh            everything
#   FUZZ_SECONDS=60 tests/run.sh   longer fuzz runs (default 20 s each)
#   PYTEST_ARGS="-k strings" tests/run.sh   a subset of the system tests
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
. tests/lib.sh

install_missing "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" || { echo "package install failed"; exit 1; }

BUILD=${BUILD:-build-asan}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
PY=/usr/bin/python3
passed=0
failed=0
failures=()

note() { printf '\n==> %s\n' "$*"; }

# ---- build ----
note "build ($BUILD: ASan+UBSan, -Werror)"
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" -Dbuildtype=debugoptimized -Dallocator=libc \
        -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true >/dev/null ||
        { echo "meson setup failed"; echo "0 passed, 1 failed"; exit 1; }
fi
if ! ninja -C "$BUILD"; then
    echo "build failed"
    echo "0 passed, 1 failed"
    exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# ---- unit ----
note "unit tests (Check)"
meson test -C "$BUILD" --suite unit --print-errorlogs --num-processes 2
rc=$?
log="$BUILD/meson-logs/testlog.json"
if [ -f "$log" ]; then
    u_ok=$($PY -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(sum(1 for x in r if x["result"]=="OK"))' "$log")
    u_bad=$($PY -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(sum(1 for x in r if x["result"] not in ("OK","SKIP")))' "$log")
else
    u_ok=0; u_bad=1
fi
[ "$rc" -ne 0 ] && [ "$u_bad" -eq 0 ] && u_bad=1
passed=$((passed + u_ok)); failed=$((failed + u_bad))
[ "$u_bad" -ne 0 ] && failures+=("unit")

# ---- system ----
note "system tests (pytest, real tessera-node processes)"
export TESSERA_NODE_BIN="$ROOT/$BUILD/node/tessera-node"
sys_out=$(mktemp)
# shellcheck disable=SC2086
$PY -m pytest tests/system -q -p no:cacheprovider ${PYTEST_ARGS:-} 2>&1 | tee "$sys_out"
s_pass=$(grep -Eo '[0-9]+ passed' "$sys_out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
s_fail=$(grep -Eo '[0-9]+ (failed|error|errors)' "$sys_out" | awk '{s+=$1} END {print s+0}')
[ -z "$s_pass" ] && s_pass=0
[ -z "$s_fail" ] && s_fail=0
if [ "$s_pass" -eq 0 ] && [ "$s_fail" -eq 0 ]; then s_fail=1; fi
passed=$((passed + s_pass)); failed=$((failed + s_fail))
[ "$s_fail" -ne 0 ] && failures+=("system")
rm -f "$sys_out"

# ---- fuzz ----
note "fuzz smoke (libFuzzer, ${FUZZ_SECONDS}s per harness)"
if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
    CC=clang meson setup "$FUZZ_BUILD" -Dbuildtype=debugoptimized -Dallocator=libc \
        -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=true -Dtests=disabled >/dev/null
fi
if ninja -C "$FUZZ_BUILD" >/dev/null; then
    for fz in "$FUZZ_BUILD"/tests/fuzz/fuzz_*; do
        [ -f "$fz" ] && [ -x "$fz" ] || continue
        name=$(basename "$fz")
        corpus="tests/fuzz/corpus/${name#fuzz_}"
        work=$(mktemp -d)
        [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null
        if "$fz" -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 "$work" >"$work.log" 2>&1; then
            echo "$name: ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work.log" | grep -Eo '[0-9]+$' || grep -Eo '^#[0-9]+' "$work.log" | tail -1) runs)"
            passed=$((passed + 1))
        else
            echo "$name: FAILED"; tail -40 "$work.log"
            failed=$((failed + 1)); failures+=("$name")
        fi
        rm -rf "$work" "$work.log"
    done
else
    echo "fuzz build failed"; failed=$((failed + 1)); failures+=("fuzz-build")
fi

echo
[ ${#failures[@]} -ne 0 ] && echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
