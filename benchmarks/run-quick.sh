#!/usr/bin/env bash
# A short run of every benchmark (about 6-7 minutes on 2 cores): builds the benchmark jar when needed (with DJL's native
# libtorch, profile `djl`), runs JMH with short settings, the native-memory benchmark, and the small config's steps
# against PyTorch (when a Python with torch and peft is there: $HIGGS4J_PYTHON, else python3), prints a table with
# the ratios, and ends with one line per headline number, `name: value`. Results land in benchmarks/target/quick/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
source "$root/bin/malloc-env.sh" # for every JVM and the PyTorch peer alike
source "$root/bin/jvm-opts.sh"    # higgs4j_jvm_opts: the flags bin/higgs4j runs the trainer with, for our step timer
jar=benchmarks/target/benchmarks.jar
if [ ! -f "$jar" ] || ! unzip -l "$jar" 2>/dev/null | grep -q "native/lib/pytorch.properties" || \
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
short=(-wi 1 -w 1s -i 3 -r 500ms)
run tinyop "TinyOpBenchmark|JavaCppTinyOp|DjlTinyOp" "${short[@]}"
run matmul "MatmulBenchmark" -p threads=0 -wi 1 -w 1s -i 3 -r 1s
# One Llama decoder layer's forward+backward, higgs4j and JavaCPP (each in its own fork, same libtorch 2.10).
run block "LlamaBlock" -p seqLen=256 -wi 1 -w 1s -i 3 -r 1s
run model "HiggsModelBenchmark" -p seqLen=128,256,512 -p batch=1 -wi 1 -i 3
run safetensors "SafetensorsLoadBenchmark" -wi 1 -w 1s -i 3 -r 1s
run trainer "TrainerOverheadBenchmark" -wi 1 -i 2
# Native memory per LoRA step: the tiny config over 300 steps after 450 (leak slope), the small one over 15 after 5 (peak).
run memory_tiny "NativeMemoryBenchmark" -p config=tiny -wbs 450 -bs 300
run memory_small "NativeMemoryBenchmark" -p config=small -wbs 5 -bs 15
# The audio tokenizer at the released widths (random weights): 5 s of 24 kHz audio to codes and back.
run tokenizer "AudioTokenizerBenchmark" -p seconds=5 -wi 1 -w 1s -i 2 -r 1s

# The small config's LoRA step and forward+backward, ours (CpuStepTimer) and PyTorch + PEFT's
# (scripts/parity/torch_step_peer.py), float32 on CPU, on the same libtorch: PyTorch's own torch/lib, through LIBTORCH.
# Run in the order ours, PyTorch, PyTorch, ours, so that a drift of the (shared) machine hits both alike.
py=${HIGGS4J_PYTHON:-python3}
peer="$out/pytorch.log"
: > "$peer"
if ! command -v "$py" >/dev/null 2>&1; then
  echo "n/a ($py not found; set HIGGS4J_PYTHON to a Python with torch and peft)" > "$out/pytorch.na"
elif ! torchlib=$("$py" - 2>&1 <<'PY'
import importlib.metadata as md, importlib.util as u, os, sys
missing = [m for m in ("torch", "peft") if u.find_spec(m) is None]
if missing:
    sys.exit("no module " + ", ".join(missing))
print(os.path.join(os.path.dirname(u.find_spec("torch").origin), "lib"), md.version("torch"), md.version("peft"))
PY
); then
  echo "n/a ($py: $(echo "$torchlib" | tail -n 1); set HIGGS4J_PYTHON to a Python with torch and peft)" > "$out/pytorch.na"
