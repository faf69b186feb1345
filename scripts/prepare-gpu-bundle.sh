#!/usr/bin/env bash
# Builds .device/ for the GPU machine: a jlink-ed JDK 25 runtime and our jars (without the CPU libtorch carriers: the
# GPU machine brings its own libtorch; the benchmarks' own jar, not its JMH uber-jar, for GpuStepTimer), then for
#   check (default; scripts/gpu-check.sh): core's compiled tests with their resources and the JUnit console launcher;
#   bench (scripts/gpu-bench.sh): no tests (GpuStepTimer and GpuOpProbe are in the benchmarks jar), and jdk.jfr in the
#   runtime for flight recordings.
# The device takes 64 MiB with the repository: check is about 62 MB, bench about 57 MB. Neither runtime has java.xml
# (JUnit's XML reports need it: gpu-check.sh prints its summary instead).
set -euo pipefail
mode=${1:-check}
case "$mode" in check) extra="" ;; bench) extra=",jdk.jfr" ;; *) echo "usage: $0 [check|bench]" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
mvn -q -B -DskipTests package
[ "$mode" = check ] && mvn -q -B -pl core -am test-compile   # core's tests run there (-am: bindings from the reactor, not ~/.m2)
rm -rf .device && mkdir -p .device/lib
"$JAVA_HOME/bin/jlink" --add-modules "java.base,java.logging,jdk.unsupported$extra" \
  --strip-debug --no-header-files --no-man-pages --compress zip-9 --output .device/jdk
# a module's own jar, not its -sources or -javadoc companions
main_jar() { ls "$1"/target/higgs4j-"$1"-*.jar | grep -v -e '-sources\.jar$' -e '-javadoc\.jar$' | head -n 1; }
cp $(main_jar bindings) .device/lib/higgs4j-bindings.jar
cp $(main_jar core) .device/lib/higgs4j-core.jar
cp $(main_jar trainer) .device/lib/higgs4j-trainer.jar
cp $(main_jar benchmarks) .device/lib/higgs4j-benchmarks.jar   # GpuStepTimer (gpu-bench.sh), under 1 MB
# The trainer's runtime jars, without the CPU libtorch carriers (the GPU machine brings its own libtorch) and without
# XChart (a trimmed JDK has no AWT: the trainer then skips its loss plot). The device takes 64 MiB with the repository.
for j in trainer/target/lib/*.jar; do
  case $(basename "$j") in
    higgs4j-*|pytorch-*|openblas-*|xchart-*|pdfbox*|fontbox-*|graphics2d-*|VectorGraphics2D-*|animated-gif-*|commons-*|error_prone*|tokenizers-*) ;;
    *) cp "$j" .device/lib/ ;;
  esac
done
# DJL's tokenizers jar carries natives for four platforms; keep linux-x86_64's (about 14 MB instead of 55).
tok=$(ls trainer/target/lib/tokenizers-*.jar)
tmp=$(mktemp -d)
(cd "$tmp" && unzip -q "$root/$tok" && rm -rf native/lib/win-* native/lib/osx-* native/lib/linux-aarch64 && zip -q -r "$root/.device/lib/$(basename "$tok")" .)
rm -rf "$tmp"

if [ "$mode" = check ]; then
  cp -r core/target/test-classes .device/test-classes
  mvn -q -B dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.4 -DoutputDirectory=.device
  mv .device/junit-platform-console-standalone-*.jar .device/junit-console.jar
fi
mkdir -p .device/fixtures && cp -r core/src/test/resources/higgs-audio-v2-3b .device/fixtures/  # the released config, for gpu-bench.sh
du -sh .device
