#!/usr/bin/env bash
# A short run of every benchmark (a few minutes on 2 cores): builds the benchmark jar when needed (with DJL's native
# libtorch, profile `djl`), runs JMH with short settings, prints a table with the ratios, and ends with one line per
# headline ratio, `name: value`. Results land in benchmarks/target/quick/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
jar=benchmarks/target/benchmarks.jar
if [ ! -f "$jar" ] || ! unzip -l "$jar" 2>/dev/null | grep -q "pytorch-native-cpu\|ai/djl/pytorch/jni" || \
   [ -n "$(find core/src trainer/src bindings/src benchmarks/src -newer "$jar" -type f -print -quit)" ]; then
  echo "building $jar ..." >&2
  mvn -q -B -pl benchmarks -am package -DskipTests -Pdjl >&2
fi
out=benchmarks/target/quick
mkdir -p "$out"
run() { # name, JMH args...
  local name=$1; shift
  echo "== $name" >&2
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar" "$@" -rf json -rff "$out/$name.json" > "$out/$name.log" 2>&1 \
    || { echo "$name failed; see $out/$name.log" >&2; exit 1; }
}
short=(-wi 2 -w 1s -i 3 -r 1s)
run tinyop "TinyOpBenchmark|JavaCppTinyOp|DjlTinyOp" "${short[@]}"
run matmul "MatmulBenchmark" -p threads=0 -wi 1 -w 1s -i 3 -r 1s
run model "HiggsModelBenchmark" -p seqLen=128,256,512 -p batch=1 -wi 1 -i 3
run safetensors "SafetensorsLoadBenchmark" -wi 1 -w 1s -i 3 -r 1s
run trainer "TrainerOverheadBenchmark" -wi 1 -i 3
"$JAVA_HOME/bin/java" -cp "$jar" io.higgs4j.benchmarks.PlotTokensPerSecond "$out/model.json" "$out/tokens_per_s.png" >&2
python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
def load(name):
    return {r["benchmark"].split(".")[-2] + "." + r["benchmark"].split(".")[-1]
            + "".join(f"[{k}={v}]" for k, v in sorted(r.get("params", {}).items())): r["primaryMetric"]["score"]
            for r in json.load(open(os.path.join(out, name + ".json")))}
t, m, h, s, tr = load("tinyop"), load("matmul"), load("model"), load("safetensors"), load("trainer")
rows = []
for k, v in sorted({**t, **m, **h, **s, **tr}.items()):
    rows.append(f"  {k:70s} {v:12.1f}")
print("benchmark (ns/op for tiny ops, ms/op otherwise)")
print("\n".join(rows))
ours, jcpp, djl = t["TinyOpBenchmark.add"], t["JavaCppTinyOpBenchmark.add"], t["DjlTinyOpBenchmark.add"]
oursg, jcppg = t["TinyOpBenchmark.addRequiresGrad"], t["JavaCppTinyOpBenchmark.addRequiresGrad"]
mm = next(v for k, v in m.items() if k.startswith("MatmulBenchmark.matmul"))
gflops = 2 * 2048 ** 3 / (mm * 1e6)
# small config: linear parameters a token goes through (attention, one of the two MLPs, text head; the audio head on
# the half of the positions that are audio-out), 6 FLOPs each per token for forward+backward, plus attention (12 L^2 d
# per layer for QK^T and AV, forward and backward).
hidden, layers, kv, inter, vocab, audio_vocab = 512, 4, 128, 1408, 4096, 8 * 1026
per_token = layers * (2 * hidden * hidden + 2 * hidden * kv + 3 * hidden * inter) + hidden * vocab + 0.5 * hidden * audio_vocab
seq = 256
step_ms = h[f"HiggsModelBenchmark.forwardBackward[batch=1][config=small][seqLen={seq}]"]
flops = 6 * per_token * seq + 12 * seq * seq * hidden * layers
tokens_per_s = seq / (step_ms / 1000)
mfu = flops / (step_ms / 1000) / (gflops * 1e9)
load_ms, read_ms = s["SafetensorsLoadBenchmark.loadAllTensors"], s["SafetensorsLoadBenchmark.sequentialRead"]
overhead = tr["TrainerOverheadBenchmark.trainerRun"] / tr["TrainerOverheadBenchmark.bareForwardBackward"] - 1
print()
print(f"op_overhead_vs_javacpp: {ours / jcpp:.2f}")
print(f"op_overhead_grad_vs_javacpp: {oursg / jcppg:.2f}")
print(f"op_overhead_vs_djl: {ours / djl:.2f}  (DJL ships libtorch 2.7.1)")
print(f"matmul_gflops: {gflops:.0f}")
print(f"small_step_tokens_per_s: {tokens_per_s:.0f}")
print(f"small_step_mfu: {mfu:.2f}")
print(f"safetensors_load_vs_read: {read_ms / load_ms:.2f}")
print(f"trainer_overhead: {overhead:.2f}")
print("small_step_vs_pytorch: n/a (PyTorch is not installable on this machine: no PyPI)")
PY
