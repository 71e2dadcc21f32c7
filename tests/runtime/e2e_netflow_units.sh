#!/usr/bin/env bash
# A network-traffic mixture is generated and scored only in the units it
# was trained in: the run records them next to each mixture
# (master/<cell>/units.json, also in a distributed run), and lpz generate /
# lpz score refuse data scaled otherwise (another capture of the same shape,
# the trained file changed in place), naming both files and the one to
# give. A run folder without the record (an earlier lpz) still generates,
# with a warning. Also: a batch larger than the dataset gets a hint.
# Usage: e2e_netflow_units.sh GEN_CAPTURE
set -euo pipefail
GEN="$1"
LPZ="$LPZ_BUILD_DIR/bin/lpz"
P2N="$LPZ_BUILD_DIR/bin/lpz-pcap2npy"
CFG="$LPZ_SOURCE_DIR/configuration/lipizzaner-gan/network_traffic.yml"
[ -x "$P2N" ] || { echo "SKIPPED: no lpz-pcap2npy"; exit 77; }
work=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.err; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }

# Two captures of different sizes: arrays of the same sample shape (10 x 4)
# whose per-feature ranges, and so scalings, differ.
"$GEN" bench "$work/a.pcap" 20000 400 >/dev/null
"$GEN" bench "$work/b.pcap" 8000 100 >/dev/null
"$P2N" --pcap "$work/a.pcap" -o "$work/flows.npy" --sequence-length 10 --idle-timeout 1 -q
"$P2N" --pcap "$work/b.pcap" -o "$work/newer.npy" --sequence-length 10 --idle-timeout 1 -q
common=(--set dataloader.batch_size=8 --set trainer.n_iterations=2 --set trainer.params.enable_selection=false)
"$LPZ" train -f "$CFG" --set dataloader.path="$work/flows.npy" --set general.output_dir="$work/out" "${common[@]}" \
  --grid 1 -q > "$work/train.out" 2> "$work/train.err" || fail "train failed"
