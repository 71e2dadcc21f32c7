#!/bin/bash
# tests/score/run_crosscheck.sh - PyTorch + SciPy cross-check of `lpz score`
# (ctest: test_score_torch_crosscheck). Exit 77 (skipped, with a message)
# when /usr/bin/python3 (or $LPZ_TORCH_PYTHON) cannot import torch, scipy
# and numpy.
set -u
py=${LPZ_TORCH_PYTHON:-/usr/bin/python3} # Debian's python3 (the one python3-torch serves)
if [ ! -x "$py" ] || ! "$py" -c 'import torch, scipy, numpy' 2>/dev/null; then
    echo "SKIPPED: $py cannot import torch, scipy and numpy (Debian packages python3-torch," \
         "python3-scipy); the cross-check of lpz score did not run"
    exit 77
fi
exec "$py" "$(dirname "$0")/score_crosscheck.py"
