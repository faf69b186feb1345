#!/usr/bin/env bash
# The GPU benchmark of the LoRA training step: higgs4j (GpuStepTimer) and eager PyTorch + PEFT
# (scripts/parity/torch_step_peer.py) on the same card, in one run, for the small preset and the released 3B config.
# Needs the bundle of scripts/prepare-gpu-bundle.sh (with core's test classes) and PyTorch >= 2.10 with peft.
set -uo pipefail
bundle=${BUNDLE:-.device}
config3b=${CONFIG_3B:-$bundle/fixtures/higgs-audio-v2-3b/config.json}
export LIBTORCH=${LIBTORCH:-$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')}
java=("$bundle/jdk/bin/java" --enable-native-access=ALL-UNNAMED -cp "$bundle/test-classes:$bundle/lib/*")
for run in "small 4 1024 10" "$config3b 1 1024 5"; do
  python3 scripts/parity/torch_step_peer.py $run 2>&1 | tail -1
  "${java[@]}" io.higgs4j.bench.GpuStepTimer $run 2>&1 | grep "step\|TFLOP"
done
