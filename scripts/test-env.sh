# Sourced by scripts/test.sh and scripts/demo.sh: who runs ctr in tests, from
# which directory, and with which environment.
#
# Sets REPO, TEST_USER, REGISTRY, BUN and defines:
#   ensure_registry        start the local registry unless it answers; sets
#                          STARTED_REGISTRY=1 when this shell started it
#   prepare_user_checkout  sets RUN_DIR: the checkout itself when the test user
#                          can read all of it, else a world-readable copy
#   user_env               fills USER_ENV with the `env -i` assignments the
#                          tests run under (needs RUN_DIR)
#   test_user_name         the user tests and the demo run as
#   run_as_test_user CMD   runs CMD as that user in RUN_DIR with USER_ENV only
# shellcheck shell=bash

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEST_USER="${CTR_TEST_USER:-ctrtest}"
REGISTRY="${CTR_TEST_REGISTRY:-127.0.0.1:5055}"
BUN="$REPO/node_modules/.bin/bun"
# shellcheck disable=SC2034 # read by the scripts that source this one
STARTED_REGISTRY=0
# Where the checkout is copied when the test user cannot read it (a clone
# under /root, or files written with umask 077).
CHECKOUT_COPY=/var/tmp/ctr-test-checkout
SYSTEM_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

export CTR_TEST_REGISTRY="$REGISTRY"
# The basic-auth and TLS instances (scripts/registry.sh), passed to the tests
# as CTR_* variables like any other.
export CTR_TEST_REGISTRY_AUTH="${CTR_TEST_REGISTRY_AUTH:-127.0.0.1:5056}"
export CTR_TEST_REGISTRY_AUTH_USER="${CTR_TEST_REGISTRY_AUTH_USER:-ctrtest}"
export CTR_TEST_REGISTRY_AUTH_PASSWORD="${CTR_TEST_REGISTRY_AUTH_PASSWORD:-ctr-test-password}"
export CTR_TEST_REGISTRY_TLS="${CTR_TEST_REGISTRY_TLS:-127.0.0.1:5057}"

# STARTED_REGISTRY=1 only when the plain instance was not answering: then
# everything is ours to stop afterwards. Missing auth/TLS instances beside a
# running plain one are started and left running, as a shared plain one is.
ensure_registry() {
  if ! bash "$REPO/scripts/registry.sh" status >/dev/null 2>&1; then
    if ! bash "$REPO/scripts/registry.sh" status 2>/dev/null | grep -q '^registry: plain running\|^registry: plain: something'; then
      # shellcheck disable=SC2034
      STARTED_REGISTRY=1
    fi
    bash "$REPO/scripts/registry.sh" start
  fi
}

# True when TEST_USER can reach the checkout and every file in it (.git
# aside) is world-readable and every directory world-searchable.
user_can_read_checkout() {
  runuser -u "$TEST_USER" -- test -r "$REPO/package.json" -a -x "$BUN" 2>/dev/null || return 1
  [[ -z "$(find "$REPO" -path "$REPO/.git" -prune -o \( ! -perm -o=r -o \( -type d ! -perm -o=x \) \) -print -quit)" ]]
}

prepare_user_checkout() {
  if [[ $(id -u) -ne 0 ]] || user_can_read_checkout; then
    RUN_DIR="$REPO"
    return 0
  fi
  printf 'test-env: %s cannot read %s; running from a copy in %s\n' "$TEST_USER" "$REPO" "$CHECKOUT_COPY" >&2
  rm -rf "$CHECKOUT_COPY"
  mkdir -p "$CHECKOUT_COPY"
  tar -C "$REPO" --exclude=./.git -cf - . | tar -C "$CHECKOUT_COPY" -xf -
  chmod -R a+rX,go-w "$CHECKOUT_COPY"
  chmod 0755 "$CHECKOUT_COPY"
  RUN_DIR="$CHECKOUT_COPY"
}

user_env() {
  local home uid name value
  if [[ $(id -u) -eq 0 ]]; then
    home="$(getent passwd "$TEST_USER" | cut -d: -f6)"
    uid="$(id -u "$TEST_USER")"
    USER_ENV=(HOME="$home" USER="$TEST_USER" LOGNAME="$TEST_USER" SHELL=/bin/bash)
  else
    uid="$(id -u)"
    USER_ENV=(HOME="${HOME:-$(getent passwd "$uid" | cut -d: -f6)}" USER="$(id -un)" LOGNAME="$(id -un)" SHELL="${SHELL:-/bin/bash}")
    [[ -n ${XDG_CONFIG_HOME:-} ]] && USER_ENV+=(XDG_CONFIG_HOME="$XDG_CONFIG_HOME")
  fi
  USER_ENV+=(PATH="$RUN_DIR/node_modules/.bin:$SYSTEM_PATH" LANG=C.UTF-8)
  # setup-host.sh creates /run/user/UID for the test user; anyone else keeps
  # theirs, or has none and gets ctr's own fallback.
  if [[ $(id -u) -ne 0 && -n ${XDG_RUNTIME_DIR:-} ]]; then
    USER_ENV+=(XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR")
  elif [[ -d /run/user/$uid ]]; then
    USER_ENV+=(XDG_RUNTIME_DIR="/run/user/$uid")
  fi
  [[ -n ${CI:-} ]] && USER_ENV+=(CI="$CI")
  [[ -n ${TMPDIR:-} && $(id -u) -ne 0 ]] && USER_ENV+=(TMPDIR="$TMPDIR")
  # Other CTR_* settings (CTR_DEBUG, ...) pass through; the two the harness
  # owns are set last so they win.
  while IFS='=' read -r name value; do
    case "$name" in
    CTR_BIN | CTR_TEST_REGISTRY | CTR_TEST_USER) ;;
    CTR_*) USER_ENV+=("$name=$value") ;;
    esac
  done < <(env | grep -E '^CTR_[A-Za-z0-9_]*=' || true)
  USER_ENV+=(
    CTR_BIN="${CTR_BIN:-$RUN_DIR/dist/ctr}"
    CTR_TEST_REGISTRY="$REGISTRY"
  )
}

# The user the tests run as: TEST_USER under root, else the caller.
test_user_name() {
  if [[ $(id -u) -eq 0 ]]; then echo "$TEST_USER"; else id -un; fi
}

# Runs "$@" as the test user (or as the current user when not root) in RUN_DIR
# with USER_ENV and nothing else from this environment.
run_as_test_user() {
  if [[ $(id -u) -eq 0 ]]; then
    (cd "$RUN_DIR" && runuser -u "$TEST_USER" -- env -i "${USER_ENV[@]}" "$@")
  else
    (cd "$RUN_DIR" && env -i "${USER_ENV[@]}" "$@")
  fi
}
