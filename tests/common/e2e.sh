# tests/common/e2e.sh - sourced by the end-to-end scripts that train on
# Fashion-MNIST: strict mode, the binary ($LPZ), the tiny 2x2 run file
# ($CFG; a script may point it elsewhere after sourcing), a skip (exit 77)
# without the dataset, a scratch folder ($work) removed on exit, fail and
# run_dir.
set -euo pipefail
LPZ="$LPZ_BUILD_DIR/bin/lpz"
CFG="$LPZ_SOURCE_DIR/tests/runtime/tiny-2x2.yml"
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# run_dir OUTPUT_DIR: the (first) run folder under it
run_dir() { ls -d "$1"/lipizzaner_gan/*/ | head -n 1; }