else
  read -r lib torch_version peft_version <<< "$torchlib"
  echo "torch $torch_version, peft $peft_version" >> "$peer"
  echo "== pytorch (torch $torch_version, peft $peft_version)" >&2
  rm -f "$out/pytorch.na"
  # both take LABELS CONFIG BATCH SEQ STEPS MODES
  ours() { local labels=$1; shift; LIBTORCH=$lib "$JAVA_HOME/bin/java" "${higgs4j_jvm_opts[@]}" -cp "$jar" io.higgs4j.benchmarks.CpuStepTimer "$@" "$labels"; }
  theirs() { local labels=$1; shift; "$py" scripts/parity/torch_step_peer.py "$@" cpu "$labels"; }
  # Two label layouts of the same batch: voice (a voice-cloning sample: only the assistant turn's few text tokens and
  # the clip are supervised, the rest is prompt) and mixed (every text token labelled too).
  for side in ours theirs theirs ours; do
    # ours also times the plain pass (full logits, then backward), the step as it was before TrainingPass
    modes=lora,fwdbwd; [ "$side" = ours ] && modes=lora,lora_plain,fwdbwd
    # and the tiny preset's LoRA step, where every kernel is small and the step is bound by each side's front end
    # (the dispatcher calls and the autograd engine), as a GPU step is at 1 x 1024 on the 3B model
    if ! { $side voice small 1 256 10 $modes && $side mixed small 1 256 10 lora && $side voice tiny 1 64 30 lora; } \
        >> "$peer" 2>"$out/pytorch.err"; then
      echo "n/a ($side failed: $(grep -v '^WARNING' "$out/pytorch.err" | tail -n 1); see $out/pytorch.err)" > "$out/pytorch.na"
      break
    fi
  done
fi
# Peak memory of the LoRA step, the plain way (full logits) and the trainer's (TrainingPass), one JVM each.
: > "$out/step_peak.log"
for pass in plain lean; do
  "$JAVA_HOME/bin/java" -Xms256m -Xmx256m -XX:+AlwaysPreTouch --enable-native-access=ALL-UNNAMED -cp "$jar" \
    io.higgs4j.benchmarks.StepPeakMemory small 1 256 "$pass" 2 >> "$out/step_peak.log"
done
# Generation with the KV cache, small preset, a 32-token prompt then 100 audio frames, greedy: ours (GenerationBenchmark)
# and the official generate loop (scripts/parity/generation_reference.py bench: it needs a higgs-audio checkout in
# $HIGGS_AUDIO_REF and a Python with torch and transformers 4.57 in $HIGGS4J_REF_PYTHON, default the one above), on
# the same libtorch when PyTorch is there. Order ours, official, official, ours.
gen="$out/generation.log"
: > "$gen"
rm -f "$out/generation.na"
gpy=${HIGGS4J_REF_PYTHON:-$py}
ours_gen() { LIBTORCH=${lib:-${LIBTORCH:-}} "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$jar" io.higgs4j.benchmarks.GenerationBenchmark 32 100 2; }
theirs_gen() { "$gpy" scripts/parity/generation_reference.py "$HIGGS_AUDIO_REF" bench small 32 100 2; }
echo "== generation" >&2
if [ -z "${HIGGS_AUDIO_REF:-}" ] || [ ! -d "${HIGGS_AUDIO_REF:-}/boson_multimodal" ]; then
  echo "n/a (set HIGGS_AUDIO_REF to a boson-ai/higgs-audio checkout for the official loop)" > "$out/generation.na"
  ours_gen >> "$gen" 2>"$out/generation.err" || echo "n/a (ours failed; see $out/generation.err)" > "$out/generation.na"
else
  for side in ours_gen theirs_gen theirs_gen ours_gen; do
    if ! $side >> "$gen" 2>"$out/generation.err"; then
      echo "n/a ($side failed: $(grep -v '^WARNING' "$out/generation.err" | tail -n 1); see $out/generation.err)" > "$out/generation.na"
      break
    fi
  done
fi
# Data preparation (prepare-data's pipeline: read, encode at the released tokenizer widths, write): 8 clips of 5 s.
echo "== prepare-data" >&2
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$jar" io.higgs4j.benchmarks.PrepareDataBenchmark 8 5 > "$out/prepare.log" 2>&1 \
  || { echo "prepare-data benchmark failed; see $out/prepare.log" >&2; exit 1; }
