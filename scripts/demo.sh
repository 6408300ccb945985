#!/usr/bin/env bash
# `npm run demo`: from a fresh Debian 12 machine to `ctr run --rm alpine echo
# hello`, printed by a container that the unprivileged user ctrtest runs.
#
# As root: sets up the host (scripts/setup-host.sh), builds dist/ctr, starts
# the local registry and seeds it, then runs ctr as ctrtest. As any other
# user: assumes the host is set up and runs ctr as that user. The registry is
# left running either way.
set -euo pipefail
# shellcheck source=scripts/test-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/test-env.sh"

die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

if [[ $(id -u) -eq 0 ]]; then
  bash "$REPO/scripts/setup-host.sh"
else
  [[ -x $BUN ]] || die "node_modules/.bin/bun is missing: run 'npm ci' (or this script as root)"
fi
(cd "$REPO" && npm run --silent build) || die "npm run build failed"
ensure_registry
"$BUN" "$REPO/scripts/seed-images.ts"
prepare_user_checkout
user_env

echo "demo: as $(test_user_name): ctr run --rm alpine echo hello" >&2
set +e
run_as_test_user "${CTR_BIN:-$RUN_DIR/dist/ctr}" run --rm alpine echo hello </dev/null
rc=$?
set -e
echo "demo: the local registry is still running on $REGISTRY; stop it with: bash scripts/registry.sh stop" >&2
exit "$rc"
