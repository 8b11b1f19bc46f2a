#!/usr/bin/env bash
# Run HERE (not on the GPU machine): downloads the Python 3.12 wheels that perf/gpu_check.sh installs on
# the GPU machine, which has no network (see docs/notes/gpu-machine.md). Two sets, each under the
# 64 MiB a device call may carry: `core` (mediagrid, Holoscan, the CUDA 12 runtime it links, the config
# layer's parsers) and `video` (PyNvVideoCodec, PyAV). The GPU image already has numpy, cupy-cuda13x, OpenCV,
# pytest, rich, prometheus-client, attrs, grpcio and protobuf.
set -euo pipefail
cd "$(dirname "$0")/.."
set_name=${1:-core}
case "$set_name" in
  core)  pkgs=(holoscan-cu12==4.6.0 nvidia-cuda-runtime-cu12==12.9.79 jsonschema==4.26.0
               jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==0.30.0 ruamel.yaml==0.19.1
               orjson==3.11.5 jsonschema-rs==0.61.0 aiokafka==0.14.0 async-timeout==5.0.1 cloudpickle==3.1.3) ;;
  video) pkgs=(pynvvideocodec==2.2.4 av==18.1.0) ;;
  *) echo "usage: $0 core|video" >&2; exit 2 ;;
esac
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
rm -rf .whl && mkdir -p .whl
for pkg in "${pkgs[@]}"; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_31_x86_64 --platform manylinux_2_34_x86_64 --platform manylinux_2_35_x86_64 \
    --platform any -d .whl "$pkg"
done
if [ "$set_name" = core ]; then  # mediagrid itself, as the GPU machine cannot build it
  .venv/bin/python -m pip wheel -q --no-deps --no-build-isolation -w .whl . >/dev/null
fi
du -sh .whl && ls .whl
