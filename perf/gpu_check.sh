#!/usr/bin/env bash
# The GPU check, in one run on a GPU machine (H100/H200, Python 3.12, CUDA 13 driver, no network), from
# the repository root, with the wheels of `perf/gpu_wheels.sh core` in .whl/ (carried by the device tool):
#
#   device run:  bash perf/gpu_check.sh        (carry: [".whl"], timeout_s: 540)
#
# Installs the wheels (mediagrid's own among them) into a scratch site, checks the imports and the device, runs the
# tests marked `gpu`, then every GPU benchmark (perf/passthrough.py --device gpu and each perf/gpu_*.py)
# under a time limit, and prints a short table last. Each benchmark's line starting with "RESULT " goes in
# the table. Files land in $OUT (the device tool brings them back): gpu_check.log, results/*.json.
set -uo pipefail
cd "$(dirname "$0")/.."
SITE=${MG_GPU_SITE:-/tmp/mg-site}
OUT_DIR=${OUT:-/tmp/mg-gpu-out}
BENCH_S=${MG_GPU_BENCH_S:-90}
mkdir -p "$SITE" "$OUT_DIR/results"
exec > >(tee "$OUT_DIR/gpu_check.log") 2>&1
table=()
row() { table+=("$(printf '%-26s %-5s %s' "$1" "$2" "$3")"); }

start=$(date +%s)
if python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl
then
  row install ok "$(ls .whl | wc -l) wheels (mediagrid's own included) in $(( $(date +%s) - start )) s"
else
  row install FAIL "see the log"; printf '%s\n' "${table[@]}"; exit 1
fi
# Holoscan's wheel leaves its .so symlinks to a .pth hook (wheel-axle) that cannot work in a --target
# folder; make them from the list the wheel ships.
for list in "$SITE"/holoscan_cu12-*.dist-info/symlinks.txt; do
  while IFS=, read -r link target _; do
    path="$SITE/${link#*.data/purelib/}"
    [ -e "$path" ] || ln -s "$target" "$path"
  done < "$list"
done
rm -f "$SITE"/holoscan_cu12-*.pth
export PYTHONPATH="$SITE" HOLOSCAN_LOG_LEVEL=ERROR
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

# Everything below runs from a copy outside the checkout: the repository's own mediagrid/ folder would shadow the
# installed package, whose mediagrid.operators and mediagrid.apps live elsewhere in the source tree.
scratch=$(mktemp -d) && cp -r tests configs schemas perf "$scratch"/
cd "$scratch"
if python3 - <<'PY'
from mediagrid.runtime import import_holoscan, select_backend
holoscan = import_holoscan()
backend = select_backend("gpu")
props = backend.xp.cuda.runtime.getDeviceProperties(0)
print(f"holoscan {holoscan.__version__}, cupy {backend.xp.__version__}, {props['name'].decode()}")
PY
then row imports ok "holoscan + cupy on the GPU"; else row imports FAIL "see the log"; fi

if (timeout 300 python3 -m pytest -q -m gpu -p no:cacheprovider --continue-on-collection-errors \
      tests > "$OUT_DIR/gpu_tests.log" 2>&1); then
  row gpu-tests ok "$(tail -n 1 "$OUT_DIR/gpu_tests.log")"
else
  row gpu-tests FAIL "$(tail -n 1 "$OUT_DIR/gpu_tests.log")"
fi

bench() {  # name, command...
  local name=$1; shift
  local log="$OUT_DIR/results/$name.log"
  if (timeout "$BENCH_S" "$@" --results "$OUT_DIR/results" > "$log" 2>&1); then
    row "$name" ok "$(grep -h '^RESULT ' "$log" | tail -n 1 | cut -c8-)"
  else
    row "$name" FAIL "exit $? ($(tail -n 1 "$log"))"
  fi
}
bench passthrough-gpu python3 perf/passthrough.py --device gpu --duration 20
for script in perf/gpu_*.py; do
  [ -e "$script" ] && bench "$(basename "$script" .py)" python3 "$script"
done

echo
echo "== mediagrid GPU check ($(( $(date +%s) - start )) s) =="
printf '%s\n' "${table[@]}"
