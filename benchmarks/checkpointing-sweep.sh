#!/usr/bin/env bash
# Peak memory and step time of the small preset's LoRA step on CPU against sequence length (512 .. 8192), with and
# without gradient checkpointing: one JVM per point (StepPeakMemory), then a plot. Writes into benchmarks/target/
# checkpointing/ (sweep.log, checkpointing.png). About 15 minutes on 2 quiet cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source bin/malloc-env.sh
jar=benchmarks/target/benchmarks.jar
[ -f "$jar" ] || mvn -q -B -pl benchmarks -am package -DskipTests >&2
out=benchmarks/target/checkpointing
mkdir -p "$out"
: > "$out/sweep.log"
for seq in ${SEQS:-512 1024 2048 4096 8192}; do
  for pass in lean ckpt; do
    "$JAVA_HOME/bin/java" -Xms256m -Xmx256m -XX:+AlwaysPreTouch --enable-native-access=ALL-UNNAMED -cp "$jar" \
      io.higgs4j.benchmarks.StepPeakMemory small 1 "$seq" "$pass" 2 | tee -a "$out/sweep.log"
  done
done
"$JAVA_HOME/bin/java" -cp "$jar" io.higgs4j.benchmarks.PlotCheckpointing "$out/sweep.log" "$out/checkpointing.png"
echo "plot: $out/checkpointing.png"
