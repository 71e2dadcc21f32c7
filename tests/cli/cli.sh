#!/usr/bin/env bash
# tests/cli/cli.sh - what the lpz command line says and refuses, through
# the real binary: usage errors point at the command's own help; --port
# and --bind only with --client; lpz config checks plugin options as lpz
# train does; a run that fails before training leaves no folder behind and
# does not speak of partial results; no empty cache folders; a plugin that
# crashes is named.
set -euo pipefail
LPZ="$LPZ_BUILD_DIR/bin/lpz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" # the run files' default output_dir ./output lands here, if anywhere
fail() { echo "FAIL: $*"; exit 1; }
. "$LPZ_SOURCE_DIR/tests/common/expect.sh" # expect STATUS TEXT ARGS...

# 1. A usage error names the help of the command it was given to.
for c in train generate score plugins config classifier report; do
  expect 2 "unknown option '--bogus' (see 'lpz $c --help')" $c --bogus
  expect 2 "unknown option '-Z' (see 'lpz $c --help')" $c -Z
  expect 2 "option '--set' needs a value (see 'lpz $c --help')" $c --set
done
expect 2 "unknown option '--bogus' (see 'lpz --help')" --bogus
expect 2 "unknown command 'trian' (did you mean 'train'?) (see 'lpz --help')" trian
expect 2 "unknown option '--grdi' (did you mean '--grid'?) (see 'lpz train --help')" train --grdi 3
# numbers are digits alone: ' 2' and '+2' passed where '2 ' was refused; --version takes nothing after it
for g in ' 2' '+2' '2 '; do expect 2 "--grid $g: expected a whole number from 1 to 64" train -f x.yml --grid "$g"; done
expect 2 "--seed +5: expected a whole number" generate --mixture-source x -o y --seed +5
expect 2 "--port +5000: expected a port from 1 to" train --distributed --client --port +5000
expect 2 "--version takes nothing after it, got 'x'" --version x
expect 2 "unknown option '--plugin-dri=x' (did you mean '--plugin-dir'?)" train --plugin-dri=x
expect 2 "--set 'dataloader.path' is not key=value" train -f x.yml --set dataloader.path
expect 2 "option '-o' has an empty value" generate -f x.yml --mixture-source m -o ''
expect 2 "option '--seed' has an empty value" generate -f x.yml --seed=
# --seed takes general.seed's range (it took up to 2^64 - 1)
expect 2 "--seed 9007199254740992: expected a whole number from 0 to 9007199254740991 (as general.seed)" \
  generate -f x.yml --mixture-source m -o o --seed 9007199254740992
expect 2 "--seed -1: expected a whole number from 0" score -f x.yml --mixture-source m --seed -1
expect 2 "option '--plugin-dir' has an empty value" plugins --plugin-dir ''

# 2. --port and --bind are a client's: a local run and a master refuse them
#    (they would be ignored), before reading anything.
for mode in "" "--distributed --master"; do
  # shellcheck disable=SC2086
  expect 2 "--port is for a client: lpz train --distributed --client --port PORT" \
    train $mode --port 5098 -f "$work/no.yml"
  # shellcheck disable=SC2086
  expect 2 "--bind is for a client: lpz train --distributed --client --bind ADDR" \
    train $mode --bind 0.0.0.0 -f "$work/no.yml"
done

# 2b. Options a master or a client would ignore are refused (both took them silently): a client trains what its
#     master sends, and a distributed run's cells are not moved in step.
expect 2 "--deterministic is not available with --master" train --distributed --master --deterministic -f "$work/no.yml"
expect 2 "--grid is not available with --client (a client trains the cell and configuration its master sends: give \
the master --set general.grid_size=K)" train --distributed --client --port 5098 --grid 2
expect 2 "--deterministic is not available with --client" train --distributed --client --port 5098 --deterministic
expect 2 "--resume is not available with --client" train --distributed --client --port 5098 --resume "$work"
# a --resume of a folder that does not exist says so (it said "not a run folder (it has no config.yml)")
expect 1 "--resume $work/no-such-run: no such folder" train --resume "$work/no-such-run"
expect 1 "--resume $work: not a run folder (it has no config.yml)" train --resume "$work"

