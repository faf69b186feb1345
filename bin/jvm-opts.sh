# The JVM flags higgs4j's launcher runs with (sourced by bin/higgs4j and by benchmarks/run-quick.sh, so that the
# benchmarks time our step as the trainer runs it); sets higgs4j_jvm_opts, a bash array.
#
# malloc-env.sh has glibc keep freed memory for reuse; over a long run the freed pages spread through its arenas and
# stay resident (about 9 KB a step in the demo, fragmentation rather than memory in use). The JVM's periodic
# malloc_trim(0) hands whole free pages back every 10 s; the next step faults in what it needs, a few ms.
# The Java heap holds little but per-op garbage: a young generation of at most 64 MiB is collected every ~30 s in the
# demo (pauses of ~20 ms), where G1's default let it grow to ~230 MiB of touched pages over the first ~2,000 steps,
# and collecting sooner also frees sooner the C heap that garbage objects still hold (benchmarks/README.md, long runs).
higgs4j_jvm_opts=(--enable-native-access=ALL-UNNAMED -XX:TrimNativeHeapInterval=10000 -XX:MaxNewSize=64m)
# On 4 cores or fewer, C1 only: the optimising compiler's threads take a core from libtorch's intra-op threads for the
# first thousands of steps, and every parallel op then waits for its slowest thread. Measured on 2 vCPUs (2026-12-04,
# benchmarks/README.md, "The JIT"): the demo at 14,000-17,000 tokens/s against 11,000-11,400, the small LoRA step
# 3-10 % faster. With more cores C2 keeps its cores to itself and its code is faster: each op's own cost on our side
# is 2.8 us with C2 and 4.1 us with C1, which counts when the host is what limits a GPU step.
if [ "$(nproc 2>/dev/null || echo 8)" -le 4 ]; then
  higgs4j_jvm_opts+=(-XX:TieredStopAtLevel=1)
fi
