# shellcheck shell=bash disable=SC2034
# tests/lib.sh: shared by tests/run.sh and deploy/local/run.sh.
# install_missing PKG...: apt-get install whatever of PKG is not installed.
install_missing() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Packages needed to build Tessera.
BUILD_PKGS=(gcc meson ninja-build pkg-config libevent-dev libjemalloc-dev
            libssl-dev libprotobuf-c-dev protobuf-c-compiler)
# Packages needed to test it (reference servers, clients, fuzzing).
TEST_PKGS=(check clang libclang-rt-14-dev redis-server redis-tools nutcracker
           python3 python3-redis python3-pytest valgrind procps iproute2
           iptables)