# 3. lpz config checks the plugins' options as lpz train does: the same
#    message and exit status, nothing printed on stdout; plugins are looked
#    up on the --plugin-dir / usual search path.
cat > "$work/bs.yml" <<'YML'
dataloader:
  dataset_name: fashion_mnist
  batchsize: 100
network:
  name: four_layer_perceptron
YML
sed '/batchsize/d' "$work/bs.yml" > "$work/ok.yml"
for c in config train; do
  expect 1 "bs.yml:3:14: dataloader.batchsize: unknown option 'batchsize' for plugin 'fashion_mnist' (did you mean \
the core key 'dataloader.batch_size'?)" $c -f "$work/bs.yml"
  [ ! -s "$work/out" ] || fail "lpz $c printed a configuration it refused: $(head -3 "$work/out")"
  expect 1 "--set dataloader.pathh: unknown option 'pathh' for plugin 'fashion_mnist' (did you mean 'path'?)" \
    $c -f "$work/ok.yml" --set dataloader.pathh=/x
  expect 1 "--set network.hidden: option 'hidden' of plugin 'four_layer_perceptron' expects an integer, got 'abc'" \
    $c -f "$work/ok.yml" --set network.hidden=abc
  expect 1 "--set network.name: no network plugin named 'nope' (searched " $c -f "$work/ok.yml" --set network.name=nope
  # a plugin of the other kind: said so ("no dataloader plugin named 'mlp'" listed the dataloaders only)
  expect 1 "--set dataloader.dataset_name: 'mlp' is a network plugin, not a dataloader plugin (dataloader plugins" \
    $c -f "$work/ok.yml" --set dataloader.dataset_name=mlp
done
[ ! -e "$work/output" ] || fail "a refused configuration created $work/output"
expect 0 "" config -f "$work/ok.yml" --set dataloader.path=/data
grep -qF 'path: "/data"  # plugin option, --set' "$work/out" || fail "lpz config: $(cat "$work/out")"
FX="$LPZ_BUILD_DIR/tests/plugin-fixtures"
expect 1 "--set dataloader.dataset_name: no dataloader plugin named 'fixture_valid'" \
  config -f "$work/ok.yml" --set dataloader.dataset_name=fixture_valid
expect 1 "--set dataloader.scale: option 'scale' of plugin 'fixture_valid' expects a number, got 'big'" \
  config -f "$work/ok.yml" --plugin-dir "$FX" --set dataloader.dataset_name=fixture_valid --set dataloader.scale=big
expect 0 "" config -f "$work/ok.yml" --plugin-dir "$FX" --set dataloader.dataset_name=fixture_valid \
  --set dataloader.scale=2
# A plugin that crashes: lpz names the signal and the plugin's file as the likely culprit, with a backtrace, then
# dies of the signal as before (it died without a word). Under the sanitizers their own report comes instead.
set +e
"$LPZ" train -f "$work/ok.yml" --plugin-dir "$LPZ_BUILD_DIR/tests/plugin-fixtures-crash" \
  --set dataloader.dataset_name=fixture_crash --set general.output_dir="$work/crash" > "$work/out" 2> "$work/err"
status=$?
set -e
if grep -qE "ERROR: AddressSanitizer|runtime error: store to null pointer" "$work/err"; then
  [ "$status" -ne 0 ] || fail "a crashing plugin under the sanitizers: exit 0"
