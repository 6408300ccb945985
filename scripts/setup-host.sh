#!/usr/bin/env bash
# Prepares a Debian 12 host to build ctr and run its test suite as an
# unprivileged user. Run as root. Idempotent, and quick when nothing is missing:
# apt is only asked when a package is absent, and files are only rewritten when
# their content would change.
#
# What it changes on the host:
#   - installs the Debian packages listed in PACKAGES below
#   - creates the user ctrtest (home /home/ctrtest) with 4194304 subordinate
#     uids and gids in /etc/subuid and /etc/subgid, in blocks no other user
#     has (an older, smaller range is kept and a second block added), so
#     images with owners above 2^21 pull and keep them
#   - creates /run/user/<uid> for it (no logind here to do that)
#   - makes /dev/fuse and /dev/net/tun 0666, as a normal distribution has them
#   - writes ~ctrtest/.config/containers/registries.conf so that short names
#     resolve through the local test registry ($CTR_TEST_REGISTRY)
#   - runs `npm ci` in the checkout when node_modules is missing or stale
#
# Environment: CTR_TEST_USER (default ctrtest), CTR_TEST_REGISTRY (default
# 127.0.0.1:5055).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEST_USER="${CTR_TEST_USER:-ctrtest}"
REGISTRY="${CTR_TEST_REGISTRY:-127.0.0.1:5055}"

# uidmap: newuidmap/newgidmap for rootless user namespaces; slirp4netns and
# passt: rootless networking; fuse-overlayfs: overlay fallback;
# docker-registry, apache2-utils (htpasswd -B) and openssl: the local test
# registries (plain, basic-auth, TLS); busybox-static: seed image
# content; musl-tools + linux-libc-dev: the static C shim; podman, crun,
# skopeo, hyperfine: comparison and benchmarks.
PACKAGES=(
  uidmap slirp4netns fuse-overlayfs passt docker-registry busybox-static
  musl-tools linux-libc-dev jq curl iproute2 tar gzip apache2-utils openssl
  podman crun skopeo hyperfine
)
# Enough ids for layer owners above 2^21 (tar's octal limit, past which
# PAX or base-256 headers carry the id), which real images have.
SUBID_COUNT=4194304
SUBID_FIRST=200000

log() { printf 'setup-host: %s\n' "$*" >&2; }
die() { printf 'setup-host: error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and creates the user $TEST_USER)"

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing ${missing[*]}"
  # Package postinst scripts would start daemons (docker-registry's init
  # script serves on :5000 with htpasswd auth); policy-rc.d exit 101 is
  # Debian's documented way to keep them from starting.
  local own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local rc=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  } </dev/null || rc=$?
  [[ $own_policy -eq 1 ]] && rm -f /usr/sbin/policy-rc.d
  [[ $rc -eq 0 ]] || die "apt-get install ${missing[*]} failed (exit $rc)"
}

# Prints the first start >= SUBID_FIRST such that [start, start+$1) meets
# no range already in /etc/subuid or /etc/subgid. Both files are read so uid
# and gid blocks can share one start, which keeps the mapping easy to read.
first_free_subid_block() { # count
  cat /etc/subuid /etc/subgid 2>/dev/null |
    awk -F: -v first="$SUBID_FIRST" -v count="$1" '
      NF >= 3 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ { n++; lo[n] = $2; hi[n] = $2 + $3 }
      END {
        start = first
        do {
          moved = 0
          for (i = 1; i <= n; i++)
            if (start < hi[i] && start + count > lo[i]) { start = hi[i]; moved = 1 }
        } while (moved)
        print start
      }'
}

subid_total() { # file user: how many subordinate ids the user has in all its ranges
  awk -F: -v u="$2" '$1 == u && $3 ~ /^[0-9]+$/ { t += $3 } END { print t + 0 }' "$1" 2>/dev/null || echo 0
}

