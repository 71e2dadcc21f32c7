#!/usr/bin/env bash
# tests/cli/migrant.sh - what a user of the original (Python) Lipizzaner
# meets first, through the real binary: the original's dataset and network
# names that lpz has no plugin for say what to use instead.
set -euo pipefail
LPZ="$LPZ_BUILD_DIR/bin/lpz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
# expect STATUS TEXT ARGS...: lpz ARGS exits STATUS and prints TEXT (a fixed string; anything when empty) on stderr.
expect() {
  local want=$1 text=$2
  shift 2
  set +e
  "$LPZ" "$@" > "$work/out" 2> "$work/err"
  local status=$?
  set -e
  [ "$status" -eq "$want" ] || fail "lpz $*: exit $status, expected $want: $(cat "$work/err")"
  [ -z "$text" ] || grep -qF -- "$text" "$work/err" || fail "lpz $*: expected '$text' in: $(cat "$work/err")"
}

# A tiny data set of 2-D points (a .npy of 64 x 2 float32) and a run file on it.
/usr/bin/python3 - <<'EOF'
import struct
head = "{'descr': '<f4', 'fortran_order': False, 'shape': (64, 2), }"
head += " " * (63 - (10 + len(head)) % 64) + "\n"
rows = b"".join(struct.pack("<ff", (i % 8) / 8.0, (i % 5) / 5.0) for i in range(64))
open("points.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode() + rows)
EOF
cat > run.yml <<'EOF'
trainer:
  n_iterations: 1
  params:
    score:
      enabled: False
dataloader:
  dataset_name: npy
  path: points.npy
  batch_size: 16
network:
  name: four_layer_perceptron
general:
  output_dir: ./output
EOF
expect 0 "" config -f run.yml

# 1. The original's names: each says what lpz uses instead (it said only "no dataloader plugin named ...").
expect 1 "'circular' is one of the original Lipizzaner's toy sets, not in lpz: make the points with NumPy" \
  config -f run.yml --set dataloader.dataset_name=circular
grep -qF "'dataset_name: npy'" err || fail "the toy set's hint does not name the npy dataloader: $(cat err)"
expect 1 "'gaussian' is one of the original Lipizzaner's toy sets" \
  config -f run.yml --set dataloader.dataset_name=gaussian
expect 1 "'grid' is one of the original Lipizzaner's toy sets" config -f run.yml --set dataloader.dataset_name=grid
expect 1 "'channels_last: true'; network convolutional takes 3x32x32" \
  config -f run.yml --set dataloader.dataset_name=cifar
expect 1 "use 'dataset_name: fashion_mnist'" config -f run.yml --set dataloader.dataset_name=mnist_fashion
expect 1 "use 'name: four_layer_perceptron'" config -f run.yml --set network.name=circular_problem_perceptron
expect 1 "semi-supervised GAN" config -f run.yml --set network.name=ssgan_perceptron
# a name the original did not have keeps the general advice
expect 1 "check the name, or add the plugin's folder" config -f run.yml --set dataloader.dataset_name=circles
# a name of the original in the other section is not taken for it
expect 1 "no network plugin named 'cifar'" config -f run.yml --set network.name=cifar
grep -qF "toy sets" err && fail "a network named cifar got a dataloader's advice: $(cat err)"

echo "migrant: all checks passed"