else
  [ "$status" -ge 128 ] || fail "a crashing plugin: exit $status: $(cat "$work/err")"
  [ "$status" -eq 139 ] || fail "a crashing plugin should end as SIGSEGV (139), not $status: $(cat "$work/err")"
  grep -q "^lpz: fatal: segmentation fault (SIGSEGV) at address (nil) at offset 0x[0-9a-f]* of .*/tests/\
plugin-fixtures-crash/fixture_crash.so$" "$work/err" || fail "no headline naming the plugin: $(cat "$work/err")"
  grep -q "^lpz: most likely a bug in .*fixture_crash.so (a plugin" "$work/err" || fail "culprit: $(cat "$work/err")"
  grep -q "^lpz: backtrace:" "$work/err" && grep -q "lpz_main" "$work/err" || fail "backtrace: $(cat "$work/err")"
fi
# A plugin whose read overflows its stack in a thread lpz started (a batcher's or a cell's): the same report, on
# that thread's alternate stack (a stack overflow outside the main thread killed lpz without a word).
set +e
"$LPZ" train -f "$work/ok.yml" --plugin-dir "$LPZ_BUILD_DIR/tests/plugin-fixtures-overflow" \
  --set dataloader.dataset_name=fixture_overflow --set trainer.params.score.enabled=false \
  --set general.output_dir="$work/overflow" > "$work/out" 2> "$work/err"
status=$?
set -e
if grep -qE "ERROR: AddressSanitizer" "$work/err"; then
  grep -q "stack-overflow" "$work/err" || fail "a stack overflow under the sanitizers: $(head -c 2000 "$work/err")"
else
  [ "$status" -eq 139 ] || fail "a stack overflow in a thread should end as SIGSEGV (139), not $status: \
$(head -c 2000 "$work/err")"
  grep -q "^lpz: fatal: segmentation fault (SIGSEGV) at address 0x[0-9a-f]* .*of .*/tests/\
plugin-fixtures-overflow/fixture_overflow.so$" "$work/err" || fail "overflow headline: $(head -c 2000 "$work/err")"
  grep -q "^lpz: backtrace:" "$work/err" || fail "overflow backtrace: $(head -c 2000 "$work/err")"
fi
# A plugin whose options table cannot work: `lpz plugins` lists it as not
# usable (it said nothing; only a run refused it), and the run's refusal
# names its file.
expect 0 "" plugins --plugin-dir "$FX"
grep -qF "fixture_bad_option.so  [not usable: declares an option that cannot work: option radius: default" \
  "$work/out" || fail "lpz plugins: $(cat "$work/out")"
awk '/^not usable:/ {u = 1} u && /fixture_bad_option.so/ {f = 1} END {exit !f}' "$work/out" \
  || fail "lpz plugins does not list fixture_bad_option under 'not usable': $(cat "$work/out")"
expect 1 "plugin fixture_bad_option declares an option that cannot work: option radius: default" \
  config -f "$work/ok.yml" --plugin-dir "$FX" --set dataloader.dataset_name=fixture_bad_option
grep -qF "fixture_bad_option.so" "$work/err" || fail "the refusal does not name the file: $(cat "$work/err")"

# 4. lpz score --sample-size: FID needs 2 samples at least; said naming the
#    option, as a usage error, before anything is read.
expect 2 "--sample-size 1: scores need at least 2 samples" score -f "$work/ok.yml" --samples "$work/no.npy" \
  --sample-size 1
# (0 said "expected a whole number from 1 to 10000000", and then 1 was refused)
expect 2 "--sample-size 0: scores need at least 2 samples" score -f "$work/ok.yml" --samples "$work/no.npy" \
  --sample-size 0
expect 2 "--sample-size x2: expected a whole number from 2 to 10000000" score -f "$work/ok.yml" \
  --samples "$work/no.npy" --sample-size x2
expect 2 "--sample-size -3: expected a whole number from 2 to 10000000" score -f "$work/ok.yml" \
  --samples "$work/no.npy" --sample-size -3
