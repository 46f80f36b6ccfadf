#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CPU time (user + system) to parse one translation unit that includes a calibrisk header:
#   g++ -std=c++17 -fsyntax-only, best of N runs, for the scoring-only <calibrisk/serve.hpp> and,
#   for comparison, <calibrisk/artifact/io.hpp> and the umbrella <calibrisk/calibrisk.hpp>.
# Usage: benchmarks/parse_time.sh [BUILD_DIR]   (BUILD_DIR holds include/calibrisk/version.hpp;
#        default build). Environment: CXX (default g++), RUNS (default 3).
# Prints one line per header: seconds of CPU, preprocessed lines and included files.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
cxx=${CXX:-g++}
runs=${RUNS:-3}
eigen=$(pkg-config --cflags-only-I eigen3 2>/dev/null || echo -I/usr/include/eigen3)
flags=(-std=c++17 -O2 -I"$root/include" -I"$build/include" $eigen)
if [[ ! -f "$build/include/calibrisk/version.hpp" ]]; then
  echo "parse_time.sh: $build/include/calibrisk/version.hpp not found; configure first" \
       "(cmake -S . -B build) or pass the build directory" >&2
  exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-28s %10s %12s %10s\n' header cpu_seconds pp_lines files
for header in calibrisk/serve.hpp calibrisk/artifact/io.hpp calibrisk/calibrisk.hpp; do
  src=$tmp/tu.cpp
  printf '#include <%s>\n' "$header" > "$src"
  best=""
  for ((r = 0; r < runs; r++)); do
    # bash's `times`-style accounting of the child: user + sys of the compiler only
    t=$( { /usr/bin/env TIMEFORMAT='%U %S' bash -c "time $cxx ${flags[*]} -fsyntax-only $src" ; } \
           2>&1 >/dev/null | tail -1 | awk '{printf "%.3f", $1 + $2}')
    if [[ -z "$best" ]] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
  done
  lines=$($cxx "${flags[@]}" -E "$src" | wc -l)
  files=$(($($cxx "${flags[@]}" -M "$src" | tr ' ' '\n' | grep -c '^/') - 1))
  printf '%-28s %10s %12s %10s\n' "$header" "$best" "$lines" "$files"
done
