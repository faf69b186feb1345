#!/usr/bin/env bash
# JVM exit while libtorch loads: a SIGTERM (or System.exit) during System.load of libtorch_cpu.so used to crash the JVM
# (SIGSEGV in c10::Dispatcher / ObservedOperators, or SIGABRT): exit() ran libtorch's static destructors while its
# initializers still ran. LibTorchLoader now holds exit back until the load returns (ExitGuard); ExitGuardTest checks
# that deterministically, and this script shows the race itself, which needs luck: TRIES tries per mode (default 40,
# two at a time, 20-60 s per mode on 2 cores) with delays spread over 0-4 ms; see ExitDuringLoad.java.
#   bare:   System.load with no guard, as LibTorchLoader did; crashed or hung in 5-19 of 40 tries here
#           (exit 134 SIGABRT, 139 SIGSEGV, 137 hung in exit() and killed after 30 s)
#   loader: LibTorchLoader.load(); expect only exit code 143 and no hs_err file
# usage: scripts/exit-during-load.sh [TRIES] [MODE...]   (after a build: mvn -pl trainer -am -DskipTests package)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tries=${1:-40}
if [ $# -gt 1 ]; then modes=("${@:2}"); else modes=(bare loader); fi
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
cp="$root/trainer/target/lib/*"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"${java%/java}/javac" -cp "$cp" -d "$work" "$root/scripts/exit-during-load/ExitDuringLoad.java"
# the extracted carried libtorch (LibTorchLoader extracts it on first use)
dir=$("$java" --enable-native-access=ALL-UNNAMED -cp "$cp" "$root/scripts/exit-during-load/PrintDir.java" 2>/dev/null || true)
[ -f "$dir/libtorch_cpu.so" ] || { echo "could not find the extracted libtorch (got '$dir')" >&2; exit 1; }
for mode in "${modes[@]}"; do
  mkdir -p "$work/$mode"
  # a try that hangs (exit() deadlocked in a libtorch destructor, seen in bare mode) is killed after 30 s: code 137
  seq 0 $((tries - 1)) | xargs -P 2 -I{} bash -c '
    timeout -s KILL 30 "$0" --enable-native-access=ALL-UNNAMED -XX:ErrorFile="$1/hs_err_%p.log" -cp "$2:$3" \
      ExitDuringLoad "$4" $(( {} * 4000 / ($6 > 1 ? $6 - 1 : 1) )) "$5" >/dev/null 2>&1
    echo $?' "$java" "$work/$mode" "$work" "$cp" "$dir" "$mode" "$tries" >"$work/$mode.codes" 2>/dev/null || true
  echo "$mode: exit codes $(sort -n "$work/$mode.codes" | uniq -c | awk '{printf "%s x%s  ", $2, $1}')hs_err files: $(ls "$work/$mode" | grep -c hs_err || true)"
done