# --seed draws the latents and generators: samples read from a file have none (it was taken and did nothing)
expect 2 "option '--seed' does not apply to 'lpz score --samples': the samples are read, not drawn" \
  score -f "$work/ok.yml" --samples "$work/no.npy" --seed 3
# without -f: the configuration of the mixture's run (tests/score/e2e_generate_score.sh), else a usage error saying
# what is missing
expect 2 "'lpz score --samples' needs -f CONFIG, the configuration of the data to compare with" \
  score --samples "$work/no.npy"
expect 2 "'lpz score' needs -f CONFIG: $work/m is not in a run folder's master/<cell>" score --mixture-source "$work/m"
expect 2 "'lpz score' needs exactly one of --mixture-source DIR, --generator FILE, --samples FILE.npy" \
  score -f "$work/ok.yml" --samples "$work/no.npy" --generator "$work/g.safetensors"
# the exit statuses in the help are those of docs/cli.md (130 was missing)
expect 0 "" --help
grep -qF "Exit status: 0 success, 1 failure, 2 usage error, 130 interrupted (Ctrl-C)" "$work/out" \
  || fail "lpz --help: exit statuses: $(cat "$work/out")"

# 5. The AMX hint ("this CPU has AMX: general.matmul_precision: high ...") is
#    not printed in front of an error about the configuration, its plugins,
#    data or clients (on a CPU without AMX there is no hint to print).
mkdir -p "$work/none" # a folder without the dataset
for args in "--set network.hidden=abc" "--set dataloader.path=$work/none" "--set network.hidden=0" \
            "--distributed --master"; do
  # shellcheck disable=SC2086
  expect 1 "lpz: error: " train -f "$work/ok.yml" $args
  if grep -q "this CPU has AMX" "$work/err"; then fail "lpz train $args: the AMX hint, then: $(cat "$work/err")"; fi
done

# 6. A new run that fails before training (here: no dataset in
#    dataloader.path) removes its folder, which held only its config.yml, and
#    the folders made for it; it does not say "partial results". Folders
#    that existed, or hold anything else, stay.
expect 1 "no train-images-idx3-ubyte(.gz) in '$work/none'" train -f "$work/ok.yml" \
  --set dataloader.path="$work/none" --set general.output_dir="$work/o1/deep"
if grep -q "partial results" "$work/err"; then fail "a run that wrote nothing: $(cat "$work/err")"; fi
# a folder that does not exist is said to be missing (not "no train-images-idx3-ubyte(.gz) in" it)
expect 1 "dataloader.path: folder '$work/missing' does not exist" train -f "$work/ok.yml" \
  --set dataloader.path="$work/missing" --set general.output_dir="$work/o1/deep"
# a file (another dataloader's .npy) given to mnist: the hint names the dataloaders that take one
printf 'x' > "$work/flows.npy"
expect 1 "'$work/flows.npy' is a file: fashion_mnist takes a folder" train -f "$work/ok.yml" \
  --set dataloader.path="$work/flows.npy" --set general.output_dir="$work/o1/deep"
grep -q "set dataloader.dataset_name to npy" "$work/err" || fail "no hint for a file path: $(cat "$work/err")"
[ ! -e "$work/o1" ] || fail "a run that failed before training left $(find "$work/o1")"
mkdir -p "$work/o2/lipizzaner_gan" "$work/o3"
touch "$work/o3/mine"
for o in o2 o3; do
  expect 1 "no train-images-idx3-ubyte(.gz)" train -f "$work/ok.yml" --set dataloader.path="$work/none" \
    --set general.output_dir="$work/$o"
done
[ -d "$work/o2/lipizzaner_gan" ] && [ -z "$(ls -A "$work/o2/lipizzaner_gan")" ] || fail "o2: $(find "$work/o2")"
[ "$(ls -A "$work/o3")" = mine ] || fail "o3: $(find "$work/o3")"
# A path that climbs back out (new/../old) is not undone (it removed the empty old folder and kept new).
mkdir -p "$work/o5/old"
expect 1 "no train-images-idx3-ubyte(.gz)" train -f "$work/ok.yml" --set dataloader.path="$work/none" \
  --set general.output_dir="$work/o5/new/../old"
