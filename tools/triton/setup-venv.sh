#!/usr/bin/env bash
# Create the Triton Inference Server's own venv in .cache/triton-venv (or $MEDIAGRID_TRITON_VENV) from
# tools/triton/requirements.txt. mediagrid never imports from it: mediagrid.recsys.triton runs the
# `tritonserver` binary shipped inside the nvidia-pytriton wheel, and the python backend's models run in
# this venv (numpy < 2, which cannot share mediagrid's numpy-2 .venv).
# Idempotent: does nothing when the venv was made from the same requirements file. The marker (a hash of
# that file) is written last, so an interrupted run never looks complete.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${MEDIAGRID_TRITON_VENV:-$root/.cache/triton-venv}"
python="${PYTHON:-python3}"
requirements="$here/requirements.txt"
want="$(sha256sum "$requirements" | cut -c1-16)"
marker="$venv/.mediagrid-requirements"

if [[ -f "$marker" && "$(cat "$marker")" == "$want" ]]; then
    echo "triton venv: up to date in $venv"
    exit 0
fi

# The wheel's tritonserver needs glibc >= 2.35 (manylinux_2_35); fail with that, not with a pip resolution error.
glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')"  # no pipe from ldd: pipefail + SIGPIPE
glibc="${glibc:-0.0}"
if [[ "$(printf '%s\n2.35\n' "$glibc" | sort -V | sed -n 1p)" != "2.35" ]]; then
    echo "triton venv: glibc $glibc is too old; nvidia-pytriton's tritonserver needs glibc >= 2.35" >&2
    exit 1
fi

rm -f "$marker"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -r "$requirements"
"$venv/bin/python" -c "import pytriton, numpy; assert numpy.__version__.startswith('1.'), numpy.__version__"
# The python backend needs the stub built for this venv's Python beside libtriton_python.so (PyTriton copies
# it there at run time; mediagrid runs tritonserver directly, so it is put there once, here).
server="$("$venv/bin/python" -c 'import pathlib, pytriton; print(pathlib.Path(pytriton.__file__).parent / "tritonserver")')"
pyver="$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
cp "$server/python_backend_stubs/$pyver/triton_python_backend_stub" "$server/backends/python/"
echo "$want" > "$marker"
echo "triton venv: installed $(grep -v '^#' "$requirements" | xargs) into $venv"
