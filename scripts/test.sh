#!/usr/bin/env bash
# `npm test`: runs every test (src/**/*.test.ts, test/**/*.test.ts) with
# `bun test` as an unprivileged user against the local registry, and ends with
# the line `N passed, N failed, N skipped` counted from bun's JUnit report.
#
# As root (CI, or a developer with sudo): sets up the host, builds dist/ctr,
# starts the registry (and stops it afterwards if it was not already running),
# seeds the images, then runs the tests as $CTR_TEST_USER (ctrtest).
# As any other user: assumes the host is set up, starts and seeds the registry
# if it does not answer, and runs the tests as that user.
#
# Arguments go to `bun test` (e.g. `npm test -- test/harness.test.ts`).
# Environment: SKIP_BUILD=1 skips `npm run build`; CTR_TEST_REGISTRY,
# CTR_TEST_USER, CTR_BIN override the defaults; other CTR_* variables reach
# the tests.
set -euo pipefail
# shellcheck source=scripts/test-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/test-env.sh"

die() { printf 'test: error: %s\n' "$*" >&2; exit 1; }

RESULTS=""
cleanup() {
  if [[ $STARTED_REGISTRY -eq 1 ]]; then
    bash "$REPO/scripts/registry.sh" stop >/dev/null 2>&1 || true
    STARTED_REGISTRY=0
  fi
  [[ -n $RESULTS ]] && rm -rf "$RESULTS"
  RESULTS=""
}
trap cleanup EXIT

if [[ $(id -u) -eq 0 ]]; then
  bash "$REPO/scripts/setup-host.sh"
else
  [[ -x $BUN ]] || die "node_modules/.bin/bun is missing: run 'npm ci' (or scripts/setup-host.sh as root)"
fi

if [[ ${SKIP_BUILD:-} == 1 ]]; then
  echo "test: SKIP_BUILD=1, not building dist/ctr" >&2
else
  (cd "$REPO" && npm run --silent build) || die "npm run build failed"
fi

ensure_registry
"$BUN" "$REPO/scripts/seed-images.ts"
prepare_user_checkout
user_env

RESULTS="$(mktemp -d /tmp/ctr-test-results.XXXXXX)"
chmod 0755 "$RESULTS"
[[ $(id -u) -eq 0 ]] && chown "$TEST_USER" "$RESULTS"
JUNIT="$RESULTS/junit.xml"
LOG="$RESULTS/bun-test.log"

# Paths given as $REPO/... must name the same files in a copied checkout.
args=()
for a in "$@"; do
  [[ $a == "$REPO"/* ]] && a="$RUN_DIR/${a#"$REPO"/}"
  args+=("$a")
done

echo "test: running bun test as $(test_user_name) in $RUN_DIR" >&2
set +e
run_as_test_user "$RUN_DIR/node_modules/.bin/bun" test --reporter=junit --reporter-outfile="$JUNIT" "${args[@]}" </dev/null 2>&1 | tee "$LOG"
bun_rc=${PIPESTATUS[0]}
summary="$("$BUN" "$REPO/scripts/junit-summary.ts" "$JUNIT" --log "$LOG" --exit-code "$bun_rc")"
summary_rc=$?
set -e

cleanup
trap - EXIT
[[ -n $summary ]] && echo "$summary"
exit "$summary_rc"