[ -d "$work/o5/old" ] || fail "the folder that existed before was removed: $(find "$work/o5")"
# A result folder that cannot be made says why and names no folder of "partial results" (it named one that did
# not exist, after trying 1000 names): a read-only bind mount, where this test may make one (root).
if [ "$(id -u)" -eq 0 ] && command -v unshare > /dev/null && unshare -m true 2> /dev/null; then
  mkdir -p "$work/ro/lipizzaner_gan"
  set +e
  unshare -m sh -c "mount --bind '$work/ro' '$work/ro' && mount -o remount,bind,ro '$work/ro' &&
    '$LPZ' train -f '$work/ok.yml' --set general.output_dir='$work/ro'" > /dev/null 2> "$work/err"
  st=$?
  set -e
  [ $st -eq 1 ] || fail "read-only output_dir: exit $st: $(cat "$work/err")"
  grep -q "cannot create a result folder under .*: Read-only file system" "$work/err" \
    || fail "read-only output_dir: $(cat "$work/err")"
  if grep -q "partial results" "$work/err"; then fail "read-only output_dir: $(cat "$work/err")"; fi
fi

# 6b. What needs only the sample shape is refused before the data is read when the dataloader tells the shape
#     first (describe): celeba's 3 x image_size x image_size, from its options. The folder holds nothing but files
#     named like images that no decoder takes, so reading it would end in "none of the 3 images could be decoded"
#     (and write a cache): the DCGAN's refusal of 48x48, the scores' need of the InceptionV3 weights for 64x64
#     colour images and lpz classifier's of MNIST-format data come first, with nothing written; a missing folder
#     is still said first, and a size everything takes reads the folder.
mkdir -p "$work/faces"
for i in 1 2 3; do printf 'not a JPEG %d\n' "$i" > "$work/faces/00000$i.jpg"; done
cat > "$work/celeba.yml" <<YML
dataloader:
  dataset_name: celeba
  path: $work/faces
  image_size: 48
network:
  name: convolutional
general:
  output_dir: $work/celeba-out
YML
unread() { # TEXT ARGS...: as expect 1, and nothing was decoded or written
  expect 1 "$@"
  if grep -q "decod" "$work/err"; then fail "lpz ${*:2}: images decoded to be refused: $(cat "$work/err")"; fi
  [ ! -e "$work/celeba-out" ] || fail "lpz ${*:2}: refused before the data, left $(find "$work/celeba-out")"
}
unread "convolutional: samples of shape 3x48x48 (channels x height x width) are not supported" \
  train -f "$work/celeba.yml"
unread "trainer.params.score: FID on celeba images (3x64x64) needs the InceptionV3 weights" \
  train -f "$work/celeba.yml" --set dataloader.image_size=64
unread "master.calculate_score: FID on celeba images (3x64x64) needs the InceptionV3 weights" \
  train -f "$work/celeba.yml" --set dataloader.image_size=64 --set trainer.params.score.type=none \
  --set master.calculate_score=true
unread "the training data of celeba are not 1x28x28 images" classifier -f "$work/celeba.yml"
# vectors given to the DCGAN: the hint is not about resizing images
printf 'a,b,c\n1,2,3\n4,5,6\n' > "$work/t.csv"
expect 1 "(for vectors use four_layer_perceptron (mlp), which takes any shape; a table's rows that are images: \
dataloader.sample_shape (npy))" config -f "$LPZ_SOURCE_DIR/configuration/own-data/ring.yml" \
  --set dataloader.path="$work/t.csv" --set network.name=convolutional
# lpz config makes the same checks, without reading the data; data not on this machine are said, not refused
for c in "" "--set dataloader.image_size=64"; do
  # shellcheck disable=SC2086
  unread "$([ -z "$c" ] && echo "convolutional: samples of shape 3x48x48 (channels x height x width) are not \
