#!/usr/bin/env bash
# Type-checks src/, test/ and scripts/ with tsc (no tsconfig: the top level is fixed).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find src test scripts -name '*.ts' -not -path '*/node_modules/*')
exec node_modules/.bin/tsc --noEmit --strict --noUncheckedIndexedAccess --target esnext --module esnext \
  --moduleResolution bundler --allowImportingTsExtensions --resolveJsonModule --skipLibCheck \
  --types bun "${files[@]}"
