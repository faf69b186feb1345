#!/usr/bin/env bash
# Memory soak of a long training run (not a test: it takes 15-25 minutes on 2 cores). Trains the demo for STEPS steps
# (default 10,000) with HIGGS4J_MEMORY_LOG set, so the trainer logs its memory breakdown every 1,000 steps; at each
# of those lines this script also asks the JVM for its native memory summary (jcmd VM.native_memory, the JVM's own
# allocations: heap, metaspace, code cache, GC structures, threads). It prints one table row per 1,000 steps and the
# growth of RSS from step 1,000 to the last step. Extra arguments go to `higgs4j train`.
#   scripts/soak.sh [STEPS] [train options...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
steps=${1:-10000}
shift || true
out=$(mktemp -d "${TMPDIR:-/tmp}/higgs4j-soak.XXXXXX")
log="$out/train.log"
: >"$log"
export HIGGS4J_MEMORY_LOG=1
export HIGGS4J_JAVA_OPTS="${HIGGS4J_JAVA_OPTS:-} -XX:NativeMemoryTracking=summary"
"$root/bin/higgs4j" train --demo --max_steps "$steps" --logging_steps 1000 --save_steps "$steps" \
    --sample_steps "$steps" --output_dir "$out/run" "$@" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
# bin/higgs4j execs java, so $pid is the JVM.
echo "soak: $steps demo steps, output and log in $out (pid $pid)" >&2
printf '%6s %9s %15s %15s %9s %15s %15s %12s\n' step "rss MiB" "heap used MiB" "heap commit MiB" "non-heap" \
    "malloc use MiB" "malloc held MiB" "NMT MiB"
seen=0 first_rss="" last_rss=""
while kill -0 "$pid" 2>/dev/null || [ "$(grep -c 'memory: rss' "$log" || true)" -gt "$seen" ]; do
    count=$(grep -c 'memory: rss' "$log" || true)
    if [ "$count" -gt "$seen" ]; then
        seen=$count
        step=$(grep -o 'step [0-9]*/' "$log" | tail -n 1 | tr -dc 0-9)
        line=$(grep 'memory: rss' "$log" | tail -n 1)
        nmt=$(jcmd "$pid" VM.native_memory summary 2>/dev/null | sed -n 's/^Total: reserved=[0-9]*KB, committed=\([0-9]*\)KB.*/\1/p')
        num() { sed -n "s/.*$1 \([0-9.]*\) MiB.*/\1/p" <<<"$line"; }
        rss=$(num "rss")
        printf '%6s %9s %15s %15s %9s %15s %15s %12s\n' "$step" "$rss" "$(num 'heap used')" "$(num 'committed')" \
            "$(num 'non-heap')" "$(num 'malloc in use')" "$(num 'held')" "$([ -n "$nmt" ] && echo $((nmt / 1024)) || echo n/a)"
        [ "$step" = 1000 ] && first_rss=$rss
        last_rss=$rss
    fi
    sleep 1
done
wait "$pid" || { echo "soak: training failed; see $log" >&2; exit 1; }
trap - EXIT
if [ -n "$first_rss" ]; then
    awk -v a="$first_rss" -v b="$last_rss" -v s="$steps" \
        'BEGIN { printf "rss growth from step 1000 to %d: %.1f MiB (%.2f%%)\n", s, b - a, 100 * (b - a) / a }'
fi