supported" || echo "trainer.params.score: FID on celeba images (3x64x64) needs the InceptionV3 weights")" \
    config -f "$work/celeba.yml" $c
  [ ! -s "$work/out" ] || fail "lpz config printed a configuration it refused: $(head -3 "$work/out")"
done
expect 0 "info: the data: samples of shape 3x32x32 (dataloader celeba, without reading them), which network \
convolutional takes" config -f "$work/celeba.yml" --set dataloader.image_size=32 --set trainer.params.score.type=none
if grep -q "decod" "$work/err"; then fail "lpz config decoded images: $(cat "$work/err")"; fi
[ ! -e "$work/celeba-out" ] || fail "lpz config wrote $(find "$work/celeba-out")"
expect 0 "warning: the data were not checked: dataset celeba: " config -f "$work/celeba.yml" \
  --set dataloader.path="$work/nowhere"
grep -qF "image folder '$work/nowhere' does not exist" "$work/err" || fail "lpz config: $(cat "$work/err")"
grep -q "^  image_size: \"48\"" "$work/out" || fail "lpz config of data not here printed: $(cat "$work/out")"
expect 1 "image folder '$work/nowhere' does not exist" train -f "$work/celeba.yml" --set dataloader.path="$work/nowhere"
expect 1 "none of the 3 images could be decoded" train -f "$work/celeba.yml" --set dataloader.image_size=32 \
  --set trainer.params.score.type=none
# The same for npy and network_traffic, which read a .npy's header or a table's lines up to its first row: files
# whose header (first row) is sound and whose values are damaged further on (a NaN last, a table cut off in its
# last row) are refused on their shape by the DCGAN without the damage being found; with a network that takes the
# shape the data is read, and the damage said.
. "$LPZ_SOURCE_DIR/tests/common/npy.sh"
npy_f4_damaged "$work/vectors.npy" "(4, 6)" 24
npy_f4_damaged "$work/flows.npy" "(3, 30, 4)" 360
printf 'a,b,c\n1,2,3\n4,5,6\n7,8\n' > "$work/cut.csv"
cat > "$work/own.yml" <<YML
dataloader:
  dataset_name: npy
  path: $work/vectors.npy
network:
  name: convolutional
general:
  output_dir: $work/own-out
YML
untouched() { # DAMAGE TEXT ARGS...: as expect 1, and the damage was not found, nothing written
  local damage=$1
  shift
  expect 1 "$@"
  if grep -qF "$damage" "$work/err"; then fail "lpz ${*:2}: the data was read to be refused: $(cat "$work/err")"; fi
  [ ! -e "$work/own-out" ] || fail "lpz ${*:2}: refused before the data, left $(find "$work/own-out")"
}
MLP=(--set network.name=four_layer_perceptron)
CUT=(--set dataloader.path="$work/cut.csv")
FLOWS=(--set dataloader.dataset_name=network_traffic --set dataloader.path="$work/flows.npy")
untouched "is not a number" "convolutional: samples of shape 6 are not supported" train -f "$work/own.yml"
untouched "is not a number" "the training data of npy are not 1x28x28 images" classifier -f "$work/own.yml" "${MLP[@]}"
expect 1 "vectors.npy: value nan of sample 3, element 5 is not a number" train -f "$work/own.yml" "${MLP[@]}"
untouched "2 fields" "convolutional: samples of shape 3 are not supported" train -f "$work/own.yml" "${CUT[@]}"
expect 1 "cut.csv:4: 2 fields (split at commas); the header has 3" train -f "$work/own.yml" "${CUT[@]}" "${MLP[@]}"
untouched "not finite" "convolutional: samples of shape 30x4 are not supported" train -f "$work/own.yml" "${FLOWS[@]}"
expect 1 "flows.npy: value nan of record 89, feature 3 is not finite" train -f "$work/own.yml" "${FLOWS[@]}" \
  --set network.name=rnn
