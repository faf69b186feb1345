#!/usr/bin/env bash
# The GPU benchmark of the LoRA training step: higgs4j (GpuStepTimer) and eager PyTorch + PEFT
# (scripts/parity/torch_step_peer.py) on the same card, in one run: the released 3B config at 1 x 1024, 4 x 1024 and
# 8 x 2048 tokens (8 x 2048 with and without activation checkpointing), then the small preset at 4 x 1024 and the tiny
# one at 1 x 64, then the per-call host probes (GpuOpProbe and scripts/parity/gpu_op_probe.py).
# Each side builds its model once and times the sizes in ascending memory order (see GpuStepTimer on "memory in use").
# Needs the bundle of `scripts/prepare-gpu-bundle.sh bench` (GpuStepTimer is in its lib/higgs4j-benchmarks.jar) and
# PyTorch >= 2.10 with peft. LABELS=voice labels the batches as voice-cloning samples (SyntheticBatch.voiceCloning: the
# clip and three text tokens; where the text head and the last layer's cut skip work), default mixed (every text token).
set -uo pipefail
labels=${LABELS:-mixed}
bundle=${BUNDLE:-.device}
config3b=${CONFIG_3B:-$bundle/fixtures/higgs-audio-v2-3b/config.json}
steps=${STEPS:-5}
export LIBTORCH=${LIBTORCH:-$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')}
java=("$bundle/jdk/bin/java" --enable-native-access=ALL-UNNAMED -cp "$bundle/test-classes:$bundle/lib/*")
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
# tiny 1 x 64: every kernel takes microseconds, so the step is the two front ends' host time on CUDA; compare it with
# run-quick.sh's tiny_step_vs_pytorch (the same step on CPU) to tell a CUDA-only host cost from a general one.
for run in "$config3b 1x1024,4x1024,8x2048:ckpt,8x2048" "small 4x1024" "tiny 1x64"; do
  set -- $run
  "${java[@]}" io.higgs4j.benchmarks.GpuStepTimer "$1" "$steps" "$2" "$labels" 2>&1 | grep "step\|TFLOP\|built\|rror"
  python3 scripts/parity/torch_step_peer.py "$1" "$2" "$steps" lora cuda "$labels" 2>&1 | grep "PyTorch\|TFLOP\|rror"
done
# Host time per call of a few ops at the 3B shapes, ours and PyTorch's, five rounds each: the last rounds are the
# steady state, which tells whether the 1 x 1024 step's host-bound gap is per-call overhead on CUDA.
"${java[@]}" io.higgs4j.benchmarks.GpuOpProbe 2>&1 | grep "round\|rror"
python3 scripts/parity/gpu_op_probe.py 2>&1 | grep "round\|rror"
