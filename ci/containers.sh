#!/usr/bin/env bash
# The testcontainers path, run for real: the way `tokenstore-check` gets a MySQL, Redis or
# PostgreSQL server when no URL names one and a Docker engine answers. No Docker engine runs on
# this machine and no image registry is reachable, so this script
# - `setup`: installs Debian's Podman (with runc); builds, from Debian's packages (debootstrap, then MariaDB, PostgreSQL and
#   Redis in it), one base image, and from it three stand-in images tagged as the images the kit
#   pins (mysql:8.4, postgres:16-alpine, redis:7.4), each entrypoint honouring the official
#   image's environment variables and printing the lines testcontainers waits for
#   (ci/containers/*-entrypoint.sh); images already built are kept;
# - `check`: starts Podman's Docker-compatible API on a socket of its own (stopped at the end)
#   and runs `tokenstore-check run --backend mysql --backend redis --backend postgres` with no
#   URL set and DOCKER_HOST on that socket, so the kit starts the three containers,
#   checks every rule on them and removes them; then checks that every rule passed and no
#   container is left.
# Usage: ci/containers.sh setup|check. Needs root and Debian's package registry.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
say() { printf '== %s\n' "$*"; }

work=$repo/target/containers
export CONTAINERS_CONF=$repo/ci/containers/containers.conf
socket=$work/podman.sock
base=localhost/tokenstore-servers:bookworm
# image, entrypoint, port: the images the kit pins (backends/registry/src/{mysql,postgres,redis}.rs)
images=(
    "docker.io/library/mysql:8.4 mysql-entrypoint.sh 3306"
    "docker.io/library/postgres:16-alpine postgres-entrypoint.sh 5432"
    "docker.io/library/redis:7.4 redis-entrypoint.sh 6379"
)

install_podman() {
    command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null && return
    say "installing Debian's podman, runc and debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q podman runc debootstrap >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q podman runc debootstrap >/dev/null; }
}

# twice LOG COMMAND...: runs COMMAND with its output in LOG, and once more if it fails (a
# download the network cut short should not fail the test command); then the log's end.
twice() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 || "$@" >>"$log" 2>&1 || { tail -20 "$log"; return 1; }
}

build_base() {
    podman image exists "$base" && return
    local rootfs=$work/rootfs
    say "building $base: debootstrap, then MariaDB, PostgreSQL and Redis from Debian's packages"
    rm -rf "$rootfs" && mkdir -p "$work"
    twice "$work/debootstrap.log" debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian
    # No service starts while the packages install (what the official images do too).
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod +x "$rootfs/usr/sbin/policy-rc.d"
    mount -t proc proc "$rootfs/proc"
    trap 'umount "$rootfs/proc" 2>/dev/null || true' EXIT
    twice "$work/packages.log" chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends mariadb-server mariadb-client postgresql redis-server
    chroot "$rootfs" apt-get clean
    umount "$rootfs/proc"
    trap - EXIT
    tar -C "$rootfs" -c . | podman import --quiet - "$base" >/dev/null
    rm -rf "$rootfs"
}

build_images() {
    local line image entrypoint port
    for line in "${images[@]}"; do
        read -r image entrypoint port <<<"$line"
        podman image exists "$image" && continue
        say "building the stand-in $image"
        printf 'FROM %s\nCOPY %s /usr/local/bin/\nEXPOSE %s\nENTRYPOINT ["/usr/local/bin/%s"]\n' \
            "$base" "$entrypoint" "$port" "$entrypoint" \
            | podman build --quiet --pull=never -t "$image" -f - ci/containers >/dev/null
    done
}

# api: starts Podman's Docker-compatible API on $socket, stopped when this script exits.
api() {
    rm -f "$socket"
    podman system service --time=0 "unix://$socket" >"$work/service.log" 2>&1 &
    service=$!
    trap 'kill "$service" 2>/dev/null || true' EXIT
    for _ in $(seq 300); do
        curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1 && return
        sleep 0.1
    done
    echo "Podman's API did not answer on $socket: $(tail -3 "$work/service.log")" >&2
    exit 1
}

check() {
    api
    export DOCKER_HOST=unix://$socket
    unset TOKENSTORE_MYSQL_URL TOKENSTORE_REDIS_URL TOKENSTORE_POSTGRES_URL
    say "tokenstore-check run --backend mysql --backend redis --backend postgres, no URL: the kit starts the containers"
    ./target/release/tokenstore-check run --backend mysql --backend redis --backend postgres --seed 2026 \
        --format json --out "$work/report.json"
    python3 - "$work/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
names = [s["name"] for s in report["stores"]]
assert names == ["mysql", "redis", "postgres"], names
for store in report["stores"]:
    failed = [r["id"] for r in store["rules"] if r["status"] != "pass"]
    assert not failed, (store["name"], failed)
    print(f'{store["name"]} in its container: {store["summary"]}')
PY
    local left
    left=$(podman ps -a --format '{{.Image}}' | grep -c -e mysql: -e postgres: -e redis: || true)
    [ "$left" = 0 ] || { podman ps -a >&2; echo "$left containers were left after the run" >&2; exit 1; }
    say "containers ok: every rule passed on the three, and none is left"
}

case "${1:-}" in
    setup) mkdir -p "$work"; install_podman; build_base; build_images ;;
    check) check ;;
    *) echo "usage: ci/containers.sh setup|check" >&2; exit 2 ;;
esac
