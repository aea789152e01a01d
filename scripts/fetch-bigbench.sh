#!/usr/bin/env bash
# Fetches the BIG-bench multiple-choice tasks of Hearth's evaluation suite from the source
# package of PyPI's bigbench 1.0.0 (Apache-2.0) into a cache, checking the package's and every
# task file's sha256. Cached tasks are not fetched again. Nothing of it is committed.
#
# usage: scripts/fetch-bigbench.sh      prints the cache folder on stdout
# HEARTH_BIGBENCH sets the cache (default ~/.cache/hearth/bigbench).
set -euo pipefail

cache="${HEARTH_BIGBENCH:-$HOME/.cache/hearth/bigbench}"
say() { printf '%s\n' "$*" >&2; }
die() { say "fetch-bigbench: $*"; exit 1; }

package_sha=1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2
# task.json files of the suite, by path under benchmark_tasks/
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

complete() {
  local sha path
  while read -r sha path; do
    [ -n "$sha" ] || continue
    [ -f "$cache/$path" ] && [ "$(sha256sum "$cache/$path" | cut -d' ' -f1)" = "$sha" ] || return 1
  done <<< "$tasks"
}

if ! complete; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  say "fetch-bigbench: downloading the bigbench 1.0.0 source package from PyPI (340 MiB)"
  # The source package only: pip 23 still downloads it (it runs the package's metadata step).
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$tmp" bigbench==1.0.0 >&2 \
    || die "pip could not download bigbench==1.0.0"
  archive="$tmp/bigbench-1.0.0.tar.gz"
  [ -f "$archive" ] || die "pip gave no bigbench-1.0.0.tar.gz"
  got=$(sha256sum "$archive" | cut -d' ' -f1)
  [ "$got" = "$package_sha" ] || die "bigbench-1.0.0.tar.gz: sha256 $got, expected $package_sha"
  members=()
  while read -r sha path; do [ -n "$sha" ] && members+=("bigbench-1.0.0/bigbench/benchmark_tasks/$path"); done <<< "$tasks"
  tar -xzf "$archive" -C "$tmp" "${members[@]}"
  while read -r sha path; do
    [ -n "$sha" ] || continue
    got=$(sha256sum "$tmp/bigbench-1.0.0/bigbench/benchmark_tasks/$path" | cut -d' ' -f1)
    [ "$got" = "$sha" ] || die "$path: sha256 $got, expected $sha"
    mkdir -p "$cache/$(dirname "$path")"
    cp "$tmp/bigbench-1.0.0/bigbench/benchmark_tasks/$path" "$cache/$path.partial"
    mv "$cache/$path.partial" "$cache/$path"
  done <<< "$tasks"
  say "fetch-bigbench: $(echo "$tasks" | grep -c task.json) task files in $cache"
fi
echo "$cache"
