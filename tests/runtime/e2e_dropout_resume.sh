#!/usr/bin/env bash
# A --deterministic run of networks with dropout, stopped and resumed, ends
# as the run left uninterrupted, bit for bit (metrics.csv, the final
# networks): the generators of the cell's models, which draw the dropout
# masks, are in the checkpoints (a resume built them afresh and drew other
# masks from its first iteration on). With selection (the selected copies
# train, the cell's own individuals and the neighbours' copies are
# evaluated in training mode) and without (the cell's own individuals
# train). Checkpoints of an earlier lpz (without the model_rng tensors)
# still resume, not bit for bit; a damaged generator is refused, naming the
# tensor. Writing the sample images changes nothing in the training. The
# LSTM GAN with dropout (tiny-dropout-2x2.yml) on 200 random
# sequences written here: a few seconds.
set -euo pipefail
LPZ="$LPZ_BUILD_DIR/bin/lpz"
CFG="$LPZ_SOURCE_DIR/tests/runtime/tiny-dropout-2x2.yml"
ST="$LPZ_SOURCE_DIR/tests/runtime/st_edit.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run_dir() { ls -d "$1"/lipizzaner_gan/*/ | head -n 1; }

# 200 sequences of 6 steps x 3 features, float32, as a .npy (no numpy needed)
python3 - "$work/sequences.npy" <<'PY'
import random, struct, sys
n, t, f = 200, 6, 3
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d), }" % (n, t, f)
header += " " * (-(10 + len(header) + 1) % 64) + "\n"
rng = random.Random(1)
with open(sys.argv[1], "wb") as out:
    out.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    out.write(struct.pack("<%df" % (n * t * f), *(rng.gauss(0, 1) for _ in range(n * t * f))))
PY

same_run() { # REF RUN WHAT: RUN's metrics.csv and final networks are those of the run REF
  cmp "$1/metrics.csv" "$2/metrics.csv" || fail "$3: metrics.csv differs from the uninterrupted run's"
  for f in "$1"/master/*/*.safetensors; do
    cmp "$f" "$2/${f#$1}" || fail "$3: ${f#$1} differs from the uninterrupted run's"
  done
}

for sel in true false; do
  args=(-f "$CFG" --set dataloader.path="$work/sequences.npy" --set trainer.params.enable_selection=$sel
        --deterministic -q)
  "$LPZ" train "${args[@]}" --set general.output_dir="$work/full-$sel" > "$work/full.out" 2>&1 \
    || fail "selection $sel, 3 iterations: $(cat "$work/full.out")"
  "$LPZ" train "${args[@]}" --set general.output_dir="$work/part-$sel" --set trainer.n_iterations=2 \
    > "$work/part.out" 2>&1 || fail "selection $sel, 2 iterations: $(cat "$work/part.out")"
  dp=$(run_dir "$work/part-$sel")
  if [ $sel = true ]; then cp -r "$dp" "$work/old"; cp -r "$dp" "$work/bad"; fi
  "$LPZ" train --resume "$dp" --set trainer.n_iterations=3 -q > "$work/resume.out" 2>&1 \
    || fail "selection $sel, resume: $(cat "$work/resume.out")"
  same_run "$(run_dir "$work/full-$sel")" "$dp" "selection $sel: a deterministic run resumed at iteration 2"
done

# The sample images do not change the training: they were drawn in training mode, so each drew dropout masks
# (and would move a batch norm's running statistics), and the same run without them trained other networks
"$LPZ" train -f "$CFG" --set dataloader.path="$work/sequences.npy" --set trainer.params.enable_selection=true \
  --deterministic -q --set general.logging.enabled=false --set general.output_dir="$work/quiet" > "$work/quiet.out" \
  2>&1 || fail "general.logging.enabled false: $(cat "$work/quiet.out")"
[ ! -e "$(run_dir "$work/quiet")/samples" ] || fail "general.logging.enabled false wrote sample images"
same_run "$(run_dir "$work/full-true")" "$(run_dir "$work/quiet")" "the run without sample images"

# Checkpoints of an earlier lpz (no model_rng.*) resume; their masks are others, so the run differs (if it did not,
# the networks above drew no masks and this test checked nothing)
for c in 0 1 2 3; do
  python3 "$ST" "$work/old/checkpoints/cell-$c.safetensors" deltensor model_rng.generator model_rng.discriminator \
    model_rng.neighbour_generator model_rng.neighbour_discriminator model_rng.selected_generator \
    model_rng.selected_discriminator
done
"$LPZ" train --resume "$work/old" --set trainer.n_iterations=3 -q > "$work/old.out" 2>&1 \
  || fail "resume of checkpoints without model_rng: $(cat "$work/old.out")"
grep -q "warning: the checkpoints do not hold the random generators of the cell's models" "$work/old.out" \
  || fail "a resume without the models' generators did not say so: $(cat "$work/old.out")"
if grep -q "random generators" "$work/resume.out"; then
  fail "a resume with the models' generators warned: $(cat "$work/resume.out")"
fi
if cmp -s "$(run_dir "$work/full-true")/metrics.csv" "$work/old/metrics.csv"; then
  fail "a resume without the models' generators ended as the uninterrupted run: no dropout masks were drawn"
fi

# A damaged generator (its flag for a kept normal deviate 2, not 0 or 1) is refused, naming the tensor and row
python3 "$ST" "$work/bad/checkpoints/cell-1.safetensors" int model_rng.neighbour_generator 4 2
set +e
"$LPZ" train --resume "$work/bad" --set trainer.n_iterations=3 -q > "$work/bad.out" 2>&1
status=$?
set -e
[ "$status" -eq 1 ] || fail "a damaged model generator: exit $status: $(cat "$work/bad.out")"
grep -q "cell-1.safetensors: row 0 of tensor 'model_rng.neighbour_generator' is not a random state" "$work/bad.out" \
  || fail "a damaged model generator: $(cat "$work/bad.out")"
echo "e2e dropout resume: all checks passed"