# lpz config: the same shapes checked without reading the data; a path left to --set is said, not refused
untouched "is not a number" "convolutional: samples of shape 6 are not supported" config -f "$work/own.yml"
expect 0 "info: the data: samples of shape 6 (dataloader npy, without reading them), which network \
four_layer_perceptron takes" config -f "$work/own.yml" "${MLP[@]}"
expect 0 "info: the data: samples of shape 30x4 (dataloader network_traffic, without reading them), which network \
rnn takes" config -f "$work/own.yml" "${FLOWS[@]}" --set network.name=rnn
expect 0 "warning: the data were not checked: dataset npy: dataloader.path: no input file: the option path is \
required" config -f "$work/own.yml" --set dataloader.path=

# The rest trains, on Fashion-MNIST.
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "SKIPPED (the rest): Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
  exit 77
fi
TINY=(--set general.grid_size=1 --set trainer.params.score.enabled=false --set dataloader.batch_size=50
      --set dataloader.n_batches=2 --set trainer.params.fitness.fitness_sample_size=50
      --set general.checkpoint_period=1)

# 7. A failure once the data is known also removes the new folder: a network option out of range (said before
#    the images are read: fashion_mnist tells their shape first) and a batch larger than the data (after).
expect 1 "network option hidden = 0 is out of range" config -f "$work/ok.yml" --set network.hidden=0
[ ! -s "$work/out" ] || fail "lpz config printed a configuration it refused: $(head -3 "$work/out")"
expect 1 "rnn: samples must be sequences of shape (T, F)" config -f "$work/ok.yml" --set network.name=rnn
expect 0 "info: the data: samples of shape 1x28x28 (dataloader fashion_mnist, without reading them), which network \
four_layer_perceptron takes" config -f "$work/ok.yml"
expect 1 "network option hidden = 0 is out of range" train -f "$work/ok.yml" --set network.hidden=0 \
  --set general.output_dir="$work/o4"
if grep -q "partial results" "$work/err"; then fail "a run that wrote nothing: $(cat "$work/err")"; fi
expect 1 "batch_size 60001 is larger than the dataset (60000 samples)" train -f "$work/ok.yml" \
  --set dataloader.batch_size=60001 --set general.output_dir="$work/o4"
if grep -q "partial results" "$work/err"; then fail "a run that wrote nothing: $(cat "$work/err")"; fi
[ ! -e "$work/o4" ] || fail "a run that failed before training left $(find "$work/o4")"

# 8. A one-iteration run on a 1x1 grid.
"$LPZ" train -f "$work/ok.yml" "${TINY[@]}" --set trainer.n_iterations=1 --set general.output_dir="$work/run" \
  > "$work/run.out" 2> "$work/run.err" || fail "1x1 run: $(cat "$work/run.err")"
