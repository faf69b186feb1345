#!/usr/bin/env bash
# The GPU check of the native runtime, for a machine with an NVIDIA GPU and PyTorch >= 2.10 but no JDK or Maven.
# Prepare here with scripts/prepare-gpu-bundle.sh (a jlink-ed JDK 25, our jars, core's test classes, the JUnit
# console) into .device/, carry .device there, and run this script from the repository root. It points LIBTORCH at
# PyTorch's torch/lib, runs `doctor` (which must see CUDA), then core's whole test suite, CudaTest included, then
# NcclCheck (a one-rank NCCL all-reduce on cuda:0) when NCCL is found.
set -uo pipefail
bundle=${BUNDLE:-.device}
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
java="$bundle/jdk/bin/java"
export LIBTORCH=${LIBTORCH:-$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')}
export HIGGS4J_CACHE=/tmp/higgs4j-cache
[ -d "$bundle/fixtures" ] && export HIGGS4J_FIXTURES="$bundle/fixtures"
python3 -c 'import torch; print("python torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

cp="$bundle/lib/*"
echo "== doctor"
"$java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.higgs4j.trainer.Main doctor | tee "$out/doctor.txt"
doctor=${PIPESTATUS[0]}
grep -q "CUDA available: true" "$out/doctor.txt" || { echo "doctor did not see CUDA"; doctor=1; }

echo "== core tests on $LIBTORCH"
"$java" --enable-native-access=ALL-UNNAMED -jar "$bundle"/junit-console.jar execute \
  --class-path "$bundle/test-classes:$bundle/lib/higgs4j-core.jar:$bundle/lib/higgs4j-bindings.jar$(printf ':%s' "$bundle"/lib/jackson-*.jar)" \
  --scan-class-path "$bundle/test-classes" --details=summary --disable-banner \
  2>&1 | tee "$out/tests.txt" | grep -v "^\[E\|^frame #\|^Exception raised" 
tests=${PIPESTATUS[0]}
echo "== nccl"
# A one-rank all-reduce and all-gather of CUDA tensors through NcclCommunicator (core's test classes). NcclLoader looks
# next to libtorch, then in PyTorch's site-packages/nvidia/nccl/lib, then on the system path (NCCL_LIBRARY overrides).
# Exit 2 means NCCL was not found: reported, not a failure of this check.
"$java" --enable-native-access=ALL-UNNAMED -cp "$bundle/test-classes:$cp" io.higgs4j.nccl.NcclCheck 2>&1 | tee "$out/nccl.txt"
nccl=${PIPESTATUS[0]}
[ "$nccl" -eq 2 ] && { echo "NCCL not found: multi-GPU training unavailable here"; nccl=0; }
echo "== a few LoRA training steps of the tiny model on CUDA (bf16 base, then with Whisper)"
"$java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.higgs4j.trainer.Main train --demo --device cuda:0 --dtype bf16 \
  --max_steps 60 --logging_steps 20 --output_dir "$out/demo" 2>&1 | grep -v "^frame\|^\[E\|Exception raised" | tee "$out/train.txt" | tail -5
train=${PIPESTATUS[0]}
"$java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.higgs4j.trainer.Main train --demo --encode_whisper_embed --device cuda:0 \
  --dtype bf16 --max_steps 20 --logging_steps 10 --output_dir "$out/demo-whisper" 2>&1 | grep -v "^frame\|^\[E\|Exception raised" | tail -3
whisper=${PIPESTATUS[0]}
echo "doctor rc=$doctor tests rc=$tests nccl rc=$nccl train rc=$train whisper rc=$whisper"
[ "$doctor" -eq 0 ] && [ "$tests" -eq 0 ] && [ "$nccl" -eq 0 ] && [ "$train" -eq 0 ] && [ "$whisper" -eq 0 ]
