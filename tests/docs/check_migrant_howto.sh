#!/usr/bin/env bash
# tests/docs/check_migrant_howto.sh - runs what docs/howto/coming-from-lipizzaner.md
# shows: its run file (with the original's general.yml) trains; the ignored
# switches are said; its load_lpz.py loads a trained generator into the
# original's network with strict=True and matches lpz generate --latent; its
# to_lpz.py turns a torch.save'd generator (a state_dict with the original's
# "net." prefix, and a pickled module) into a file lpz generates from, the
# same samples as PyTorch's. The blocks are taken from the page (after a
# "<!-- migrant-howto: NAME -->" line), so the page cannot drift.
#   check_migrant_howto.sh LPZ SOURCE_DIR
# Exit 77 (skipped) without Fashion-MNIST or without PyTorch for /usr/bin/python3.
set -euo pipefail
LPZ=$1
page="$2/docs/howto/coming-from-lipizzaner.md"
py=${LPZ_TORCH_PYTHON:-/usr/bin/python3}
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
  exit 77
fi
if [ ! -x "$py" ] || ! "$py" -c 'import torch, numpy' 2>/dev/null; then
  echo "SKIPPED: $py cannot import torch and numpy (Debian package python3-torch)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }

# The page's marked blocks, each into its file.
awk '/^<!-- migrant-howto: .* -->$/ {name = $3; next}
     name != "" && /^```/ {if (inside) {inside = 0; name = ""} else inside = 1; next}
     inside {print > name}' "$page"
for f in fmnist.yml load_lpz.py to_lpz.py; do [ -s "$f" ] || fail "the page has no block $f"; done

# The original's general.yml, as the page describes it.
cat > general.yml <<'YML'
logging:
  enabled: True
  log_level: INFO
  log_server: # Fill in connection string with read/write access here
  image_format: jpg
  print_discriminator: False
losswise:
  enabled: False
  api_key:
output_dir: !ENV ${OUTPUT_FOLDER}
distribution:
  auto_discover: False
  master_node:
    exit_clients_on_disconnect: True
  client_nodes:
    - address: 127.0.0.1
      port: 5000-5003
seed: 1
num_workers: 0 # how many subprocesses to use for data loading
name: job1
checkpoint_period: 1
YML
export OUTPUT_FOLDER="$work/output"
# No FID here (the classifier would take a minute to train): the rest is the page's file.
"$LPZ" train -f fmnist.yml --set trainer.params.score.enabled=False --set master.calculate_score=False \
  > train.out 2> train.err || fail "the page's run file did not train: $(cat train.err)"
grep -qF "lpz[job1]: info: ignored, as lpz runs on CPUs and logs to metrics.csv and standard error: \
trainer.params.score.cuda, master.cuda (the original Lipizzaner's settings)" train.err \
  || fail "no line about the ignored switches: $(cat train.err)"
run=$(sed -n 's/^results: //p' train.out)
[ -d "$run/master/3" ] || fail "no 2x2 grid in $run"
ls "$run"/samples/cell-0/iteration-0002.jpg > /dev/null || fail "no jpg samples"
[ -s "$run/checkpoints/cell-0.safetensors" ] || fail "no checkpoint"

# load_lpz.py against lpz generate, one generator in a mixture of its own.
mkdir one && cp "$run/master/0/generator-1.safetensors" one/
echo 'generator-1.safetensors: 1.0' > one/mixture.yml
"$py" -c 'import numpy as np; np.save("z.npy", np.random.randn(7, 64).astype(np.float32))'
"$LPZ" generate --mixture-source one -o one-samples --latent z.npy -q > gen.out || fail "generate"
grep -qF "wrote 7 samples of a mixture of 1 generator to one-samples" gen.out || fail "generate said: $(cat gen.out)"
"$py" load_lpz.py one/generator-1.safetensors z.npy one-samples/samples.npy > load.out || fail "load_lpz.py"
cat load.out
grep -q "^samples (7, 1, 28, 28) in " load.out || fail "load_lpz.py said: $(cat load.out)"
"$py" -c 'import sys; d = float(open("load.out").read().split("largest difference:")[1]); sys.exit(d > 1e-5)' \
  || fail "lpz and PyTorch differ: $(cat load.out)"

# to_lpz.py: a state_dict with the wrapper's "net." prefix, and a pickled module, both zip and old pickle.
"$py" - <<'PY'
import torch
from torch import nn
torch.manual_seed(3)
seq = nn.Sequential(nn.Linear(64, 256), nn.LeakyReLU(0.2), nn.Linear(256, 256), nn.LeakyReLU(0.2),
                    nn.Linear(256, 784), nn.Tanh())
class GeneratorNet(nn.Module):  # the original's wrapper keeps the Sequential as .net
    def __init__(self, net):
        super().__init__()
        self.net = net
torch.save(GeneratorNet(seq).state_dict(), "wrapped.pkl")
torch.save(seq, "module.pkl", _use_new_zipfile_serialization=False)
PY
for pkl in wrapped module; do
  mkdir "old-$pkl"
  "$py" to_lpz.py $pkl.pkl "old-$pkl/generator-0.safetensors" || fail "to_lpz.py $pkl.pkl"
  echo 'generator-0.safetensors: 1.0' > "old-$pkl/mixture.yml"
  "$LPZ" generate --mixture-source "old-$pkl" -o "old-$pkl-samples" --latent z.npy -q > /dev/null \
    || fail "lpz generate refused the converted $pkl.pkl"
  "$py" load_lpz.py "old-$pkl/generator-0.safetensors" z.npy "old-$pkl-samples/samples.npy" > load.out
  "$py" -c 'import sys; d = float(open("load.out").read().split("largest difference:")[1]); sys.exit(d > 1e-5)' \
    || fail "the converted $pkl.pkl generates other samples: $(cat load.out)"
done
# and lpz itself names the .pkl when given one
mkdir pkl && cp wrapped.pkl pkl/generator-0.pkl && echo 'generator-0.pkl: 1.0' > pkl/mixture.yml
"$LPZ" generate --mixture-source pkl -o pkl-samples 2> pkl.err && fail "a .pkl was taken"
grep -qF "not a safetensors file but a zip archive (as PyTorch's torch.save writes)" pkl.err \
  || fail "the .pkl's error: $(cat pkl.err)"
echo "coming-from-lipizzaner.md: all checks passed"
