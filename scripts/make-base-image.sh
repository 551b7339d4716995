#!/usr/bin/env bash
# make-base-image.sh — make debian:bookworm-slim locally when it is missing
# and cannot be pulled (DESIGN.md §6: machines with no registry).
#
# Usage: scripts/make-base-image.sh [image]   (default debian:bookworm-slim)
#
# Steps: present already → done. Else try `docker pull` (bounded), else
# debootstrap --variant=minbase of the same release, trim it like the
# official slim image, and `docker import` it under the name the Dockerfiles
# expect. Idempotent; the temp dir is removed on every exit path.
#
# Environment:
#   DEBIAN_MIRROR        default http://deb.debian.org/debian
#   DEBIAN_SECURITY      default http://deb.debian.org/debian-security
#   CLAUDE_BOTTLE_NO_PULL=1  skip the pull attempt (known offline machines)
#   PULL_TIMEOUT         seconds for the pull attempt (default 20)
set -euo pipefail

IMAGE=${1:-debian:bookworm-slim}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

log() { printf '==> make-base-image: %s\n' "$*"; }
die() { printf 'make-base-image: error: %s\n' "$*" >&2; exit 1; }

case "$IMAGE" in
  debian:bookworm-slim|debian:bookworm) ;;
  *) die "only debian:bookworm-slim can be made locally (asked for $IMAGE)";;
esac

command -v docker >/dev/null || die "docker CLI not found; install Docker Engine first"
docker info >/dev/null 2>&1 || die "cannot reach the Docker engine (is dockerd running, may this user use it?)"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE is present; nothing to do"
  exit 0
fi

if [ "${CLAUDE_BOTTLE_NO_PULL:-}" != 1 ]; then
  log "$IMAGE is missing; trying docker pull (timeout ${PULL_TIMEOUT:-20}s)"
  if timeout "${PULL_TIMEOUT:-20}" docker pull "$IMAGE"; then
    log "pulled $IMAGE"
    exit 0
  fi
  log "pull failed; making $IMAGE with debootstrap"
fi

[ "$(id -u)" = 0 ] || die "debootstrap needs root; run: sudo $0 $IMAGE"

if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

TMP=$(mktemp -d /var/tmp/claude-bottle-base.XXXXXX)
cleanup() {
  # debootstrap may leave proc/sys mounted after a failure.
  for m in proc sys dev/pts dev; do
    mountpoint -q "$TMP/rootfs/$m" 2>/dev/null && umount -l "$TMP/rootfs/$m" || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
ROOT=$TMP/rootfs

log "debootstrap --variant=minbase $SUITE from $MIRROR (about a minute)"
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" 2>&1 |
  grep -E '^I: (Retrieving Release|Validating Packages|Resolving|Extracting|Installing core|Configuring|Base system)' || true
[ -x "$ROOT/bin/sh" ] || die "debootstrap did not produce a root filesystem in $ROOT (see output above)"

log "configuring apt sources and the slim image's dpkg excludes"
rm -f "$ROOT/etc/apt/sources.list"
cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
# The same excludes and apt hygiene as the official debian:*-slim images.
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CFG
cat >"$ROOT/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
cat >"$ROOT/etc/apt/apt.conf.d/docker-no-languages" <<'CFG'
Acquire::Languages "none";
CFG
cat >"$ROOT/usr/sbin/policy-rc.d" <<'CFG'
#!/bin/sh
exit 101
CFG
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"

log "trimming caches, docs, man pages and locales"
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/cache/apt/*.bin \
       "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/log/*.log "$ROOT"/var/log/apt/* \
       "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/locale/* \
       "$ROOT"/usr/share/lintian/* "$ROOT"/tmp/* "$ROOT"/var/tmp/* "$ROOT"/debootstrap
find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
: >"$ROOT/etc/hostname"
: >"$ROOT/etc/resolv.conf"
rm -f "$ROOT/etc/machine-id"; : >"$ROOT/etc/machine-id"

log "importing as $IMAGE ($(du -sh "$ROOT" | cut -f1) on disk)"
tar -C "$ROOT" --numeric-owner -c . | docker import \
  --change 'CMD ["bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'LABEL dev.claude-bottle.base=debootstrap-minbase-'"$SUITE" \
  - "$IMAGE" >/dev/null

docker image inspect "$IMAGE" >/dev/null || die "docker import finished but $IMAGE is not there"
log "made $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
