#!/usr/bin/env bash
# End-to-end: network.loss mustangs (no test trained it before). With
# randomized: true every network draws one of BCE, MSE and the heuristic
# loss at creation (the checkpoints and mixtures record it, and the eight
# networks of a 2x2 grid do not all draw the same: fixed seed, so this
# holds or fails the same way every run); a discriminator that drew the
# heuristic loss records it and trains with BCE. randomized: always trains
# too and, --deterministic, twice alike.
. "$LPZ_SOURCE_DIR/tests/common/e2e.sh"
loss_of() { # loss_of FILE: the "loss" metadata of a model file
  /usr/bin/python3 - "$1" <<'EOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
print(json.loads(b[8:8 + n])["__metadata__"]["loss"])
EOF
}
quick=(--set network.loss=mustangs --set trainer.n_iterations=2 --set master.calculate_score=false -q)

"$LPZ" train -f "$CFG" "${quick[@]}" --set network.randomized=true --set general.output_dir="$work/t" \
  > "$work/t.out" 2>&1 || fail "mustangs, randomized true: $(cat "$work/t.out")"
d=$(run_dir "$work/t")
losses=""
for c in 0 1 2 3; do
  for role in generator discriminator; do
    l=$(loss_of "$d/master/$c/$role-$c.safetensors")
    case "$l" in bce | mse | heuristic) ;; *) fail "cell $c's $role records loss '$l'" ;; esac
    losses="$losses $l"
  done
done
[ "$(echo $losses | tr ' ' '\n' | sort -u | wc -l)" -ge 2 ] \
  || fail "the eight networks all drew the same loss ($losses): one draw per network expected"

for r in a b; do
  "$LPZ" train -f "$CFG" "${quick[@]}" --set network.randomized=always --deterministic \
    --set general.output_dir="$work/$r" > "$work/$r.out" 2>&1 || fail "mustangs, randomized always: $(cat "$work/$r.out")"
done
da=$(run_dir "$work/a") db=$(run_dir "$work/b")
cut -d, -f1-6 "$da/metrics.csv" > "$work/ma" && cut -d, -f1-6 "$db/metrics.csv" > "$work/mb"
cmp -s "$work/ma" "$work/mb" || fail "two --deterministic runs with randomized: always differ: $(diff "$work/ma" "$work/mb")"
for c in 0 1 2 3; do cmp -s "$da/master/$c/generator-$c.safetensors" "$db/master/$c/generator-$c.safetensors" \
  || fail "cell $c's generator differs between two --deterministic runs"; done
# Loss settings that do nothing are said (they were taken silently): network.loss with lipizzaner_wgan, whose
# mixtures record the Wasserstein loss they trained with (they said mse); network.randomized without mustangs;
# an n_batches beyond one pass.
"$LPZ" train -f "$CFG" --set trainer.n_iterations=1 --set master.calculate_score=false \
  --set trainer.name=lipizzaner_wgan --set network.loss=mseloss --set network.randomized=true \
  --set dataloader.n_batches=100000 --set dataloader.sampling_ratio=0.01 --set general.output_dir="$work/w" \
  > "$work/w.out" 2>&1 \
  || fail "wgan: $(cat "$work/w.out")"
grep -q "warning: network.loss mseloss is not used by trainer.name lipizzaner_wgan" "$work/w.out" \
  || fail "no warning for network.loss with lipizzaner_wgan: $(cat "$work/w.out")"
grep -q "warning: network.randomized is for network.loss mustangs; with mseloss it has no effect" "$work/w.out" \
  || fail "no warning for network.randomized without mustangs"
grep -q "warning: dataloader.n_batches 100000 is more than one pass over the cell's subset of the data: an \
iteration trains 12 batches of 50" "$work/w.out" || fail "no warning for n_batches beyond one pass: $(grep n_batches "$work/w.out")"
dw=$(ls -d "$work"/w/lipizzaner_wgan/*/ | head -n 1)
[ "$(loss_of "$dw/master/0/generator-0.safetensors")" = wasserstein ] || fail "a WGAN generator records another loss"
echo "ok"