run=$(ls -d "$work"/out/lipizzaner_gan/*/ | head -n 1)
run=${run%/}
rec="$run/master/0/units.json"
[ -s "$rec" ] || fail "no record of the units next to the mixture ($rec)"
grep -q '"format": "lpz units 1"' "$rec" || fail "record without its format: $(head -c 300 "$rec")"
grep -q "\"file\": \"$work/flows.npy\"" "$rec" || fail "the record does not name the trained file"
ls "$run/master/0"/.units.json.* "$run/master/0"/*.tmp* >/dev/null 2>&1 && fail "temporary files left in master/0"

# 1. Another capture of the same shape: refused, both files named, the
#    trained one as the hint; nothing written.
new=(-f "$CFG" --set dataloader.path="$work/newer.npy" --set general.output_dir="$work/out" "${common[@]}")
if "$LPZ" generate --mixture-source "$run/master/0/" -o "$work/g1" "${new[@]}" -q 2> "$work/g1.err"; then
  fail "generate with another capture's scaling succeeded"
fi
grep -q "scaled differently" "$work/g1.err" || fail "no scaling message"
grep -q "dataloader.path=$work/newer.npy" "$work/g1.err" || fail "the configured file is not named"
grep -q "dataloader.path=$work/flows.npy" "$work/g1.err" || fail "the trained file is not named"
grep -q -- "--set dataloader.path=$work/flows.npy, or -f $run/config.yml" "$work/g1.err" || fail "no hint"
grep -q "$run/master/0/units.json" "$work/g1.err" || fail "the record is not named"
[ ! -e "$work/g1/samples.csv" ] || fail "generate wrote samples before refusing"
"$LPZ" score --mixture-source "$run/master/0" "${new[@]}" --sample-size 4 > /dev/null 2> "$work/s1.err" \
  && fail "score --mixture-source with another capture's scaling succeeded"
grep -q "scaled differently" "$work/s1.err" || fail "score: no scaling message"
"$LPZ" score --generator "$run/master/0/generator-0.safetensors" "${new[@]}" --sample-size 4 > /dev/null \
  2> "$work/s2.err" && fail "score --generator with another capture's scaling succeeded"
grep -q "scaled differently" "$work/s2.err" || fail "score --generator: no scaling message"

# 2. The run's own configuration, or the trained file: accepted.
"$LPZ" generate --mixture-source "$run/master/0" -o "$work/g2" -f "$run/config.yml" --sample-size 4 -q \
  2> "$work/g2.err" || fail "generate with the run's config.yml failed"
[ -s "$work/g2/samples.csv" ] || fail "no samples.csv"
[ ! -s "$work/g2.err" ] || fail "generate with the run's config.yml warned: $(cat "$work/g2.err")"
"$LPZ" score --mixture-source "$run/master/0" -f "$run/config.yml" --sample-size 4 > /dev/null 2> "$work/s3.err" \
  || fail "score with the run's config.yml failed"
rm -f "$work"/*.err

# 3. The trained file replaced in place: refused, though the options match.
cp "$work/flows.npy" "$work/kept.npy"
cp "$work/newer.npy" "$work/flows.npy"
"$LPZ" generate --mixture-source "$run/master/0" -o "$work/g3" -f "$run/config.yml" -q 2> "$work/g3.err" \
  && fail "generate with the trained file changed in place succeeded"
grep -q "the data changed since the training" "$work/g3.err" || fail "no 'changed' message"
# ... and removed: the hint says so.
rm "$work/flows.npy"
"$LPZ" generate --mixture-source "$run/master/0" -o "$work/g3" "${new[@]}" -q 2> "$work/g3.err" \
  && fail "generate without the trained file succeeded"
grep -q "which is gone" "$work/g3.err" || fail "no 'gone' hint"
cp "$work/kept.npy" "$work/flows.npy"
rm -f "$work"/*.err

# 4. A damaged record is an error, not a silent pass.
cp "$rec" "$work/units.json"
head -c 100 "$work/units.json" > "$rec"
"$LPZ" generate --mixture-source "$run/master/0" -o "$work/g4" -f "$run/config.yml" -q 2> "$work/g4.err" \
  && fail "generate with a damaged record succeeded"
grep -q "not a record of original units" "$work/g4.err" || fail "damaged record: $(cat "$work/g4.err")"
# ... as are values that are not the writer's numbers (a NaN blamed the data: "the data changed since the
# training ... nan in training"; an inf passed) and a probe other than [-1, 0, 1] (passed)
for edit in 's/"values": \[\n    \[[^,]*/"values": [\n    [NaN/' 's/"values": \[\n    \[[^,]*/"values": [\n    [inf/' \
            's/"probe": \[-1, 0, 1\]/"probe": [1, 0, -1]/'; do
  perl -0pe "$edit" "$work/units.json" > "$rec"
  ! cmp -s "$rec" "$work/units.json" || fail "the edit $edit changed nothing"
  "$LPZ" generate --mixture-source "$run/master/0" -o "$work/g4" -f "$run/config.yml" -q 2> "$work/g4.err" \
    && fail "generate with a record edited by $edit succeeded"
  grep -q "not a record of original units" "$work/g4.err" || fail "edited record ($edit): $(cat "$work/g4.err")"
done
# a record of samples of another size names both sizes
perl -0pe 's/"elements": [0-9]+/"elements": 99999999999/' "$work/units.json" > "$rec"
"$LPZ" generate --mixture-source "$run/master/0" -o "$work/g4" -f "$run/config.yml" -q 2> "$work/g4.err" \
  && fail "generate with a record of other samples succeeded"
grep -q "the record is of samples of 99999999999 values, the configured data's have" "$work/g4.err" \
  || fail "record of another size: $(cat "$work/g4.err")"
cp "$work/units.json" "$rec"
rm -f "$work"/*.err

# 5. A run folder without the record (an earlier lpz): today's behaviour
#    and a warning.
rm "$rec"
"$LPZ" generate --mixture-source "$run/master/0" -o "$work/g5" "${new[@]}" -q 2> "$work/g5.log" \
  || fail "generate of a run without a record failed: $(cat "$work/g5.log")"
grep -q "has no units.json" "$work/g5.log" || fail "no warning for a run without a record"
cp "$work/units.json" "$rec"

# 6. A batch larger than the dataset: the hint says what fits.
n=$(grep -o '"shape": \[[0-9]*' "$work/newer.npy.json" | grep -o '[0-9]*$')
"$LPZ" train -f "$CFG" --set dataloader.path="$work/newer.npy" --set general.output_dir="$work/out6" \
  "${common[@]}" --set dataloader.batch_size=100000 --grid 1 -q > /dev/null 2> "$work/t6.err" \
  && fail "a batch larger than the dataset was accepted"
grep -q "set dataloader.batch_size to $n or less" "$work/t6.err" || fail "batch size hint: $(cat "$work/t6.err")"
grep -q "error: --set dataloader.batch_size: batch_size 100000 is larger than the dataset" "$work/t6.err" \
  || fail "the error should say where batch_size was set: $(cat "$work/t6.err")"
grep -q -- "--sequence-length" "$work/t6.err" || fail "no sequence hint: $(cat "$work/t6.err")"
# ... and the run that failed before training leaves no folder, though the
# dataloader wrote its scaling.json there while it opened
[ ! -e "$work/out6" ] || fail "a run that failed before training left $(find "$work/out6" -type f)"
grep -q "partial results" "$work/t6.err" && fail "partial results claimed: $(cat "$work/t6.err")"
rm -f "$work"/*.err

# 8. The final scoring (master.calculate_score) scores a mixture only
#    against the data it trained on: a resume that only scores, after the
#    file changed in place, leaves the cell unscored and says why and how
#    to score it; with the file back, the resume scores it. A resume that
#    trains on changed data says so.
"$LPZ" train -f "$CFG" --set dataloader.path="$work/flows.npy" --set general.output_dir="$work/out8" "${common[@]}" \
  --set master.calculate_score=false --grid 1 -q > /dev/null 2> "$work/t8.err" || fail "train (8) failed"
run8=$(ls -d "$work"/out8/lipizzaner_gan/*/ | head -n 1)
cp "$work/newer.npy" "$work/flows.npy"
"$LPZ" train --resume "$run8" --set master.calculate_score=true > "$work/r8.out" 2> "$work/r8.err" \
  || fail "resume (8) failed: $(cat "$work/r8.err")"
grep -q "cell 0: final mixture not scored: .*scaled differently" "$work/r8.err" \
  || fail "no warning: $(cat "$work/r8.err")"
grep -q "final scoring: 0 of 1 cells scored .* 1 not .*--resume ${run8%/} scores the rest" "$work/r8.out" \
  || fail "summary (8): $(cat "$work/r8.out")"
grep -q "final FID" "$work/r8.out" && fail "a final FID against other data: $(cat "$work/r8.out")"
grep -q '^0,2,,,$' "$run8/final_scores.csv" || fail "final_scores.csv (8): $(cat "$run8/final_scores.csv")"
cp "$work/kept.npy" "$work/flows.npy"
"$LPZ" train --resume "$run8" > "$work/r8b.out" 2> "$work/r8b.err" || fail "resume (8b) failed: $(cat "$work/r8b.err")"
grep -q "scaled differently" "$work/r8b.err" && fail "warned with the trained data: $(cat "$work/r8b.err")"
grep -q "best cell: 0 (final FID" "$work/r8b.out" || fail "not scored with the trained data: $(cat "$work/r8b.out")"
grep -q '^0,2,50,[0-9]' "$run8/final_scores.csv" || fail "final_scores.csv (8b): $(cat "$run8/final_scores.csv")"
cp "$work/newer.npy" "$work/flows.npy"
"$LPZ" train --resume "$run8" --set trainer.n_iterations=3 > /dev/null 2> "$work/r8c.err" \
  || fail "resume (8c) failed: $(cat "$work/r8c.err")"
grep -q "resuming on other data: .*scaled differently" "$work/r8c.err" || fail "no warning: $(cat "$work/r8c.err")"
cp "$work/kept.npy" "$work/flows.npy"
rm -f "$work"/*.err

# 7. Distributed: a client writes the record into master/<cell>/, which
#    travels to the master's run folder.
export LPZ_SECRET="units-test-secret"
port=$((23000 + ($$ % 900) * 5))
mkdir -p "$work/c0"
env TMPDIR="$work/c0" "$LPZ" train --distributed --client --port "$port" > "$work/c0.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do grep -q "client listening" "$work/c0.log" && break; sleep 0.05; done
grep -q "client listening" "$work/c0.log" || fail "the client did not start: $(cat "$work/c0.log")"
timeout 120 "$LPZ" train --distributed --master -f "$CFG" --set dataloader.path="$work/flows.npy" \
  --set general.output_dir="$work/dist" "${common[@]}" --set general.grid_size=1 \
  --set "general.distribution.client_nodes=[{address: 127.0.0.1, port: $port}]" > "$work/m.out" 2> "$work/m.err" \
  || fail "distributed run failed: $(cat "$work/m.out")"
drun=$(ls -d "$work"/dist/lipizzaner_gan/*/ | head -n 1)
drun=${drun%/}
[ -s "$drun/master/0/units.json" ] || fail "the distributed run has no master/0/units.json"
cmp -s "$drun/master/0/units.json" "$rec" || fail "the client's record differs from the local run's"
"$LPZ" generate --mixture-source "$drun/master/0" -o "$work/g7" "${new[@]}" -q 2> "$work/g7.err" \
  && fail "generate of the distributed run with another capture succeeded"
grep -q "scaled differently" "$work/g7.err" || fail "distributed: no scaling message"
"$LPZ" generate --mixture-source "$drun/master/0" -o "$work/g8" -f "$drun/config.yml" -q \
  || fail "generate of the distributed run with its config.yml failed"
echo "e2e netflow units: record written (local and distributed), other scalings refused, old runs warned"
