#!/usr/bin/env bash
# Builds hearth (release), fetches SmolLM2-135M-Instruct Q4_1 (sha256-checked, cached), and
# runs it. Without arguments it completes a sample prompt greedily; `chat` starts an
# interactive chat; any other arguments are passed to `hearth run MODEL ...` (for example:
# --verbose --temperature 0.7 "Tell me a story").
set -euo pipefail
cd "$(dirname "$0")/.."
echo "building hearth (release)..." >&2
swift build -c release --product hearth 2>&1 | grep -E "error|warning: |Compiling hearth|Build complete" >&2 || true
bin="$(swift build -c release --show-bin-path)/hearth"
[ -x "$bin" ] || { echo "quickstart: the build failed; run 'swift build -c release' to see why" >&2; exit 1; }
model=$(scripts/fetch-models.sh smollm2)
if [ $# -eq 0 ]; then
  set -- --verbose --temperature 0 --max-tokens 64 "Once upon a time, in a small village nestled between two mountains, there lived"
elif [ "$1" = "chat" ]; then
  shift
fi
echo "+ hearth run $model $*" >&2
exec "$bin" run "$model" "$@"