ensure_user() {
  if ! getent passwd "$TEST_USER" >/dev/null; then
    log "creating user $TEST_USER"
    # SUB_*_COUNT=0 stops useradd from picking subordinate ids itself: we pick
    # a block from SUBID_FIRST up below.
    useradd --create-home --home-dir "/home/$TEST_USER" --shell /bin/bash \
      --user-group -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$TEST_USER"
  fi
  touch /etc/subuid /etc/subgid
  # A range that is too small is widened by a second block rather than
  # replaced: files already unpacked with the first block keep their owners.
  local need_u need_g need start
  need_u=$((SUBID_COUNT - $(subid_total /etc/subuid "$TEST_USER")))
  need_g=$((SUBID_COUNT - $(subid_total /etc/subgid "$TEST_USER")))
  need=$((need_u > need_g ? need_u : need_g))
  [[ $need -gt 0 ]] || return 0
  start="$(first_free_subid_block "$need")"
  if [[ $need_u -gt 0 ]]; then
    log "giving $TEST_USER subordinate uids $start-$((start + need_u - 1))"
    usermod --add-subuids "$start-$((start + need_u - 1))" "$TEST_USER"
  fi
  if [[ $need_g -gt 0 ]]; then
    log "giving $TEST_USER subordinate gids $start-$((start + need_g - 1))"
    usermod --add-subgids "$start-$((start + need_g - 1))" "$TEST_USER"
  fi
}

ensure_runtime_dir() {
  local uid gid dir
  uid="$(id -u "$TEST_USER")"
  gid="$(id -g "$TEST_USER")"
  dir="/run/user/$uid"
  mkdir -p /run/user
  chmod 0755 /run/user
  [[ -d $dir ]] || mkdir "$dir"
  chown "$uid:$gid" "$dir"
  chmod 0700 "$dir"
}

ensure_devices() {
  local dev
  for dev in /dev/fuse /dev/net/tun; do
    if [[ -c $dev ]]; then
      chmod 0666 "$dev"
    else
      log "warning: $dev is missing; tests that need it will fail"
    fi
  done
}

# Writes stdin to $1 owned by the test user, unless the content is the same.
write_user_file() {
  local path="$1" tmp
  tmp="$(mktemp)"
  cat >"$tmp"
  if [[ -f $path ]] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
  else
    install -o "$TEST_USER" -g "$(id -g "$TEST_USER")" -m 0644 "$tmp" "$path"
    rm -f "$tmp"
    log "wrote $path"
  fi
}

ensure_registries_conf() {
  local home dir
  home="$(getent passwd "$TEST_USER" | cut -d: -f6)"
  dir="$home/.config/containers"
  install -d -o "$TEST_USER" -g "$(id -g "$TEST_USER")" -m 0755 "$home/.config" "$dir"
  # Short names resolve to docker.io as on a real machine, and docker.io is
  # mirrored by the local registry, so `ctr pull alpine` exercises the same
  # resolution path a user's does without leaving the machine.
  write_user_file "$dir/registries.conf" <<EOF
# Written by ctr's scripts/setup-host.sh: docker.io is served by the local test registry.
unqualified-search-registries = ["docker.io"]

[[registry]]
prefix = "docker.io"
location = "docker.io"

[[registry.mirror]]
location = "$REGISTRY"
insecure = true

[[registry]]
location = "$REGISTRY"
insecure = true
EOF
}

# npm ci replaces node_modules wholesale, so it only runs when the tree does
# not match the lock file; the stamp records the lock file it was checked
# against so later runs cost one sha256sum.
ensure_node_modules() {
  command -v npm >/dev/null || die "npm is not installed (Node.js 20 with npm is expected on the host)"
  local stamp="$REPO/node_modules/.ctr-lock.sha256" want
  want="$(cat "$REPO/package.json" "$REPO/package-lock.json" | sha256sum | cut -d' ' -f1)"
  if [[ -f $stamp && "$(cat "$stamp")" == "$want" && -x $REPO/node_modules/.bin/bun ]]; then
    return 0
  fi
  if [[ -d $REPO/node_modules ]] && [[ -x $REPO/node_modules/.bin/bun ]] &&
    (cd "$REPO" && npm ls --all >/dev/null 2>&1) && "$REPO/node_modules/.bin/bun" --version >/dev/null 2>&1; then
    printf '%s\n' "$want" >"$stamp"
    return 0
  fi
  log "installing npm dependencies (npm ci)"
  (cd "$REPO" && npm ci --no-audit --no-fund </dev/null) || die "npm ci failed"
  "$REPO/node_modules/.bin/bun" --version >/dev/null || die "node_modules/.bin/bun does not run after npm ci"
  printf '%s\n' "$want" >"$stamp"
}

install_packages
ensure_user
ensure_runtime_dir
ensure_devices
ensure_registries_conf
ensure_node_modules
log "host ready (user $TEST_USER uid $(id -u "$TEST_USER"), registry $REGISTRY)"
