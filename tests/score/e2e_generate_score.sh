#!/usr/bin/env bash
# End-to-end: a tiny 2x2 run, then `lpz generate` (same --latent and --seed
# twice give identical files; files per sample, grid, npy; bad latents and a
# mixture of another network are refused clearly; many samples in blocks;
# Ctrl-C) and `lpz score` (text and JSON, from a mixture, a single generator
# and an .npy, streamed).
. "$LPZ_SOURCE_DIR/tests/common/e2e.sh"
TOOL="$LPZ_BUILD_DIR/tests/score_tool"
CFG="$LPZ_SOURCE_DIR/configuration/quickstart/fashion-mnist-2x2.yml"
SETS=(--set general.output_dir="$work/out" --set trainer.n_iterations=1 --set dataloader.n_batches=2
      --set dataloader.batch_size=50 --set trainer.params.score.enabled=false
      --set trainer.params.fitness.fitness_sample_size=100 --set master.calculate_score=false)

"$LPZ" train -f "$CFG" "${SETS[@]}" -q > "$work/train.out"
mix=$(ls -d "$work"/out/lipizzaner_gan/*/master/0 | head -n 1)
[ -s "$mix/mixture.yml" ] || fail "the run wrote no mixture"

# 1. Same --latent and --seed twice: identical output.
"$TOOL" latent "$work/z.npy" 12 64 5
for run in a b; do
  "$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$mix" -o "$work/$run" --latent "$work/z.npy" \
    --seed 3 -q > "$work/$run.out"
done
n=$(ls "$work/a/samples"/sample-*.png | wc -l)
[ "$n" -eq 12 ] || fail "expected 12 sample PNGs (one per latent row), got $n"
[ -s "$work/a/grid.png" ] || fail "no grid.png"
[ -s "$work/a/samples.npy" ] || fail "no samples.npy"
for f in grid.png samples.npy samples/sample-00000.png samples/sample-00011.png; do
  cmp "$work/a/$f" "$work/b/$f" || fail "two generations with the same --latent and --seed differ in $f"
done
grep -q "wrote 12 samples" "$work/a.out" || fail "summary: $(cat "$work/a.out")"

# 2. Without --latent: --sample-size samples, another seed gives other samples.
"$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$mix" -o "$work/c" --sample-size 30 --seed 1 \
  --format npy -q > /dev/null
"$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$mix" -o "$work/d" --sample-size 30 --seed 2 \
  --format npy -q > /dev/null
[ ! -e "$work/c/grid.png" ] || fail "--format npy wrote PNGs"
"$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$mix" -o "$work/one" --sample-size 1 --format npy \
  > "$work/one.out" 2>&1 || fail "one sample: $(cat "$work/one.out")"
grep -q "^wrote 1 sample of a mixture" "$work/one.out" || fail "summary of one sample: $(cat "$work/one.out")"
if cmp -s "$work/c/samples.npy" "$work/d/samples.npy"; then fail "different seeds gave the same samples"; fi

# 2b. Without -f: the mixture's run's config.yml, and for images the data is not read (a dataloader.path that names
#     nothing does not matter): the same files as with -f; a mixture folder copied out of its run takes the
#     defaults and the generators' own network (the same files with the run's seed and sampling mode).
"$LPZ" generate --mixture-source "$mix" -o "$work/nf" --sample-size 30 --seed 1 --format npy \
  --set dataloader.path="$work/nowhere" > /dev/null 2> "$work/nf.err" || fail "generate without -f: $(cat "$work/nf.err")"
grep -q "configuration: .*/config.yml (the mixture's run); images: the data is not read" "$work/nf.err" \
  || fail "generate without -f should say which configuration it took: $(cat "$work/nf.err")"
cmp -s "$work/c/samples.npy" "$work/nf/samples.npy" || fail "generate without -f differs from -f CONFIG"
# (a config.yml two folders above the copy, not a run's, is not taken for the run's: it was)
mkdir -p "$work/proj/exports"
cp -r "$mix" "$work/proj/exports/copied"
sed 's/four_layer_perceptron/convolutional/' "$CFG" > "$work/proj/config.yml"
"$LPZ" generate --mixture-source "$work/proj/exports/copied" -o "$work/nf2" --sample-size 30 --seed 1 --format npy \
  --set trainer.mixture_generator_samples_mode=exact_proportion > /dev/null 2> "$work/nf2.err" \
  || fail "generate from a copied mixture: $(cat "$work/nf2.err")"
grep -q "$work/proj/exports/copied is not a run folder's master/<cell>: the defaults (seed 1, .*network \
four_layer_perceptron" \
  "$work/nf2.err" || fail "generate from a copied mixture should say it takes the defaults: $(cat "$work/nf2.err")"
cmp -s "$work/c/samples.npy" "$work/nf2/samples.npy" || fail "generate from a copied mixture differs from -f CONFIG"
# a generator file naming a network no plugin provides: the error names the file's metadata (it blamed a
# "--set network.name" nobody gave)
cp -r "$mix" "$work/proj/exports/unknown_net"
for g in "$work"/proj/exports/unknown_net/generator-*.safetensors; do
  python3 "$LPZ_SOURCE_DIR/tests/runtime/st_edit.py" "$g" meta network nonexistent_net
done
"$LPZ" generate --mixture-source "$work/proj/exports/unknown_net" -o "$work/nf3" --sample-size 3 > /dev/null \
  2> "$work/nf3.err" && fail "a generator of an unknown network was taken"
grep -q "error: $work/proj/exports/unknown_net/generator-[0-9]*.safetensors: metadata 'network': no network plugin \
named 'nonexistent_net'" "$work/nf3.err" || fail "unknown network: $(cat "$work/nf3.err")"

# 3. Clear refusals.
"$TOOL" latent "$work/bad.npy" 12 63 5
if "$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$mix" -o "$work/e" --latent "$work/bad.npy" \
   2> "$work/e.err"; then fail "a latent of the wrong width was accepted"; fi
grep -q "latent array has shape (12, 63)" "$work/e.err" || fail "unclear latent error: $(cat "$work/e.err")"
if "$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$mix" -o "$work/e" --latent "$work/z.npy" \
   --sample-size 5 2> "$work/e.err"; then fail "--sample-size disagreeing with --latent was accepted"; fi
grep -q "12 rows but --sample-size is 5" "$work/e.err" || fail "unclear row error: $(cat "$work/e.err")"
if "$LPZ" generate -f "$CFG" "${SETS[@]}" --set network.name=convolutional --mixture-source "$mix" \
   -o "$work/e" 2> "$work/e.err"; then fail "a mixture of another network was accepted"; fi
grep -q "four_layer_perceptron" "$work/e.err" || fail "unclear network error: $(cat "$work/e.err")"
if "$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$work/nowhere" -o "$work/e" 2> "$work/e.err"; then
  fail "a missing mixture folder was accepted"
fi
grep -q "does not exist" "$work/e.err" || fail "unclear folder error: $(cat "$work/e.err")"
# Generators of another shape than the data's are refused before the data is read when the dataloader tells its
# shape first (celeba: 3 x image_size x image_size): its folder holds files no decoder takes, so reading it would
# end in "none of the 2 images could be decoded" instead.
mkdir "$work/faces"
printf 'not a JPEG' > "$work/faces/a.jpg"
printf 'nor this' > "$work/faces/b.jpg"
# refused_on_shape SHAPE DAMAGE SETS...: lpz generate and lpz score with the run's 1x28x28 generators on the data
# the --set options give are refused naming the data's SHAPE, and never with DAMAGE (what reading the data says)
refused_on_shape() {
  local shape=$1 damage=$2 cmd
  shift 2
  for cmd in generate score; do
    local out=()
    [ $cmd = score ] || out=(-o "$work/e")
    if "$LPZ" $cmd -f "$CFG" "${SETS[@]}" "$@" --mixture-source "$mix" "${out[@]}" 2> "$work/e.err"; then
      fail "lpz $cmd $*: generators of 1x28x28 samples were taken for $shape data"
    fi
    grep -qF "the generator makes samples of shape (1, 28, 28) but the configured dataset has $shape" \
      "$work/e.err" || fail "lpz $cmd $*: unclear shape error: $(cat "$work/e.err")"
    if grep -qF "$damage" "$work/e.err"; then fail "lpz $cmd $*: the data were read first: $(cat "$work/e.err")"; fi
  done
}
refused_on_shape "(3, 32, 32)" "decod" --set dataloader.dataset_name=celeba --set dataloader.path="$work/faces" \
  --set dataloader.image_size=32
[ -z "$(ls "$work/out/cache" 2> /dev/null | grep celeba)" ] || fail "a celeba cache was written"
# The same for npy (a .npy's header, a table's lines up to its first row) and network_traffic (a .npy's header):
# their files are damaged past what tells the shape (a NaN last, a table cut off in its last row), so reading them
# would end in another error.
. "$LPZ_SOURCE_DIR/tests/common/npy.sh"
npy_f4_damaged "$work/vectors.npy" "(4, 6)" 24
npy_f4_damaged "$work/flows.npy" "(3, 30, 4)" 360
printf 'a,b,c\n1,2,3\n4,5,6\n7,8\n' > "$work/cut.csv"
refused_on_shape "(6)" "is not a number" --set dataloader.dataset_name=npy --set dataloader.path="$work/vectors.npy"
refused_on_shape "(3)" "2 fields" --set dataloader.dataset_name=npy --set dataloader.path="$work/cut.csv"
refused_on_shape "(30, 4)" "is not finite" --set dataloader.dataset_name=network_traffic \
  --set dataloader.path="$work/flows.npy"

# 4. lpz score with a given classifier (a fresh one: training one takes minutes).
"$TOOL" classifier "$work/clf.safetensors" 1
FM=(--set trainer.params.score.feature_model="$work/clf.safetensors")
SC=("${FM[@]}" --sample-size 200)
"$LPZ" score -f "$CFG" "${SETS[@]}" "${SC[@]}" --mixture-source "$mix" -q > "$work/s.txt"
for k in "FID" "inception score" "TVD"; do grep -q "^$k  *[0-9]" "$work/s.txt" || fail "no $k in: $(cat "$work/s.txt")"; done
"$LPZ" score -f "$CFG" "${SETS[@]}" "${SC[@]}" --generator "$mix/generator-0.safetensors" --json -q > "$work/s.json"
grep -q '"fid": [0-9]' "$work/s.json" || fail "no fid in JSON: $(cat "$work/s.json")"
grep -q '"tvd": [0-9]' "$work/s.json" || fail "no tvd in JSON: $(cat "$work/s.json")"
# Without -f, as lpz generate: the configuration of the mixture's (the generator file's) run, said in an info line;
# the same scores (it was a usage error, "needs -f CONFIG").
"$LPZ" score "${SC[@]}" --mixture-source "$mix" > "$work/s-nof.txt" 2> "$work/s-nof.err" \
  || fail "score without -f: $(cat "$work/s-nof.err")"
grep -q "configuration: .*/config.yml (the mixture's run)" "$work/s-nof.err" \
  || fail "score without -f should say which configuration it took: $(cat "$work/s-nof.err")"
cmp -s "$work/s.txt" "$work/s-nof.txt" || fail "score without -f differs: $(cat "$work/s.txt" "$work/s-nof.txt")"
"$LPZ" score "${SC[@]}" --generator "$mix/generator-0.safetensors" --json -q > "$work/s-nof.json" \
  || fail "score --generator without -f"
cmp -s "$work/s.json" "$work/s-nof.json" || fail "score --generator without -f differs"
# --samples: all rows by default, --sample-size N the first N (2 at least, at
# most the rows: 200 of 30 rows used to score 30 without a word).
"$LPZ" score -f "$CFG" "${SETS[@]}" "${FM[@]}" --samples "$work/c/samples.npy" --json -q > "$work/n.json"
grep -q '"samples": 30' "$work/n.json" || fail "scored the wrong number of samples: $(cat "$work/n.json")"
"$LPZ" score -f "$CFG" "${SETS[@]}" "${FM[@]}" --samples "$work/c/samples.npy" --sample-size 20 --json -q \
  > "$work/n20.json"
grep -q '"samples": 20' "$work/n20.json" || fail "--sample-size 20 of 30 rows: $(cat "$work/n20.json")"
set +e
"$LPZ" score -f "$CFG" "${SETS[@]}" 2> /dev/null; st=$?
set -e
[ $st -eq 2 ] || fail "lpz score without a source should be a usage error (2), got $st"

# 5. Bad numbers are refused, naming what and where: a generator file with a
#    NaN weight, a latent with NaN, arrays of no rows or outside [-1, 1] for
#    lpz score (generate used to write NaN samples; an empty array divided by
#    zero; values in [0, 100] gave a plausible-looking FID).
npy() { # FILE SHAPE VALUE [AT]: a float32 .npy of SHAPE (a Python tuple) filled with VALUE, or with 0 and VALUE at
         # the flat index AT
  python3 - "$@" <<'PY'
import struct, sys
path, shape, value = sys.argv[1], eval(sys.argv[2]), float(sys.argv[3])
n = 1
for d in shape:
    n *= d
vals = [value] * n
if len(sys.argv) > 4:
    vals = [0.0] * n
    vals[int(sys.argv[4])] = value
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (shape,)
hdr += " " * (63 - (len(hdr) + 10) % 64) + "\n"
data = struct.pack("<%df" % n, *vals)
open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + data)
PY
}
refused() { # WHAT MESSAGE COMMAND...: COMMAND exits 1 and says MESSAGE
  local what=$1 msg=$2
  shift 2
  set +e
  "$@" > "$work/r.out" 2>&1
  st=$?
  set -e
  [ $st -eq 1 ] || fail "$what: exit status $st, expected 1: $(cat "$work/r.out")"
  grep -q -- "$msg" "$work/r.out" || fail "$what: expected '$msg' in: $(cat "$work/r.out")"
}
cp -r "$mix" "$work/nanmix"
python3 "$LPZ_SOURCE_DIR/tests/runtime/st_edit.py" "$work/nanmix/generator-0.safetensors" float 0.weight 3 nan
refused "NaN generator" "holds nan at element 3" \
  "$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$work/nanmix" -o "$work/nan-out"
[ ! -e "$work/nan-out" ] || fail "a failed generation left $work/nan-out behind: $(ls -R "$work/nan-out")"
# (an element's index is not its value: "value 5 is nan" read as one)
npy "$work/znan.npy" "(4, 64)" nan 197
refused "NaN latent" "latent row 3, element 5 is nan" \
  "$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$mix" -o "$work/nan-out" --latent "$work/znan.npy"
npy "$work/empty.npy" "(0, 784)" 0
refused "empty --samples" "holds no samples" "$LPZ" score -f "$CFG" "${SETS[@]}" "${SC[@]}" --samples "$work/empty.npy"
npy "$work/hwc.npy" "(30, 28, 28, 1)" 0
refused "channels-last --samples" "looks channels-last (N, H, W, C): move the channels first" \
  "$LPZ" score -f "$CFG" "${SETS[@]}" "${FM[@]}" --samples "$work/hwc.npy"
npy "$work/range.npy" "(30, 1, 28, 28)" 3 1000
refused "--samples outside [-1, 1]" "sample 1, element 216 is 3, outside \\[-1, 1\\]" \
  "$LPZ" score -f "$CFG" "${SETS[@]}" "${FM[@]}" --samples "$work/range.npy"
refused "--sample-size above the rows" "samples.npy: --sample-size 200 is more than the 30 samples the array holds" \
  "$LPZ" score -f "$CFG" "${SETS[@]}" "${SC[@]}" --samples "$work/c/samples.npy"
# a zero dimension makes any other legal: their product must not overflow (UBSan saw it)
npy "$work/zerodim.npy" "(2, 1099511627776, 1099511627776, 0)" 0
refused "a zero dimension" "the array has 4 dimensions and 0 values per row" \
  "$LPZ" score -f "$CFG" "${SETS[@]}" "${FM[@]}" --samples "$work/zerodim.npy"
# units.json there but not a file (a FIFO): refused, not taken for a run of an earlier lpz (nor waited on)
cp -r "$mix" "$work/fifomix"
rm -f "$work/fifomix/units.json"
mkfifo "$work/fifomix/units.json"
refused "a FIFO as units.json" "units.json: not a regular file (a FIFO)" \
  timeout 60 "$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$work/fifomix" -o "$work/fifo-out"
# a feature classifier whose weights overflow: its file named, not a bare "feature 0 is not finite"
"$TOOL" classifier "$work/big.safetensors" 1 fill=3e38
refused "an overflowing feature model" "big.safetensors: the feature classifier gave a non-finite feature" \
  "$LPZ" score -f "$CFG" "${SETS[@]}" --set trainer.params.score.feature_model="$work/big.safetensors" \
  --samples "$work/c/samples.npy"
npy "$work/one.npy" "(1, 784)" 0
refused "one sample" "one.npy: the array holds 1 sample; scores need at least 2" \
  "$LPZ" score -f "$CFG" "${SETS[@]}" "${FM[@]}" --samples "$work/one.npy"
# lpz classifier checks where its file goes before it trains (it failed after minutes of training).
refused "classifier -o a folder" "is not a file path" "$LPZ" classifier -f "$CFG" "${SETS[@]}" -o "$work"
refused "classifier -o in no folder" "cannot create file" "$LPZ" classifier -f "$CFG" "${SETS[@]}" -o "$work/no/x"
# ... and replaces only an earlier model file: not a user's file (it was replaced with exit 0), nor a FIFO or a
# device (the temporary file renamed over them made them regular files)
echo "my notes" > "$work/notes.txt"
refused "classifier -o a text file" "exists and is not a safetensors model file: not replaced" \
  "$LPZ" classifier -f "$CFG" "${SETS[@]}" -o "$work/notes.txt"
[ "$(cat "$work/notes.txt")" = "my notes" ] || fail "classifier -o changed a text file"
mkfifo "$work/fifo"
refused "classifier -o a FIFO" "is a FIFO: lpz writes the classifier to a new regular file" \
  timeout 20 "$LPZ" classifier -f "$CFG" "${SETS[@]}" -o "$work/fifo"
[ -p "$work/fifo" ] || fail "classifier -o replaced a FIFO"
# Inputs that are not regular files are refused at once: a FIFO blocked open() for good, /dev/zero as a model
# was read to gigabytes of memory.
refused "--generator /dev/zero" "/dev/zero: not a regular file (a character device)" \
  timeout 20 "$LPZ" score -f "$CFG" "${SETS[@]}" "${FM[@]}" --generator /dev/zero
refused "--samples a FIFO" "not a regular file (a FIFO)" \
  timeout 20 "$LPZ" score -f "$CFG" "${SETS[@]}" "${FM[@]}" --samples "$work/fifo"
refused "--latent a FIFO" "not a regular file (a FIFO)" \
  timeout 20 "$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$mix" -o "$work/fifo-out" --latent "$work/fifo"
refused "run file a FIFO" "not a regular file (a FIFO)" timeout 20 "$LPZ" config -f "$work/fifo"
# A folder holding an earlier generation is refused (its 12 PNGs would stay beside 6 new ones).
refused "earlier generation in -o" "already holds the output of an earlier 'lpz generate'" \
  "$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$mix" -o "$work/a" --sample-size 6
cmp "$work/a/samples.npy" "$work/b/samples.npy" || fail "a refused generation changed the folder"
# -o in the run's own folders is refused, nothing written: the mixture folder and the run's checkpoints/ were taken
# (samples beside the generator files), a run folder was refused for "an earlier 'lpz generate' (samples)": the
# training's samples/
run=$(cd "$mix/../.." && pwd -P)
refused "-o the mixture folder" "$mix: -o is the mixture folder (--mixture-source)" \
  "$LPZ" generate --mixture-source "$mix" -o "$mix" --sample-size 3
refused "-o another cell's mixture folder" "-o is inside $run/master/, where the run keeps what its training wrote \
(choose a new folder, e.g. $run/generated)" "$LPZ" generate --mixture-source "$mix" -o "$mix/../1" --sample-size 3
refused "-o the run's checkpoints" "-o is inside $run/checkpoints/" \
  "$LPZ" generate --mixture-source "$mix" -o "$run/checkpoints/new" --sample-size 3
refused "-o the run folder" "-o is a run folder (it has the run's config.yml and metrics.csv): its samples/ holds \
the training's images" "$LPZ" generate --mixture-source "$mix" -o "$run/" --sample-size 3
[ ! -e "$mix/samples.npy" ] && [ ! -e "$mix/../1/grid.png" ] && [ ! -e "$run/checkpoints/new" ] \
  && [ ! -e "$run/samples.npy" ] || fail "a refused -o was written to"
"$LPZ" generate --mixture-source "$mix" -o "$run/generated" --sample-size 3 -q > /dev/null \
  || fail "a new folder in the run folder should be taken"
rm -r "$run/generated"
# Weights near DBL_MAX are still weights (their sum overflowed: "all mixture weights are 0").
cp -r "$mix" "$work/bigmix"
sed -i 's/: .*$/: 1e308/' "$work/bigmix/mixture.yml"
"$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$work/bigmix" -o "$work/big-out" --sample-size 6 -q \
  > "$work/big.out" 2>&1 || fail "weights of 1e308: $(cat "$work/big.out")"

# 6. Many samples are generated, written and scored a block at a time (64 MB: 21399 Fashion-MNIST samples):
#    sample PNGs on both sides of the block boundary are the rows of samples.npy, and the FID of the file is the
#    FID lpz score computes from the mixture with the same seed. A Ctrl-C stops a generation and removes what it
#    wrote.
"$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$mix" -o "$work/many" --sample-size 22000 --seed 4 -q \
  > "$work/many.out" || fail "22000 samples: $(cat "$work/many.out")"
[ "$(ls "$work/many/samples" | wc -l)" -eq 22000 ] || fail "expected 22000 sample PNGs"
python3 - "$work/many" "$LPZ_SOURCE_DIR/tests/runtime" <<'PY' || fail "the PNGs and samples.npy disagree"
import struct, sys
d = sys.argv[1]
raw = open(d + "/samples.npy", "rb").read()
hl = struct.unpack("<H", raw[8:10])[0]
hdr = raw[10:10 + hl].decode()
assert "'shape': (22000, 1, 28, 28)" in hdr, hdr
data = raw[10 + hl:]
assert len(data) == 22000 * 784 * 4
sys.path.insert(0, sys.argv[2])
from gan_sanity import read_png_grey
def png_pixels(path):
    return [v for row in read_png_grey(path) for v in row]
for i in (0, 21398, 21399, 21999):
    vals = struct.unpack("<784f", data[i * 3136:(i + 1) * 3136])
    want = [max(0, min(255, int((v + 1) * 127.5 + 0.5))) for v in vals]
    got = png_pixels("%s/samples/sample-%05d.png" % (d, i))
    assert len(got) == 784, len(got)
    bad = sum(abs(g - w) > 1 for g, w in zip(got, want))  # lrintf rounds halves to even
    assert bad == 0, "sample %d: %d pixels differ" % (i, bad)
PY
"$LPZ" score -f "$CFG" "${SETS[@]}" "${FM[@]}" --samples "$work/many/samples.npy" --json -q > "$work/many-file.json"
"$LPZ" score -f "$CFG" "${SETS[@]}" "${FM[@]}" --mixture-source "$mix" --sample-size 22000 --seed 4 --json -q \
  > "$work/many-mix.json"
f1=$(grep '"fid"' "$work/many-file.json"); f2=$(grep '"fid"' "$work/many-mix.json")
[ -n "$f1" ] && [ "$f1" = "$f2" ] || fail "FID of the generated file ($f1) and of the mixture ($f2) differ"
# A generation that takes more than a second shows its progress on a terminal, also within a block: it was printed
# per 64 MB block (21399 samples here), so 20000 samples ran 9 s without a line.
if command -v script > /dev/null; then
  cmd=$(printf '%q ' "$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$mix" -o "$work/tty" --sample-size 8000)
  t0=$(date +%s%N)
  script -qec "$cmd" /dev/null > "$work/tty.out" || fail "generate on a terminal: $(cat "$work/tty.out")"
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if [ "$ms" -ge 2000 ]; then
    grep -aq "generating: [0-9]* of 8000 samples, [0-9.]* per second, about [0-9]* s left" "$work/tty.out" \
      || fail "no progress line in $ms ms: $(tr '\r' '\n' < "$work/tty.out")"
  else
    echo "note: 8000 samples took $ms ms, too fast to check the progress line"
  fi
fi
interrupted() { # NAME N: a generation of N samples into $work/NAME gets a Ctrl-C once 100 PNGs are written
  "$LPZ" generate -f "$CFG" "${SETS[@]}" --mixture-source "$mix" -o "$work/$1" --sample-size "$2" \
    > "$work/$1.out" 2> "$work/$1.err" &
  local pid=$!
  for _ in $(seq 600); do [ -e "$work/$1/samples/sample-00100.png" ] && break; sleep 0.1; done
  kill -INT $pid
  set +e
  wait $pid; st=$?
  set -e
  [ $st -eq 130 ] || fail "$2 samples: an interrupted generation should exit 130, got $st: $(cat "$work/$1.err")"
  grep -Eq "interrupted (after [0-9]* of|while writing the) $2 samples; nothing was written" "$work/$1.err" \
    || fail "$2 samples: unclear interruption message: $(cat "$work/$1.err")"
  [ ! -e "$work/$1" ] || fail "$2 samples: an interrupted generation left files: $(ls "$work/$1" | head)"
}
interrupted cut 400000 # in its first of 19 blocks
interrupted cut1 20000 # in its only (last) block: it used to finish, keep every file and exit 0

# 7. master.calculate_score: every cell's final mixture scored with master.score_sample_size samples; the best
#    cell is the lowest of those FIDs (the key was accepted and did nothing).
"$LPZ" train -f "$CFG" "${SETS[@]}" --set general.output_dir="$work/fin" --set master.calculate_score=true \
  --set master.score_sample_size=150 --set trainer.params.score.feature_model="$work/clf.safetensors" \
  > "$work/fin.out" 2> "$work/fin.log" || fail "final scores: $(cat "$work/fin.log")"
[ "$(grep -c "final mixture FID [0-9.]* (150 samples)" "$work/fin.log")" -eq 4 ] \
  || fail "expected a final FID per cell: $(cat "$work/fin.log")"
best=$(sed -n 's/.*cell \([0-9]\): final mixture FID \([0-9.]*\) .*/\2 \1/p' "$work/fin.log" | sort -g | head -n 1)
grep -q "^best cell: ${best#* } (final FID ${best% *} over 150 samples)$" "$work/fin.out" \
  || fail "best cell should be the lowest final FID ($best): $(cat "$work/fin.out")"
echo "e2e generate/score: all checks passed"