R=$(ls -d "$work"/run/lipizzaner_gan/*/)
R=${R%/}
# Counts of 1 in the singular ("trained 1 cells", "1 iterations" before).
grep -q "^trained 1 cell in [0-9.]* s (median [0-9.]* s per iteration)$" "$work/run.out" \
  || fail "summary of a 1x1 run: $(cat "$work/run.out")"
grep -q "training a 1x1 grid: 1 cell, 2 batches of 50 per iteration, 1 iteration, 1 cell computing at once" \
  "$work/run.err" || fail "start of a 1x1 run: $(cat "$work/run.err")"
# The AMX hint, where the CPU has AMX, comes with a run that starts.
if "$LPZ" --version | grep -q "AMX-BF16 on this CPU"; then
  grep -q "this CPU has AMX" "$work/run.err" || fail "no AMX hint: $(cat "$work/run.err")"
fi
# 8b. general.matmul_precision: medium trains (two iterations, finite losses) on the unit --version names for
#     it (AMX, else AVX512-BF16), and the log says so; where neither runs, the warning says why it computes in
#     fp32. high on a CPU with AVX512-BF16 but no AMX computes in fp32 and says why.
version=$("$LPZ" --version)
"$LPZ" train -f "$work/ok.yml" "${TINY[@]}" --set trainer.n_iterations=2 --set general.matmul_precision=medium \
  --set general.output_dir="$work/runm" > "$work/runm.out" 2> "$work/runm.err" \
  || fail "medium run: $(cat "$work/runm.err")"
case $version in
*"AMX-BF16 on this CPU"*) unit=AMX ;;
*"medium (AVX512-BF16 on this CPU)"*) unit=AVX512-BF16 ;;
*) unit= ;;
esac
if [ -n "$unit" ]; then
  grep -qF "matrix products on $unit in one bf16 limb (general.matmul_precision: medium)" "$work/runm.err" \
    || fail "medium run, --version says $unit: $(cat "$work/runm.err")"
else
  grep -q "general.matmul_precision: medium needs AMX or AVX512-BF16: .*; computing in fp32 (highest)" \
    "$work/runm.err" || fail "medium run without a bf16 unit: $(cat "$work/runm.err")"
fi
awk -F, 'NR > 1 { n++; for (i = 3; i <= 4; i++) if ($i !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) bad = bad " " $i }
         END { if (n != 2 || bad != "") { print n " rows, losses not finite:" bad; exit 1 } }' \
  "$work"/runm/lipizzaner_gan/*/metrics.csv \
  || fail "medium run's metrics.csv: $(cat "$work"/runm/lipizzaner_gan/*/metrics.csv)"
if [ "$unit" = AVX512-BF16 ]; then
  "$LPZ" train -f "$work/ok.yml" "${TINY[@]}" --set trainer.n_iterations=1 --set general.matmul_precision=high \
    --set general.output_dir="$work/runh" > "$work/runh.out" 2> "$work/runh.err" \
    || fail "high run: $(cat "$work/runh.err")"
  grep -qF "general.matmul_precision: high needs AMX: this CPU has no AMX-BF16; two bf16 limbs on its AVX512-BF16" \
    "$work/runh.err" || fail "high on AVX512-BF16 without AMX: $(cat "$work/runh.err")"
fi
# A resume refused before it changed anything says so without "partial
# results", and leaves the folder as it was.
"$LPZ" train --resume "$R" --set trainer.n_iterations=2 -q > /dev/null 2>&1 || fail "resume to 2 iterations"
cp -r "$R" "$work/before"
expect 1 "the run already has 2 iterations, more than trainer.n_iterations 1" \
  train --resume "$R" --set trainer.n_iterations=1
if grep -q "partial results" "$work/err"; then fail "a refused resume: $(cat "$work/err")"; fi
expect 1 "no train-images-idx3-ubyte(.gz)" train --resume "$R" --set trainer.n_iterations=3 \
  --set dataloader.path="$work/none"
if grep -q "partial results" "$work/err"; then fail "a resume that failed at once: $(cat "$work/err")"; fi
diff -r "$work/before" "$R" > /dev/null || fail "a refused resume changed the run folder"

# 9. Cache folders are made by what writes into them: a run without a score
#    and lpz generate (default output_dir ./output) leave none.
[ ! -e "$work/run/cache" ] || fail "a run without a score left $work/run/cache"
mkdir "$work/gen"
(cd "$work/gen" && "$LPZ" generate -f "$work/ok.yml" --mixture-source "$R/master/0" -o samples --sample-size 2 -q \
  > /dev/null 2> "$work/gen.err") || fail "generate: $(cat "$work/gen.err")"
[ -s "$work/gen/samples/samples.npy" ] || fail "generate wrote no samples"
[ ! -e "$work/gen/output" ] || fail "lpz generate left $(find "$work/gen/output")"

echo "cli: all checks passed"
