#!/usr/bin/env bash
# Checks the CUDA recurrent kernels (gru.cu, lstm.cu) on the CPU through emu.h: translates the
# .cu files (kernel launches -> emu::Launcher, dynamic shared memory -> a per-block buffer),
# builds driver.cpp against a CPU-only libtgengine.a and runs it, once with ASan/UBSan and once
# with TSan (data races between the threads of a block = missing __syncthreads).
#   kernels/cuda/emu/run-emu.sh [path/to/CPU-only/libtgengine.a]
# Without an argument it configures and builds tg_engine in build-emu (TG_CUDA=OFF).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
LIB=${1:-}
if [ -z "$LIB" ]; then
  cmake -S "$ROOT" -B "$ROOT/build-emu" -DTG_CUDA=OFF -DTG_BUILD_TESTS=OFF -DTG_BUILD_BENCH=OFF > /dev/null
  cmake --build "$ROOT/build-emu" -j"$(nproc)" --target tg_engine > /dev/null
  LIB=$ROOT/build-emu/libtgengine.a
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for f in gru lstm; do
  python3 - "$ROOT/kernels/cuda/$f.cu" "$WORK/${f}_emu.cpp" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
s = s.replace('#include "common.cuh"', '#include "emu.h"').replace('#include "tg/kernels/cuda_backend.h"', '')
s = s.replace('extern __shared__ __align__(16) unsigned char smem_raw[];', 'unsigned char* smem_raw = emu::smem;')
s = re.sub(r'([\w:]+(?:<[\w:]+>)?)<<<(.*?)>>>\(', r'emu::Launcher(\2).run(\1, ', s)
open(sys.argv[2], 'w').write(s)
PY
done
INC=(-I"$HERE" -I"$ROOT/engine/include" -I"$ROOT/kernels/include" -I/usr/include/eigen3)
SRC=("$HERE/driver.cpp" "$WORK/gru_emu.cpp" "$WORK/lstm_emu.cpp" "$LIB" -lpthread)
g++ -std=c++17 -O1 -g -fsanitize=address,undefined "${INC[@]}" "${SRC[@]}" -o "$WORK/driver_asan"
g++ -std=c++17 -O1 -g -fsanitize=thread "${INC[@]}" "${SRC[@]}" -o "$WORK/driver_tsan"
echo "== ASan/UBSan"; "$WORK/driver_asan" | tail -1
echo "== TSan"; "$WORK/driver_tsan" 2>&1 | grep -E "WARNING: ThreadSanitizer|failures" | sort | uniq -c
