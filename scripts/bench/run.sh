#!/usr/bin/env bash
# `npm run bench`: ctr against podman, side by side, as the unprivileged user.
# Run as root on the machine the tests run on (see README.md, Benchmarks).
#
# 1. Sets up the host: scripts/setup-host.sh (packages, the user, registries
#    conf), debootstrap, iperf3 and strace, and the cgroup v1 controllers
#    that no systemd mounted here (without them crun refuses every container).
# 2. Builds dist/ctr unless CTR_BIN names a binary or SKIP_BUILD=1.
# 3. Starts the local registry unless it answers (and stops it afterwards if
#    it started it), seeds the test images and the bench's images: a ~30 MB
#    Debian (built once with debootstrap, about two minutes; later runs reuse
#    it) and the same plus iperf3.
# 4. Runs scripts/bench/bench.ts, which times everything as $CTR_TEST_USER
#    with hyperfine and prints a markdown report on stdout (progress on
#    stderr).
#
# Environment: CTR_BIN, SKIP_BUILD, CTR_TEST_USER, CTR_TEST_REGISTRY, and the
# CTR_BENCH_* settings described at the top of scripts/bench/bench.ts.
set -euo pipefail
# shellcheck source=scripts/test-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../test-env.sh"

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root: it sets up the host, then times ctr and podman as the user $TEST_USER"

cleanup() {
  if [[ $STARTED_REGISTRY -eq 1 ]]; then
    bash "$REPO/scripts/registry.sh" stop >/dev/null 2>&1 || true
    STARTED_REGISTRY=0
  fi
}
trap cleanup EXIT

bash "$REPO/scripts/setup-host.sh"

# debootstrap builds the pull image; iperf3 is the throughput test (client
# on the host, and copied into an image for the server); strace explains
# missed targets.
missing=()
for p in debootstrap iperf3 strace; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
fi

# What systemd would have mounted: crun (podman's runtime) opens every v1
# controller the kernel lists in /proc/cgroups, and fails on an unmounted one.
mount_cgroup_v1() {
  [[ -d /sys/fs/cgroup ]] && mountpoint -q /sys/fs/cgroup || return 0
  # A pure cgroup v2 host has nothing to add.
  [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]] && return 0
  local name controllers
  while read -r name _ _ enabled; do
    [[ $name == \#* || $enabled != 1 ]] && continue
    # Already mounted on its own or with others (cpu,cpuacct)?
    grep -qE "^cgroup /sys/fs/cgroup/[^ ]* cgroup [^ ]*\b${name}\b" /proc/mounts && continue
    case "$name" in
    net_cls | net_prio) controllers=net_cls,net_prio ;;
    *) controllers=$name ;;
    esac
    mountpoint -q "/sys/fs/cgroup/$controllers" && continue
    mkdir -p "/sys/fs/cgroup/$controllers"
    mount -t cgroup -o "$controllers" cgroup "/sys/fs/cgroup/$controllers" ||
      die "mount -t cgroup -o $controllers failed"
    log "mounted cgroup v1 controller $controllers on /sys/fs/cgroup/$controllers"
    if [[ $controllers == net_cls,net_prio ]]; then
      [[ -e /sys/fs/cgroup/net_cls ]] || ln -s net_cls,net_prio /sys/fs/cgroup/net_cls
      [[ -e /sys/fs/cgroup/net_prio ]] || ln -s net_cls,net_prio /sys/fs/cgroup/net_prio
    fi
  done </proc/cgroups
}
mount_cgroup_v1

if [[ -n ${CTR_BIN:-} ]]; then
  [[ -x $CTR_BIN ]] || die "CTR_BIN=$CTR_BIN is not an executable file"
elif [[ ${SKIP_BUILD:-} == 1 ]]; then
  log "SKIP_BUILD=1, using the existing dist/ctr"
else
  (cd "$REPO" && npm run --silent build) || die "npm run build failed"
fi

ensure_registry
"$BUN" "$REPO/scripts/seed-images.ts" >&2
"$BUN" "$REPO/scripts/bench/seed-bench-image.ts" >&2

"$BUN" "$REPO/scripts/bench/bench.ts"
