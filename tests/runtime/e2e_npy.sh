#!/usr/bin/env bash
# Your own data from a .npy, as docs/howto/train-on-your-own-data.md shows:
# the how-to's own numpy snippet writes the ring of 8 Gaussians, its run
# file (configuration/own-data/ring.yml) trains on it, and lpz generate
# writes samples in the data's units (every value within the data's range,
# as the scaling maps [-1, 1] back), lpz score scores them; channels-last
# uint8 images train and generate image files; the how-to's CSV table
# trains too and generates a table with its names; vectors too wide for a
# FID are said to have no final score; a missing path and a
# channels-last array read as channels first say what to set.
set -euo pipefail
LPZ="$LPZ_BUILD_DIR/bin/lpz"
CFG="$LPZ_SOURCE_DIR/configuration/own-data/ring.yml"
DOC="$LPZ_SOURCE_DIR/docs/howto/train-on-your-own-data.md"
/usr/bin/python3 -c "import numpy" 2>/dev/null || { echo "SKIPPED: python3-numpy missing"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$work"

# The how-to's snippet, as it stands in the page (the first python block).
awk '/^```python$/ {on = 1; next} /^```$/ && on {exit} on' "$DOC" > make_ring.py
grep -q "np.save(\"ring.npy\"" make_ring.py || fail "the how-to's snippet was not found: $(cat make_ring.py)"
/usr/bin/python3 make_ring.py || fail "the how-to's snippet failed"
[ -s ring.npy ] || fail "no ring.npy"

quick=(--set trainer.n_iterations=3 --set dataloader.n_batches=5 --set general.output_dir="$work/out")
"$LPZ" train -f "$CFG" --grid 1 "${quick[@]}" > train.out 2> train.log || fail "train failed: $(cat train.log)"
grep -q "npy: 4000 vector samples of 2 from ring.npy (scaling feature)" train.log || fail "log: $(cat train.log)"
# lpz classifier on vectors: refused before the data are read at all (npy's describe tells the shape from the
# header) and before "training the classifier"
"$LPZ" classifier -f "$CFG" -o "$work/clf.safetensors" > clf.out 2> clf.log && fail "a classifier on vectors"
grep -q "the training data of npy are not 1x28x28 images; the classifier needs MNIST-format data" clf.log \
  || fail "classifier on vectors: $(cat clf.log)"
! grep -q "vector samples of 2" clf.log && ! grep -q "training the classifier" clf.log \
  || fail "classifier on vectors read the data or began: $(cat clf.log)"
# use_batch false: a whole pass each iteration, n_batches ignored (as the original; the docs called it no effect)
"$LPZ" train -f "$CFG" --grid 1 "${quick[@]}" --set trainer.n_iterations=1 --set dataloader.use_batch=false \
  --set general.output_dir="$work/ub" > ub.out 2> ub.log || fail "use_batch false: $(cat ub.log)"
grep -q "1 cell, 40 batches of 100 per iteration" ub.log || fail "use_batch false: $(grep batches ub.log)"
# the inception score needs the MNIST-format classifier's classes: refused at the start, saying what to set
"$LPZ" train -f "$CFG" --grid 1 "${quick[@]}" --set trainer.params.score.type=inception_score > is.out 2> is.log \
  && fail "inception_score on vectors should be refused"
grep -q "trainer.params.score: the inception score needs class probabilities.*set trainer.params.score.type to fid" \
  is.log || fail "inception_score on vectors: $(cat is.log)"
# an empty option value ("./: not a regular file (a folder)" before)
"$LPZ" train -f "$CFG" --grid 1 "${quick[@]}" --set dataloader.labels= > el.out 2> el.log \
  && fail "an empty dataloader.labels should be refused"
grep -q "dataloader.labels: labels is empty" el.log || fail "empty labels: $(cat el.log)"
# a feature model named for data scored on its raw values: said, not ignored silently
"$LPZ" train -f "$CFG" --grid 1 "${quick[@]}" --set trainer.n_iterations=1 \
  --set trainer.params.score.feature_model=/nonexistent/clf.safetensors > fm.out 2> fm.log || fail "$(cat fm.log)"
grep -q "trainer.params.score.feature_model (/nonexistent/clf.safetensors) is not used: npy samples of 2 values" \
  fm.log || fail "feature_model for raw features: $(cat fm.log)"
# optimize_mixture (the ES over the mixture weights after training) says what it found for each cell, and the
# weights it reports are those saved; the summary's score is then the ES's, not the last iteration's
"$LPZ" train -f "$CFG" --grid 2 "${quick[@]}" --set trainer.n_iterations=2 --set trainer.params.tournament_size=2 \
  --set trainer.params.optimize_mixture.enabled=true --set trainer.params.optimize_mixture.es_generations=3 \
  --set trainer.params.optimize_mixture.sample_size=200 --set trainer.params.score.score_sample_size=200 \
  --set general.output_dir="$work/es" > es.out 2> es.log || fail "optimize_mixture: $(cat es.log)"
es_run=$(dirname "$(dirname "$(sed -n 's/^best mixture: //p' es.out)")")
for c in 0 1 2 3; do
  line=$(grep "cell $c: optimize_mixture: FID [0-9.]* after 3 generations; weights " es.log) \
    || fail "optimize_mixture of cell $c said nothing: $(cat es.log)"
  saved=$(awk '/^generator-/ {printf "%s%.4f", (n++ ? " " : ""), $2}' "$es_run/master/$c/mixture.yml")
  [ "${line##*weights }" = "$saved" ] || fail "cell $c: optimize_mixture said '$line', mixture.yml has $saved"
done
grep -q "^best cell: [0-3] (FID [0-9.]*, optimize_mixture's)$" es.out || fail "summary: $(cat es.out)"
if grep -q "optimize_mixture" train.log; then fail "a run without optimize_mixture: $(cat train.log)"; fi
mix=$(sed -n 's/^best mixture: //p' train.out)
run=$(dirname "$(dirname "$mix")")
[ -s "$mix/units.json" ] || fail "no units.json next to the mixture"
"$LPZ" generate -f "$run/config.yml" --mixture-source "$mix" --sample-size 500 -o gen -q > /dev/null \
  || fail "generate failed"
# The run's copy names the data the training read, absolute (the run file says ring.npy, relative: before, it was
# found only from the folder the training ran in); generate, score and --resume work from any folder.
grep -qx "  path: \"$work/ring.npy\"  # plugin option, .*, given as \"ring.npy\"" "$run/config.yml" \
  || fail "the run's copy should name the data absolute: $(grep -n 'path:' "$run/config.yml")"
grep -qx "  output_dir: \"$work/out\"  # --set" "$run/config.yml" \
  || fail "output_dir (absolute already) should be as given: $(grep -n 'output_dir:' "$run/config.yml")"
mkdir -p elsewhere
(cd elsewhere && "$LPZ" generate -f "$run/config.yml" --mixture-source "$mix" --sample-size 5 -o g -q > /dev/null \
  2> ../else.log) || fail "generate from another folder: $(cat else.log)"
[ -s elsewhere/g/samples.npy ] || fail "generate from another folder wrote no samples"
(cd elsewhere && "$LPZ" score -f "$run/config.yml" --mixture-source "$mix" --sample-size 50 -q > sc.out 2> sc.log) \
  || fail "score from another folder: $(cat elsewhere/sc.log)"
[ ! -e elsewhere/output ] || fail "score from another folder made ./output there"
# the data moved since: the error names the file and says how to give its new place
mv ring.npy ring-moved.npy
(cd elsewhere && "$LPZ" generate -f "$run/config.yml" --mixture-source "$mix" --sample-size 5 -o g2 -q > /dev/null \
  2> ../else.log) && fail "generate found data that moved"
grep -q "$work/ring.npy: cannot open .npy file.*the run file is a run folder's copy: if the data moved, give its place \
with --set dataloader.path=" else.log || fail "no hint for moved data: $(cat else.log)"
(cd elsewhere && "$LPZ" generate -f "$run/config.yml" --mixture-source "$mix" --sample-size 5 -o g2 -q \
  --set dataloader.path=../ring-moved.npy > /dev/null 2> ../else.log) || fail "--set path: $(cat else.log)"
mv ring-moved.npy ring.npy
# --resume from another folder works, and one with other data is said (it went on silently: images have no units
# record to compare), while the same file written another way is not
(cd elsewhere && "$LPZ" train --resume "$run" --set trainer.n_iterations=4 > ../res.out 2>&1) \
  || fail "resume from another folder: $(cat res.out)"
if grep -q "resuming with other data settings" res.out; then fail "a plain resume warned of other data: $(cat res.out)"; fi
(cd elsewhere && "$LPZ" train --resume "$run" --set trainer.n_iterations=5 --set dataloader.path=../ring.npy \
  > ../res.out 2>&1) || fail "resume with the same file: $(cat res.out)"
if grep -q "resuming with other data settings" res.out; then fail "the same file, another path, warned: $(cat res.out)"; fi
cp ring.npy ring-copy.npy
"$LPZ" train --resume "$run" --set trainer.n_iterations=6 --set dataloader.path=ring-copy.npy > res.out 2>&1 \
  || fail "resume with other data: $(cat res.out)"
grep -q "warning: resuming with other data settings than the run's so far: dataloader.path $work/ring.npy -> \
ring-copy.npy" res.out || fail "no warning for a resume on other data: $(cat res.out)"
[ "$(head -n 1 gen/samples.csv)" = "sample,feature_0,feature_1" ] || fail "csv header: $(head -n 1 gen/samples.csv)"
[ "$(wc -l < gen/samples.csv)" -eq 501 ] || fail "csv rows: $(wc -l < gen/samples.csv)"
# the data's range per feature, and the generated values inside it (to float rounding)
/usr/bin/python3 - <<'EOF' || fail "generated values outside the data's range (not in its units?)"
import numpy as np
d, g = np.load("ring.npy"), np.load("gen/samples.npy")
assert g.shape == (500, 2), g.shape
lo, hi = d.min(0), d.max(0)
assert (g >= lo - 1e-3 * (hi - lo)).all() and (g <= hi + 1e-3 * (hi - lo)).all(), (g.min(0), g.max(0), lo, hi)
assert (g.max(0) - g.min(0) > 0).all()
EOF
"$LPZ" score -f "$run/config.yml" --mixture-source "$mix" --sample-size 500 > score.out 2> score.log \
  || fail "score failed: $(cat score.log)"
grep -q "^FID  *[0-9.]*$" score.out || fail "score: $(cat score.out)"
# samples of the wrong width: the shape expected said once (vectors have no other: "(N, 2) or (N, 2)")
/usr/bin/python3 -c "import numpy as np; np.save('three.npy', np.zeros((10, 3), np.float32))"
"$LPZ" score -f "$run/config.yml" --samples three.npy > three.out 2> three.log && fail "vectors of 3 were scored"
grep -q "three.npy: the array has 2 dimensions and 3 values per row; expected (N, 2): N samples of the dataset's \
shape" three.log || fail "wrong width: $(cat three.log)"

# The how-to's CSV section: its snippet writes ring.csv (with a header), which trains as the array did, and generated
# samples come back as a table with the header's names, in the data's units.
awk '/^```python$/ {on = 1; block = ""; next}
     /^```$/ && on {on = 0; if (block ~ /ring\.csv/) {printf "%s", block; exit}}
     on {block = block $0 "\n"}' "$DOC" > make_csv.py
grep -q "ring.csv" make_csv.py || fail "the how-to's CSV snippet was not found"
/usr/bin/python3 make_csv.py || fail "the how-to's CSV snippet failed"
[ "$(head -n 1 ring.csv)" = "x,y" ] || fail "ring.csv header: $(head -n 1 ring.csv)"
"$LPZ" train -f "$CFG" --grid 1 "${quick[@]}" --set dataloader.path=ring.csv --set general.output_dir="$work/outc" \
  > csv.out 2> csv.log || fail "train on the CSV failed: $(cat csv.log)"
grep -q "npy: 4000 vector samples of 2 from ring.csv (a table split at commas, with a header; scaling feature)" \
  csv.log \
  || fail "log: $(cat csv.log)"
cmix=$(sed -n 's/^best mixture: //p' csv.out)
"$LPZ" generate -f "$(dirname "$(dirname "$cmix")")/config.yml" --mixture-source "$cmix" --sample-size 300 -o genc -q \
  > /dev/null || fail "generate (CSV) failed"
[ "$(head -n 1 genc/samples.csv)" = "sample,x,y" ] || fail "the table's names: $(head -n 1 genc/samples.csv)"
/usr/bin/python3 - <<'EOF' || fail "generated values outside the table's range"
import numpy as np
d, g = np.loadtxt("ring.csv", delimiter=",", skiprows=1), np.load("genc/samples.npy")
lo, hi = d.min(0), d.max(0)
assert g.shape == (300, 2) and (g >= lo - 1e-3 * (hi - lo)).all() and (g <= hi + 1e-3 * (hi - lo)).all()
EOF
# a bad cell names the file, line and column
sed '5s|^[^,]*,|n/a,|' ring.csv > bad.csv
"$LPZ" train -f "$CFG" --grid 1 --set dataloader.path=bad.csv -q > /dev/null 2> bad.log && fail "bad.csv was taken"
grep -q "bad.csv:5: column 1 ('x'): 'n/a' is not a number" bad.log || fail "message: $(cat bad.log)"

# channels-last uint8 RGB images: refused as channels first with the hint, trained with channels_last
/usr/bin/python3 -c "
import numpy as np
np.save('img.npy', np.random.default_rng(1).integers(0, 256, (300, 8, 8, 3)).astype(np.uint8))"
img=(--set dataloader.path=img.npy --set trainer.n_iterations=1 --set dataloader.n_batches=2
     --set trainer.params.score.enabled=false --set general.output_dir="$work/outi")
"$LPZ" train -f "$CFG" --grid 1 "${img[@]}" -q > /dev/null 2> i1.log && fail "a channels-last array was taken as is"
grep -q "images of 8 channels" i1.log || fail "message: $(cat i1.log)"
grep -q "set dataloader.channels_last: true" i1.log || fail "no hint: $(cat i1.log)"
"$LPZ" train -f "$CFG" --grid 1 "${img[@]}" --set dataloader.channels_last=true > i2.out 2> i2.log \
  || fail "images failed: $(cat i2.log)"
grep -q "npy: 300 image samples of 3 x 8 x 8 from img.npy" i2.log || fail "log: $(cat i2.log)"
imix=$(sed -n 's/^best mixture: //p' i2.out)
"$LPZ" generate -f "$(dirname "$(dirname "$imix")")/config.yml" --mixture-source "$imix" --sample-size 4 -o geni -q \
  > /dev/null || fail "generate (images) failed"
[ -s geni/grid.png ] && [ -s geni/samples/sample-00003.png ] || fail "no images: $(ls -R geni)"
# a mixture of two runs' generators (8x8 images and the ring's vectors), copied out of its run: without -f the first
# generator's files give the image shape, and the other is said to differ from it (the message spoke of "the
# configured dataset", with none configured)
cp -r "$imix" mixed
cp "$mix/generator-0.safetensors" mixed/generator-ring.safetensors
echo "generator-ring.safetensors: 1" >> mixed/mixture.yml
"$LPZ" generate --mixture-source mixed -o genm -q > /dev/null 2> mixed.log && fail "a mixture of two runs was taken"
grep -q "mixed/generator-ring.safetensors: the generator makes samples of shape (2) but \
mixed/generator-[0-9]*.safetensors makes (3, 8, 8) (the generators of a mixture must come from one run" mixed.log \
  || fail "mixture of two runs: $(cat mixed.log)"
[ ! -e genm ] || fail "a refused generation made its folder"

# grey 28x28 images without labels: no classifier to train for the FID, said once with one way to do without
# (the hint said "or use score type none, or set trainer.params.score.type to none (or constant)")
/usr/bin/python3 -c "
import numpy as np
np.save('grey.npy', np.random.default_rng(1).integers(0, 256, (40, 28, 28)).astype(np.uint8))"
"$LPZ" train -f "$CFG" --grid 1 --set dataloader.path=grey.npy --set dataloader.kind=image \
  --set trainer.n_iterations=1 --set dataloader.batch_size=20 --set dataloader.n_batches=1 \
  --set general.output_dir="$work/outg" > g.out 2> g.log || fail "grey images: $(cat g.log)"
grep -q "FID on npy needs a feature classifier, and the data have no 10 labelled classes to train one on (set \
trainer.params.score.feature_model to a classifier file, or set trainer.params.score.type to none (or constant)); \
training without a score" g.log || fail "no classifier: $(cat g.log)"

# vectors of 600 values have no FID (at most 512 are scored directly): said before the training, and the final
# scoring's line says it is not available (it said "failed", as if something had gone wrong)
/usr/bin/python3 -c "
import numpy as np
np.save('wide.npy', np.random.default_rng(1).normal(size=(300, 600)).astype(np.float32))"
"$LPZ" train -f "$CFG" --grid 1 --set dataloader.path=wide.npy --set trainer.n_iterations=1 \
  --set dataloader.n_batches=2 --set master.calculate_score=true --set general.output_dir="$work/outw" \
  > w.out 2> w.log || fail "wide: $(cat w.log)"
grep -q "master.calculate_score: FID for npy samples of 600 values is not available.*the run trains, without final \
scores" w.log || fail "no warning before the training: $(cat w.log)"
grep -qx "final scoring: not available for these samples, no final scores (a warning in the log says why)" w.out \
  || fail "final scoring line: $(cat w.out)"

# a relative path in an !include'd file of another folder is not looked for there: said, with the absolute path
# that works (the message named only the path tried, beside the run file)
mkdir -p inc/sub/data
cp ring.npy inc/sub/data/
printf 'dataset_name: npy\npath: data/ring.npy\n' > inc/sub/dl.yml
printf 'dataloader: !include sub/dl.yml\n' > inc/run.yml
"$LPZ" train -f inc/run.yml -q > /dev/null 2> inc.log && fail "a path relative to the included file was taken"
grep -q "dataloader.path is written in inc/sub/dl.yml, a file !include'd from another folder: a relative path is \
looked for in the current folder, then in the run file's folder $work/inc, not in the included file's (write it \
absolute: $work/inc/sub/data/ring.npy)" inc.log || fail "included path: $(cat inc.log)"

# no path: the error says what to set
"$LPZ" train -f "$CFG" --grid 1 --set dataloader.path= -q > /dev/null 2> p.log && fail "an empty path was taken"
grep -q "the option path is required (set dataloader.path to a .npy" p.log || fail "empty path: $(cat p.log)"
# (into a file first: grep -q ends at the first match, and lpz writing on would fail the pipeline by SIGPIPE)
"$LPZ" plugins -v > "$work/plugins.txt" 2>/dev/null || fail "lpz plugins -v failed"
grep -q "channels_last" "$work/plugins.txt" || fail "lpz plugins -v does not list the options"
echo "e2e npy: the how-to's data trained, generated in its units and scored; channels-last images; errors"
