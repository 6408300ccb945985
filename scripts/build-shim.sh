#!/bin/sh
# Build ctr-shim, the static C helper that creates a container's namespaces
# (see shim/PROTOCOL.md), with musl so that it runs on any Linux host.
#
# usage: scripts/build-shim.sh [OUT]     (default: build/ctr-shim)
set -eu

if ! command -v musl-gcc >/dev/null 2>&1; then
  echo "musl-gcc not found: apt-get install musl-tools" >&2
  exit 1
fi

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/ctr-shim}
case $out in
  /*) ;;
  *) out=$(pwd)/$out ;;
esac

# musl-gcc searches only musl's own headers, and Debian's musl-dev ships no
# kernel headers: point it at the host's (linux-libc-dev) through a private
# include dir holding just linux/, asm/ and asm-generic/, so glibc's own
# headers can never be picked up by mistake.
multiarch=$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")
kernel_headers=$root/build/shim-include
for dir in /usr/include/linux /usr/include/asm-generic "/usr/include/$multiarch/asm"; do
  if [ ! -d "$dir" ]; then
    echo "$dir not found: apt-get install linux-libc-dev" >&2
    exit 1
  fi
done
mkdir -p "$kernel_headers" "$(dirname "$out")"
ln -sfn /usr/include/linux "$kernel_headers/linux"
ln -sfn /usr/include/asm-generic "$kernel_headers/asm-generic"
ln -sfn "/usr/include/$multiarch/asm" "$kernel_headers/asm"

# The shim reports the ctr version it was built with.
version=$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$root/package.json" 2>/dev/null | head -n 1)
version=${version:-0.0.0-dev}

# -s strips the shim itself (it is small and never debugged from a core);
# the Bun binary that embeds it is a different matter and is never stripped.
musl-gcc -static -Os -s \
  -std=c11 -D_GNU_SOURCE -DSHIM_VERSION="\"$version\"" \
  -Wall -Wextra -Werror \
  -ffunction-sections -fdata-sections -Wl,--gc-sections \
  -isystem "$kernel_headers" \
  -o "$out" "$root"/shim/*.c

echo "built $out ($(wc -c <"$out") bytes)"
