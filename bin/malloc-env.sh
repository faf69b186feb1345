# Sourced by bin/higgs4j and benchmarks/run-quick.sh. glibc hands every freed block above its mmap threshold (at most
# 32 MiB by default) back to the kernel, and the next allocation of that size faults its pages in again; CPU tensors of
# that size come and go on every op, which made convolutions up to 8x and the demo's training step 1.8x slower. These
# keep such blocks in the heap for reuse (the process keeps its peak heap). Values set by the caller win.
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-4294967296}
export MALLOC_TOP_PAD_=${MALLOC_TOP_PAD_:-1073741824}
export MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-17179869184}
