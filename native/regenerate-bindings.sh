#!/usr/bin/env bash
# Regenerates the committed jextract output in bindings/ from the headers in native/include, and core's typed op
# layer (io.higgs4j.torch.Ops) from the ATen schemas in native/ops/aten-ops.txt.
#
# Needs jextract for JDK 25 (build it from the openjdk/jextract sources; it is in no package registry) and
# set JEXTRACT to it unless it is on the PATH. Only the functions and typedefs declared in our own headers are
# generated: the list is derived from the headers, so adding a declaration is all it takes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
jextract=${JEXTRACT:-jextract}
out="$here/../bindings/src/main/java"

declare -A cleaned=() # packages emptied in this run: several headers may generate into one package
generate() { # header options-file
  local header=$1 options=$2 includes
  includes=$(mktemp)
  # Function names: identifiers followed by '(' at the start of a declaration line.
  grep -oE '^[A-Za-z_][A-Za-z0-9_ \*]*[ \*]([A-Za-z_][A-Za-z0-9_]*)\(' "$header" \
    | sed -E 's/.*[ \*]([A-Za-z_][A-Za-z0-9_]*)\($/--include-function \1/' >"$includes"
  grep -oE '^typedef .* \**([A-Za-z_][A-Za-z0-9_]*);' "$header" \
    | sed -E 's/.*[ \*]([A-Za-z_][A-Za-z0-9_]*);$/--include-typedef \1/' >>"$includes"
  local package
  package=$(sed -n '/--target-package/{n;p}' "$options")
  if [ -z "${cleaned[$package]:-}" ]; then rm -rf "$out/${package//.//}"; cleaned[$package]=1; fi
  (cd "$here/jextract" && "$jextract" --output "$out" @"$(basename "$options")" @"$includes" "$header")
  rm -f "$includes"
}

generate "$here/include/higgs4j_torch.h" "$here/jextract/torch.options"
generate "$here/include/higgs4j_nccl.h" "$here/jextract/nccl.options"
echo "regenerated bindings under $out"

# The op layer needs only the JDK (a single-file program): javac is not involved, nor jextract.
java "$here/ops/GenerateOps.java" "$here/ops/aten-ops.txt" "$here/../core/src/main/java/io/higgs4j/torch/Ops.java"
echo "regenerated core/src/main/java/io/higgs4j/torch/Ops.java"