"$JAVA_HOME/bin/java" -cp "$jar" io.higgs4j.benchmarks.PlotTokensPerSecond "$out/model.json" "$out/tokens_per_s.png" >&2
python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
def load(name):
    return {r["benchmark"].split(".")[-2] + "." + r["benchmark"].split(".")[-1]
            + "".join(f"[{k}={v}]" for k, v in sorted(r.get("params", {}).items())): r["primaryMetric"]["score"]
            for r in json.load(open(os.path.join(out, name + ".json")))}
t, m, h, s, tr = load("tinyop"), load("matmul"), load("model"), load("safetensors"), load("trainer")
tok = load("tokenizer")
bl = load("block")
def memory(name):
    r = json.load(open(os.path.join(out, name + ".json")))[0]
    return {k: v["score"] for k, v in r["secondaryMetrics"].items()}
rows = []
for k, v in sorted({**t, **m, **bl, **h, **s, **tr, **tok}.items()):
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
block_ours, block_jcpp = bl["LlamaBlockBenchmark.forwardBackward[seqLen=256]"], bl["JavaCppLlamaBlockBenchmark.forwardBackward[seqLen=256]"]
print(f"block_fwdbwd_vs_javacpp: {block_ours / block_jcpp:.2f}  (one Llama layer of the small config, forward+backward, 1 x 256, float32 CPU)")
print(f"block_fwdbwd_ms: higgs4j {block_ours:.1f}, javacpp {block_jcpp:.1f}")
print(f"matmul_gflops: {gflops:.0f}")
print(f"small_step_tokens_per_s: {tokens_per_s:.0f}")
print(f"small_step_mfu: {mfu:.2f}")
print(f"safetensors_load_vs_read: {read_ms / load_ms:.2f}")
print(f"trainer_overhead: {overhead:.2f}")
mt, ms_ = memory("memory_tiny"), memory("memory_small")
print(f"native_bytes_per_step: {mt['nativeBytesPerStep']:.0f}  (tiny LoRA step: Theil-Sen slope of the C heap in use over 300 steps after 450)")
print(f"malloc_footprint_bytes_per_step: {mt['mallocFootprintBytesPerStep']:.0f}  (the same, what malloc holds from the system)")
print(f"rss_bytes_per_step: {mt['rssBytesPerStep']:.0f}  (the same, process RSS)")
print(f"tensor_growth: {mt['liveTensorGrowth']:.0f} live, {mt['leakedTensorGrowth']:.0f} leaked  (over those 300 steps)")
print(f"small_step_activation_mib: {ms_['stepActivationBytes'] / 2**20:.1f}  (C heap held once the loss is computed)")
print(f"small_step_peak_rss_over_model_mib: {ms_['peakRssOverModelBytes'] / 2**20:.1f}  (highest RSS during the steps over RSS with model, adapters, optimizer built)")
for op in ("encode", "decode"):
    ms = tok[f"AudioTokenizerBenchmark.{op}[seconds=5]"]
    print(f"audio_tokenizer_{op}_seconds_per_second: {5.0 / (ms / 1000):.2f}  (seconds of 24 kHz audio per second, released widths, float32 CPU)")
import re, statistics
na = os.path.join(out, "pytorch.na")
if os.path.exists(na):
    reason = open(na).read().strip()
    print(f"small_step_vs_pytorch: {reason}")
