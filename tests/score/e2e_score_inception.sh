#!/usr/bin/env bash
# lpz score on colour images (here a .npy of 3x16x16 images through the npy
# dataloader) names its features InceptionV3, in text and JSON (it said
# "classifier"), with a random-weights InceptionV3 file from inception_tool.
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
echo ok
