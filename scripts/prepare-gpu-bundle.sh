#!/usr/bin/env bash
# Builds .device/ for scripts/gpu-check.sh: a jlink-ed JDK 25 runtime, our jars (without the CPU libtorch carriers:
# the GPU machine brings its own libtorch), core's compiled tests and the JUnit console launcher. About 55 MB.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
mvn -q -B -DskipTests package
mvn -q -B -pl core test-compile
rm -rf .device && mkdir -p .device/lib
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.management,java.xml,jdk.unsupported,java.naming \
  --strip-debug --no-header-files --no-man-pages --compress zip-9 --output .device/jdk
cp bindings/target/higgs4j-bindings-*.jar .device/lib/higgs4j-bindings.jar
cp core/target/higgs4j-core-*.jar .device/lib/higgs4j-core.jar
cp trainer/target/higgs4j-trainer-*.jar .device/lib/higgs4j-trainer.jar
cp trainer/target/lib/picocli-*.jar .device/lib/
cp trainer/target/lib/jackson-*.jar .device/lib/   # core reads JSON (safetensors headers, configs)
cp -r core/target/test-classes .device/test-classes
mvn -q -B dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.4 -DoutputDirectory=.device
mv .device/junit-platform-console-standalone-*.jar .device/junit-console.jar
[ -d ../shared/fixtures ] && cp -r ../shared/fixtures .device/fixtures
du -sh .device
