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
echo "ok"
