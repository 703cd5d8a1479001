#!/usr/bin/env bash
# Installs torch into a venv, choosing the build for this machine, and prints one line saying what and why.
#
#   tools/torch_install.sh [--dry-run] <python of the venv>
#
# Without an NVIDIA GPU, a plain `pip install torch==...` from PyPI pulls the CUDA build (several GB of CUDA
# libraries that never run), so:
#   - no NVIDIA GPU (no working `nvidia-smi`, no /proc/driver/nvidia) and PyTorch's CPU index answers within
#     3 s  -> pip install --index-url <CPU index> <spec>
#   - no NVIDIA GPU and the CPU index does not answer (offline, a proxy, a local wheel mirror)
#                                                    -> pip install <spec>   (pip's own configuration decides)
#   - an NVIDIA GPU                                  -> pip install <spec>   (PyPI's default build, with CUDA)
#   - TORCH_INDEX=<url> overrides the choice: pip install --index-url <url> <spec>; TORCH_INDEX=default forces the
#     plain line. TORCH_SPEC (default torch==2.13.0) is the requirement in every case.
# --dry-run prints the decision and the command without installing. Knobs for tests and odd machines:
# TORCH_CPU_INDEX (the CPU index probed), TORCH_NVIDIA_PROC (the driver folder looked for), TORCH_PROBE_TIMEOUT.
set -euo pipefail

dry_run=0
if [[ "${1:-}" == "--dry-run" ]]; then
    dry_run=1
    shift
fi
python="${1:?usage: tools/torch_install.sh [--dry-run] <python of the venv>}"

spec="${TORCH_SPEC:-torch==2.13.0}"
cpu_index="${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
nvidia_proc="${TORCH_NVIDIA_PROC:-/proc/driver/nvidia}"
probe_timeout="${TORCH_PROBE_TIMEOUT:-3}"

has_nvidia_gpu() {
    if command -v nvidia-smi >/dev/null 2>&1 && timeout "$probe_timeout" nvidia-smi -L >/dev/null 2>&1; then
        gpu_evidence="nvidia-smi lists a GPU"
        return 0
    fi
    if [[ -e "$nvidia_proc" ]]; then
        gpu_evidence="$nvidia_proc exists"
        return 0
    fi
    return 1
}

index_answers() {  # a HEAD-less GET of the index page, bounded in time (DNS included)
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-time "$probe_timeout" -o /dev/null "$1/" >/dev/null 2>&1
    else
        timeout "$probe_timeout" "$python" -c \
            "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/', timeout=float(sys.argv[2]))" \
            "$1" "$probe_timeout" >/dev/null 2>&1
    fi
}

index=""
if [[ -n "${TORCH_INDEX:-}" && "${TORCH_INDEX}" != "default" ]]; then
    index="$TORCH_INDEX"
    why="TORCH_INDEX is set"
elif [[ "${TORCH_INDEX:-}" == "default" ]]; then
    why="TORCH_INDEX=default"
elif has_nvidia_gpu; then
    why="an NVIDIA GPU ($gpu_evidence): the default build, with CUDA"
elif index_answers "$cpu_index"; then
    index="$cpu_index"
    why="no NVIDIA GPU: the CPU build from PyTorch's CPU index"
else
    why="no NVIDIA GPU, but $cpu_index did not answer (a ${probe_timeout} s probe): pip's own configuration decides"
fi

command=("$python" -m pip install --quiet)
if [[ -n "$index" ]]; then
    command+=(--index-url "$index")
fi
command+=("$spec")

echo "torch set-up: ${why} -> pip install${index:+ --index-url $index} $spec"
if [[ "$dry_run" == 1 ]]; then
    printf '%q ' "${command[@]}"
    echo
    exit 0
fi
exec "${command[@]}"
