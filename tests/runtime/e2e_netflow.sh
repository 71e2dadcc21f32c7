#!/usr/bin/env bash
# End-to-end network-traffic pipeline: a generated capture -> lpz-pcap2npy
# -> network_traffic dataloader -> rnn network -> lpz train -> lpz generate,
# which writes sequences in original units (seconds, packets, bytes).
# Usage: e2e_netflow.sh GEN_CAPTURE
set -euo pipefail
GEN="$1"
LPZ="$LPZ_BUILD_DIR/bin/lpz"
P2N="$LPZ_BUILD_DIR/bin/lpz-pcap2npy"
CFG="$LPZ_SOURCE_DIR/configuration/lipizzaner-gan/network_traffic.yml"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$GEN" bench "$work/cap.pcap" 20000 400 >/dev/null
"$P2N" --pcap "$work/cap.pcap" -o "$work/flows.npy" --sequence-length 10 --idle-timeout 1 -q
[ -s "$work/flows.npy" ] || fail "no flows.npy"
set_args=(--set dataloader.path="$work/flows.npy" --set dataloader.batch_size=8
          --set general.output_dir="$work/out" --set trainer.n_iterations=2
          --set trainer.params.enable_selection=false)
"$LPZ" train -f "$CFG" "${set_args[@]}" --grid 1 -q > "$work/train.out"
run=$(ls -d "$work"/out/lipizzaner_gan/*/ | head -n 1)
[ -s "$run/scaling.json" ] || fail "the run did not save the dataloader's scaling"
[ -s "$run/samples/cell-0/iteration-0002.csv" ] || fail "no sample sequences written"
"$LPZ" generate --mixture-source "$run/master/0" -o "$work/gen" -f "$CFG" "${set_args[@]}" --sample-size 6 -q
[ -s "$work/gen/samples.csv" ] || fail "generate wrote no CSV"
[ -s "$work/gen/samples.npy" ] || fail "generate wrote no npy"
# 6 samples x 10 steps; columns named after lpz-pcap2npy's sidecar; packets
# and bytes not negative.
rows=$(($(wc -l < "$work/gen/samples.csv") - 1))
[ "$rows" -eq 60 ] || fail "samples.csv has $rows rows, expected 6 x 10"
header=$(head -n 1 "$work/gen/samples.csv")
[ "$header" = "sample,t,gap,dur,pkts,bytes" ] || fail "unexpected CSV header: $header"
awk -F, 'NR > 1 && ($5 < 0 || $6 < 0) {bad = 1} END {exit bad}' "$work/gen/samples.csv" \
  || fail "negative packet or byte counts in original units"
# --format is for images: for sequences it is said, not taken silently
"$LPZ" generate --mixture-source "$run/master/0" -o "$work/genpng" -f "$CFG" "${set_args[@]}" --sample-size 2 \
  --format png > /dev/null 2> "$work/genpng.err" || fail "generate --format png: $(cat "$work/genpng.err")"
grep -q "format png is for image data; network_traffic samples are written as the dataloader renders them" \
  "$work/genpng.err" || fail "no word on --format png for sequences: $(cat "$work/genpng.err")"
# Sequences of more than 512 values have no FID: with the training's score
# off, the final scoring's warning names the key that turns it off.
"$P2N" --pcap "$work/cap.pcap" -o "$work/long.npy" --sequence-length 130 --idle-timeout 1 -q
"$LPZ" train -f "$CFG" "${set_args[@]}" --set dataloader.path="$work/long.npy" --set dataloader.batch_size=1 \
  --set trainer.n_iterations=1 --set trainer.params.score.type=none --grid 1 -q > /dev/null 2> "$work/long.err" \
  || { cat "$work/long.err"; fail "training on 520-value sequences failed"; }
grep -q "not available.*set master.calculate_score to false" "$work/long.err" \
  || { cat "$work/long.err"; fail "the final scoring's warning does not name master.calculate_score"; }
if grep -q "score.type to none" "$work/long.err"; then
  cat "$work/long.err"; fail "the final scoring's warning names the training's score key"
fi
echo "e2e netflow: capture -> pcap2npy -> train (rnn) -> generate: all checks passed"
