#!/bin/bash
# tests/inception/run_torch_crosscheck.sh - lpz's InceptionV3 features
# against torchvision's inception_v3 (ctest: test_inception_torch).
#   run_torch_crosscheck.sh PATH/TO/inception_tool
# Exit 77 (skipped) when /usr/bin/python3 (or $LPZ_TORCH_PYTHON) cannot
# import torch and torchvision (Debian: python3-torch, python3-torchvision).
set -u
tool=$1
py=${LPZ_TORCH_PYTHON:-/usr/bin/python3} # Debian's python3 (the one python3-torch serves)
if [ ! -x "$py" ] || ! "$py" -c 'import torch, torchvision, numpy' 2>/dev/null; then
    echo "SKIPPED: $py cannot import torch, torchvision and numpy (Debian packages python3-torch," \
         "python3-torchvision); the InceptionV3 cross-check did not run"
    exit 77
fi
# about 90 MB of weights: tmpfs when there is one
base=/dev/shm
[ -w "$base" ] || base=${LPZ_BUILD_DIR:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$base/lpz-inception-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
"$py" "$(dirname "$0")/torch_crosscheck.py" "$tool" "$work"
