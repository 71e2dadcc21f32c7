#!/bin/bash
# tests/networks/run_crosscheck.sh - PyTorch cross-check of the network
# plugins and model files (ctest: test_network_torch_crosscheck).
#   run_crosscheck.sh DIR_WITH_crosscheck_dump_HELPERS
# Each helper builds a network with fixed seeds, saves G and D as
# safetensors and writes inputs/outputs; torch_crosscheck.py loads the
# files into the equivalent PyTorch modules (strict=True) and compares.
# Exit 77 (skipped) when /usr/bin/python3 (or $LPZ_TORCH_PYTHON) cannot
# import torch.
set -u
bin=$1
py=${LPZ_TORCH_PYTHON:-/usr/bin/python3} # Debian's python3 (the one python3-torch serves)
if [ ! -x "$py" ] || ! "$py" -c 'import torch, numpy' 2>/dev/null; then
    echo "SKIPPED: $py cannot import torch and numpy (Debian package python3-torch);" \
         "the PyTorch cross-check of the network plugins did not run"
    exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/lpz-crosscheck-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
dirs=()
dump() { # plugin tag shape [option=value ...]
    local plugin=$1 tag=$2
    shift 2
    "$bin/crosscheck_dump_$plugin" "$work/$tag" "$@" || { echo "FAILED: crosscheck_dump_$plugin $*"; exit 1; }
    dirs+=("$work/$tag")
}
dump four_layer_perceptron mlp_mnist 1x28x28
dump four_layer_perceptron mlp_sequences 30x4 hidden=16 latent=8
dump convolutional dcgan_rgb64 3x64x64
dump convolutional dcgan_grey64 1x64x64 width=8
dump convolutional dcgan_grey32 1x32x32 width=8 latent=16
dump rnn rnn_flows 30x4
dump rnn rnn_deep_nodropout 12x3 hidden=6 layers=3 dropout=0
"$py" "$(dirname "$0")/torch_crosscheck.py" "${dirs[@]}"
