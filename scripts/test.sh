#!/usr/bin/env bash
# Runs Hearth's tests: fetches the real models into the cache first (sha256-checked; a no-op
# when cached), then runs every test target in a release build (the kernels are too slow
# unoptimized for the real-model tests). Extra arguments go to `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-models.sh all > /dev/null
export HEARTH_REQUIRE_MODELS=1
exec swift test -c release "$@"
