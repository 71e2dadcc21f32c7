#!/usr/bin/env bash
# tests/cli/migrant.sh - what a user of the original (Python) Lipizzaner
# meets first, through the real binary: the original's dataset and network
# names that lpz has no plugin for say what to use instead; a model file
# without lpz's metadata (a PyTorch state_dict saved as safetensors) is
# refused with what to add, not with "-f CONFIG" (which does not help); a
# PyTorch .pkl (torch.save's zip archive or pickle) is named as such, not
# as a safetensors header of petabytes; its switches for a GPU and remote
# logging, turned on, are said to be ignored.
set -euo pipefail
LPZ="$LPZ_BUILD_DIR/bin/lpz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
. "$LPZ_SOURCE_DIR/tests/common/expect.sh" # expect STATUS TEXT ARGS...

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

# 2. A generator saved from PyTorch without lpz's metadata: the error says which metadata, with or without -f
#    (without -f the hint was "give the run's configuration with -f CONFIG", and with -f it failed anyway).
mkdir bare
/usr/bin/python3 - <<'EOF'
import json, struct
shapes = {"0.weight": [256, 64], "0.bias": [256], "2.weight": [256, 256], "2.bias": [256],
          "4.weight": [2, 256], "4.bias": [2]}
header, off = {}, 0
for k, s in shapes.items():
    n = 4
    for d in s:
        n *= d
    header[k] = {"dtype": "F32", "shape": s, "data_offsets": [off, off + n]}
    off += n
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
open("bare/generator-0.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + bytes(off))
open("bare/mixture.yml", "w").write("generator-0.safetensors: 1.0\n")
EOF
for f in "" "-f run.yml"; do
  # shellcheck disable=SC2086
  expect 1 "file's metadata (network, network_options, role, critic, sample_shape, latent_shape)" \
    generate --mixture-source bare -o gen $f
  grep -qF "with -f CONFIG" err && fail "generate $f: the hint still says -f CONFIG helps: $(cat err)"
  [ ! -e gen ] || fail "generate $f left $work/gen behind"
done
expect 1 "with or without -f: add it when converting" score --generator bare/generator-0.safetensors -f run.yml

# 3. The original's .pkl generators (torch.save: a zip archive, or a pickle before PyTorch 1.6).
mkdir pkl
printf 'PK\003\004\024\000\000\000\010\000archive/data.pkl' > pkl/generator-0.pkl
printf 'generator-0.pkl: 1.0\n' > pkl/mixture.yml
expect 1 "not a safetensors file but a zip archive (as PyTorch's torch.save writes)" \
  generate --mixture-source pkl -o gen
grep -qF "load it in PyTorch and save its tensors as safetensors" err || fail "no conversion hint: $(cat err)"
printf '\200\002\212\012l\374\234F\371 j\250P\031.' > pkl/generator-0.pkl
expect 1 "not a safetensors file but a Python pickle" score --generator pkl/generator-0.pkl -f run.yml
# 4. The original's GPU and remote-logging switches turned on are said to be ignored (they were, silently).
expect 0 "info: ignored, as lpz runs on CPUs and logs to metrics.csv and standard error: trainer.params.score.cuda, \
master.cuda, general.losswise.enabled, general.logging.log_server (the original Lipizzaner's settings)" \
  train -f run.yml --set trainer.params.score.cuda=True --set master.cuda=True --set general.losswise.enabled=True \
  --set general.logging.log_server='"postgresql://db/lipizzaner"' --set general.output_dir=out1
expect 0 "" train -f run.yml --set general.output_dir=out2
grep -qF "ignored, as lpz" err && fail "a run file without them was told the original's switches are ignored"
echo "migrant: all checks passed"
