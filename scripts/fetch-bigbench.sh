#!/usr/bin/env bash
# Fetches BIG-bench task.json files (Apache-2.0) into a cache, for `hearth eval --tasks bigbench`
# or a BIG-bench task by name. Optional: Hearth's tests and its own suite (`--tasks core`) need
# none of it. Each file is checked against the sha256 of the version Hearth was compared with;
# cached files are not fetched again.
#
# Where it looks, in order, saying what each source lacked:
#   1. PyPI: the bigbench source package the index offers today (the versions that held the
#      task files are no longer offered; what is left holds none, so this finds nothing unless
#      a package with the tasks comes back);
#   2. BIG-bench's public repository on GitHub, file by file (needs internet access).
#
# usage: scripts/fetch-bigbench.sh      prints the cache folder on stdout; exit 1 when a task
#                                       could not be had from any source
# HEARTH_BIGBENCH sets the cache (default ~/.cache/hearth/bigbench).
set -euo pipefail

cache="${HEARTH_BIGBENCH:-$HOME/.cache/hearth/bigbench}"
repository="https://raw.githubusercontent.com/google/BIG-bench/main/bigbench/benchmark_tasks"
say() { printf '%s\n' "$*" >&2; }

# task.json files, by path under benchmark_tasks/
tasks="
ff716f0e399109146db3a998281c39954907b78268a9b633a95582d63847822f date_understanding/task.json
7d8f07136b3539d5555f0452355fed441d94f02edf730745a772f2c612ce3445 general_knowledge/task.json
552dec4d5067bdbe033e78e80fdf1f5a8061d17b385379b8ec5104fa17d07918 logical_deduction/five_objects/task.json
5e24146d600b1b2e2d8958e23851e7c958b1a7644a2540fa0de7fa3e51a68cf7 logical_deduction/seven_objects/task.json
5e3f4a7569cb70bb1469374d3d34fb7883445a9d5743e1a81fd8dcdaf6fcb40f logical_deduction/three_objects/task.json
e076d286bb54c9304de99c24a8d3ddd749be78c12af5d58315195b194c8efa18 navigate/task.json
dd1e8e8fe97e08d064788eed8fb0f1bd13013d5fa028617bdf418685f4ca726f physical_intuition/task.json
edc9f568b70ae6d4af0783764dbe4e4f18aa1242c675a93f534338d73a565348 social_iqa/task.json
925617612d19ca02d7b13bfb263300cc13701dca8851151a77be8ce986feadab sports_understanding/task.json
c36fa38ab146fd7cc60e9f4b7a34c979c5ffbcb4a6870302bf8d785fbe64d1f6 winowhy/task.json
"

have() { [ -f "$cache/$2" ] && [ "$(sha256sum "$cache/$2" | cut -d' ' -f1)" = "$1" ]; }
missing() { while read -r sha path; do [ -n "$sha" ] && ! have "$sha" "$path" && echo "$sha $path"; done <<< "$tasks"; true; }

# keep SHA PATH FILE SOURCE: caches FILE as PATH when its digest is SHA
keep() {
  local got
  got=$(sha256sum "$3" | cut -d' ' -f1)
  if [ "$got" != "$1" ]; then
    say "fetch-bigbench: $4's $2 has sha256 $got, not the $1 Hearth was compared with: not kept"
    return 1
  fi
  mkdir -p "$cache/$(dirname "$2")"
  cp "$3" "$cache/$2.partial" && mv "$cache/$2.partial" "$cache/$2"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "$(missing)" ]; then
  say "fetch-bigbench: looking for the bigbench source package on PyPI"
  if python3 -m pip download --quiet --no-deps --no-binary :all: -d "$tmp/pypi" bigbench > "$tmp/pip.log" 2>&1; then
    archive=$(ls "$tmp"/pypi/bigbench-*.tar.gz 2> /dev/null | head -1 || true)
    found=0
    if [ -n "$archive" ]; then
      mkdir -p "$tmp/unpacked" && tar -xzf "$archive" -C "$tmp/unpacked"
      while read -r sha path; do
        [ -n "$sha" ] || continue
        file=$(ls "$tmp"/unpacked/*/bigbench/benchmark_tasks/"$path" 2> /dev/null | head -1 || true)
        [ -n "$file" ] && keep "$sha" "$path" "$file" "$(basename "$archive")" && found=$((found + 1))
      done <<< "$(missing)"
    fi
    say "fetch-bigbench: $(basename "${archive:-no archive}") from PyPI gave $found of the task files"
  else
    say "fetch-bigbench: pip could not download a bigbench source package: $(tail -1 "$tmp/pip.log")"
  fi
fi

if [ -n "$(missing)" ]; then
  say "fetch-bigbench: fetching the rest from BIG-bench's repository on GitHub (needs internet access)"
  while read -r sha path; do
    [ -n "$sha" ] || continue
    status=0
    curl -fsSL --max-time 60 -o "$tmp/file" "$repository/$path" 2> "$tmp/curl.log" || status=$?
    if [ $status -eq 0 ]; then
      keep "$sha" "$path" "$tmp/file" "the repository" || true
    else
      say "fetch-bigbench: could not fetch $path from the repository: $(tail -1 "$tmp/curl.log")"
      # No name resolution or no connection: the other files will not come either.
      [ $status -ne 6 ] && [ $status -ne 7 ] || break
    fi
  done <<< "$(missing)"
fi

left=$(missing)
if [ -n "$left" ]; then
  say "fetch-bigbench: could not get $(echo "$left" | grep -c .) of the $(echo "$tasks" | grep -c task.json) task files:"
  echo "$left" | while read -r sha path; do say "  $path"; done
  say "fetch-bigbench: copy BIG-bench's benchmark_tasks/<task>/task.json files into $cache by hand, or use hearth eval --tasks core"
  exit 1
fi
echo "$cache"
