#!/usr/bin/env bash
# Runs Hearth's tests: fetches the real models into the cache first (sha256-checked; a no-op
# when cached), checks that the built-in evaluation suite is what scripts/make-suite.py makes
# from its Debian packages, runs every test target in a release build (the kernels are too slow
# unoptimized for the real-model tests), then drives the real `hearth serve` binary with the
# official `openai`, `ollama` and `huggingface_hub` Python clients (installed from PyPI the first time, with
# jsonschema to validate constrained output, into .build/venv-clients), and tests the model
# store and the hub through the binary (imports and pulls killed part way, concurrent imports
# and pushes, digests, access), the security review's attacks on both servers with a bounded fuzz
# (scripts/test-security.py), the leaderboard (signatures checked with the `cryptography`
# package, reproduction on the hub), and `hearth convert` against folders the official transformers
# library writes, and `hearth eval` (also against lm-evaluation-harness through `hearth serve`;
# torch, transformers and lm-eval in ~/.cache/hearth/venv-transformers). Extra arguments go to
# `swift test`; with arguments, the client test is skipped (a filtered run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-models.sh all > /dev/null
# The built-in evaluation suite is committed; check that it is what its script makes from the
# Debian packages (wordnet-base, dict-elements, dict-devil) before anything runs on it.
python3 scripts/make-suite.py --check
export HEARTH_REQUIRE_MODELS=1
# One build for the tests and the hearth binary the client test starts.
echo "building hearth and its tests (release)..." >&2
mkdir -p .build
if ! swift build -c release --build-tests > .build/test-build.log 2>&1; then
  cat .build/test-build.log >&2
  exit 1
fi
swift test -c release --skip-build "$@"
[ $# -eq 0 ] || exit 0

echo "== hearth serve with the openai and ollama clients" >&2
venv=.build/venv-clients
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import openai, ollama, jsonschema, huggingface_hub, cryptography" 2> /dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet openai ollama jsonschema huggingface_hub cryptography
fi
bin="$(swift build -c release --show-bin-path)/hearth"
model=$(scripts/fetch-models.sh smollm2)
"$venv/bin/python" scripts/test-serve-clients.py "$bin" "$model"

echo "== a bounded load test of hearth serve (16 clients x 8 requests, some hanging up)" >&2
python3 scripts/load-test.py "$bin" "$model"

echo "== the model store through the hearth binary (kills, concurrent imports, bad input)" >&2
python3 scripts/test-store-cli.py "$bin" "$model"

echo "== the command line: every command's help, the errors of common mistakes, run's standard output" >&2
python3 scripts/test-cli.py "$bin" "$model"

echo "== security: the review's attacks on hearth serve and hearth hub serve, and a bounded fuzz" >&2
python3 scripts/test-security.py "$bin" "$model"

echo "== the hub: push, pull, resume, digests, access, throughput against curl" >&2
"$venv/bin/python" scripts/test-hub.py "$bin" "$model"

echo "== the leaderboard: signed results, refusals, reproduction on the hub, pages, hearth leaderboard" >&2
"$venv/bin/python" scripts/test-leaderboard.py "$bin" "$model"

echo "== hearth convert against folders transformers writes (SmolLM2, Qwen2.5)" >&2
# torch and transformers take 5 GB: kept beside the model cache, made once.
tvenv="$HOME/.cache/hearth/venv-transformers"
if [ ! -x "$tvenv/bin/python" ] || ! "$tvenv/bin/python" -c "import torch, transformers, accelerate, gguf, lm_eval" 2> /dev/null; then
  python3 -m venv "$tvenv"
  "$tvenv/bin/pip" install --quiet torch==2.15.0 transformers==5.24.0 accelerate==1.15.0 gguf==0.19.0 numpy "lm-eval[api]==0.4.13"
fi
"$tvenv/bin/python" scripts/test-convert.py "$bin" "$model" "$(scripts/fetch-models.sh qwen2.5-coder)"

echo "== hearth eval: perplexity, the built-in suite, BIG-bench's format, bad task files, a killed run resumed, lm-eval through hearth serve" >&2
"$tvenv/bin/python" scripts/test-eval.py "$bin" "$model" --lm-eval
