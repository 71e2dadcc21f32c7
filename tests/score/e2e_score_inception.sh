#!/usr/bin/env bash
# lpz score on colour images (here a .npy of 3x16x16 images through the npy
# dataloader) names its features InceptionV3, in text and JSON (it said
# "classifier"), with a random-weights InceptionV3 file from inception_tool;
# lpz train refuses a final scoring without the weights at the start.
set -euo pipefail
LPZ="$LPZ_BUILD_DIR/bin/lpz"
/usr/bin/python3 -c "import numpy" 2>/dev/null || { echo "SKIPPED: python3-numpy missing"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$work"
"$LPZ_BUILD_DIR/tests/inception_tool" random-weights "$work/incep.safetensors" 1 > /dev/null
/usr/bin/python3 - <<'EOF'
import numpy as np
rng = np.random.default_rng(3)
np.save("images.npy", rng.integers(0, 256, size=(8, 3, 16, 16), dtype=np.uint8))
np.save("fake.npy", rng.uniform(-1, 1, size=(8, 3, 16, 16)).astype(np.float32))
EOF
cat > run.yml <<'YML'
dataloader: {dataset_name: npy, path: images.npy, scaling: global}
network: {name: convolutional}
YML
sets=(--set trainer.params.score.feature_model="$work/incep.safetensors" --samples fake.npy)
"$LPZ" score -f run.yml "${sets[@]}" > s.txt 2> s.err || fail "score: $(cat s.err)"
grep -q "fake.npy: 8 samples against 8 real npy samples (features: InceptionV3 $work/incep.safetensors)" s.txt \
  || fail "text: $(cat s.txt)"
grep -q "^FID  *[0-9]" s.txt || fail "no FID: $(cat s.txt)"
"$LPZ" score -f run.yml "${sets[@]}" --json -q > s.json 2> s.err || fail "score --json: $(cat s.err)"
grep -q '"features": "InceptionV3"' s.json || fail "json: $(cat s.json)"
# A final scoring that cannot run (colour images, no InceptionV3 weights) is refused before the training, as the
# training's FID is (with score.type none it was said after the whole training: "no final scores", exit 0)
"$LPZ" train -f run.yml --set network.name=four_layer_perceptron --set dataloader.batch_size=4 \
  --set trainer.params.score.type=none --set master.calculate_score=true --set general.grid_size=1 \
  --set trainer.params.tournament_size=1 --set general.output_dir="$work/out" > t.out 2>&1 \
  && fail "a final scoring without its weights should be refused at the start"
grep -q "master.calculate_score: FID on npy images (3x16x16) needs the InceptionV3 weights.*set \
master.calculate_score to false" t.out || fail "refusal: $(cat t.out)"
grep -q "iteration 1" t.out && fail "it trained before refusing: $(cat t.out)"
# ... and so is one whose weights file is not there
"$LPZ" train -f run.yml --set network.name=four_layer_perceptron --set dataloader.batch_size=4 \
  --set trainer.params.score.type=none --set master.calculate_score=true --set general.grid_size=1 \
  --set trainer.params.tournament_size=1 --set trainer.params.score.feature_model="$work/none.safetensors" \
  --set general.output_dir="$work/out" > t.out 2>&1 && fail "a final scoring with a missing weights file was taken"
grep -q "master.calculate_score: trainer.params.score.feature_model: $work/none.safetensors: the InceptionV3 \
weights file does not exist" t.out || fail "missing weights: $(cat t.out)"
echo ok