else:
    med = {}
    head = ""
    for line in open(os.path.join(out, "pytorch.log")):
        if line.startswith("torch "):
            head = line.strip()
        x = re.match(r"(higgs4j|PyTorch) .* (\w+) (LoRA step|forward\+backward), batch .*? tokens, (\w+) labels, .*?(\d+) threads: .* median ([\d.]+) ms", line)
        if x:
            med.setdefault((x.group(1), x.group(2), x.group(3), x.group(4)), []).append(float(x.group(6)))
            threads = x.group(5)
    # voice: a voice-cloning batch (the assistant turn's three text tokens and the clip supervised); mixed: every text
    # token labelled as well, which leaves the text head nothing to skip
    # tiny: the host-bound step (hidden 64), where the two front ends are what is compared
    for config, key, labels, label, steps in (("small", "LoRA step", "voice", "small_step", 10),
                                              ("small", "LoRA step", "mixed", "small_step_mixed_labels", 10),
                                              ("small", "forward+backward", "voice", "small_fwdbwd", 10),
                                              ("tiny", "LoRA step", "voice", "tiny_step", 30)):
        if ("higgs4j", config, key, labels) not in med or ("PyTorch", config, key, labels) not in med:
            print(f"{label}_vs_pytorch: n/a (no {config} {key} line with {labels} labels from both sides in {out}/pytorch.log)")
            continue
        a, b = statistics.mean(med[("higgs4j", config, key, labels)]), statistics.mean(med[("PyTorch", config, key, labels)])
        print(f"{label}_vs_pytorch: {a / b:.2f}  ({config} {key}, batch 1 x {64 if config == 'tiny' else 256}, {labels} labels, float32 CPU, {threads} threads; {head})")
        print(f"{label}_ms: higgs4j {a:.1f}, pytorch {b:.1f}  (mean of two runs' medians of {steps} steps each, after warm-ups of at least 10 steps and 3 s)")
    plain = [float(x.group(1)) for line in open(os.path.join(out, "pytorch.log"))
             for x in [re.match(r"higgs4j .* LoRA step \(plain\), .*voice labels.* median ([\d.]+) ms", line)] if x]
    if plain and ("PyTorch", "small", "LoRA step", "voice") in med:
        print(f"small_step_plain_vs_pytorch: {statistics.mean(plain) / statistics.mean(med[('PyTorch', 'small', 'LoRA step', 'voice')]):.2f}"
              f"  (our step the plain way: full logits, then backward; the step before TrainingPass; voice labels)")
for line in open(os.path.join(out, "step_peak.log")):
    x = re.match(r"step_peak small batch 1 seq (\d+) pass (\w+): peak_rss_over_model_mib ([\d.]+)", line)
    if x:
        print(f"small_step_peak_mib_{x.group(2)}: {x.group(3)}  (peak RSS over the built model, LoRA step, 1 x {x.group(1)}, float32 CPU)")
for line in open(os.path.join(out, "prepare.log")):
    x = re.match(r"prepare_data .* hours_per_hour=([\d.]+) hours_for_305h=([\d.]+)", line)
    if x:
        print(f"data_prep_hours_per_hour: {x.group(1)}  (prepare-data's pipeline, released tokenizer widths, random weights, float32 CPU; "
              f"the seed pipeline's 305 h would take {x.group(2)} h)")
runs = {"higgs4j_generate": [], "official_generate": []}
for line in open(os.path.join(out, "generation.log")):
    x = re.match(r"(higgs4j_generate|official_generate) frames=(\d+) seconds=([\d.]+) frames_per_s=([\d.]+).*prefill_tokens_per_s=([\d.]+)", line)
    if x:
        runs[x.group(1)].append((float(x.group(4)), float(x.group(5))))
if runs["higgs4j_generate"]:
    fps = statistics.median(r[0] for r in runs["higgs4j_generate"])
    print(f"generation_frames_per_s: {fps:.1f}  (small preset, float32 CPU, 32-token prompt then 100 frames, greedy, KV cache)")
    print(f"generation_rtf: {25 / fps:.3f}  (seconds per second of audio)")
    print(f"generation_prefill_tokens_per_s: {statistics.median(r[1] for r in runs['higgs4j_generate']):.0f}")
gna = os.path.join(out, "generation.na")
if os.path.exists(gna):
    print(f"generation_vs_official: {open(gna).read().strip()}")
elif runs["official_generate"] and runs["higgs4j_generate"]:
    theirs = statistics.median(r[0] for r in runs["official_generate"])
    print(f"generation_vs_official: {fps / theirs:.2f}  (frames/s, ours over the official generate loop with its KV cache, same libtorch; target >= 2)")
    print(f"generation_frames_per_s_official: {theirs:.1f}; prefill tokens/s official {statistics.median(r[1] for r in runs['official_generate']):.0f}")
PY
