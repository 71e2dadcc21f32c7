#!/usr/bin/env bash
# Clients whose data differ (each reads its own file: the npy dataloader's
# relative path is read from the client's current folder):
#  a) one client's samples have 20 features, the others' 16: the master
#     stops before the cells mix, naming the cell that differs and how
#     (it finished rc 0 with that cell as the best one; only the clients'
#     logs said neighbours refused exchanges);
#  b) the same shape in another scale: the master warns that the data are
#     scaled differently (nothing was said);
#  d) the same shape and scale, other data (the rows in another order): the
#     master warns that the data differ, and not that they are scaled
#     differently (nothing was said);
#  c) (not about data) a client whose cell server port is taken is refused
#     at start.
. "$(dirname "$0")/common.sh"
export LPZ_SECRET="data-test-secret"
# csv FILE COLUMNS SCALE: 400 rows of COLUMNS values in [-SCALE, SCALE].
csv() {
  awk -v cols="$2" -v s="$3" 'BEGIN { srand(5); for (r = 0; r < 400; r++) { line = "";
    for (c = 0; c < cols; c++) line = line (c ? "," : "") sprintf("%.4f", (2 * rand() - 1) * s); print line } }' > "$1"
}
# data_client INDEX: a client started in work/dINDEX (its data.csv).
data_client() {
  local i=$1
  mkdir -p "$work/c$i"
  (cd "$work/d$i" && exec env TMPDIR="$work/c$i" "$LPZ" train --distributed --client --port $((BASE + i)) \
    > "$work/c$i.log" 2>&1) &
  PIDS+=($!)
  CLIENT_PID[$i]=$!
}
cat > "$work/npy.yml" <<YML
general: {output_dir: ./output, seed: 3, grid_size: 2, checkpoint_period: 1}
trainer:
  name: lipizzaner_gan
  n_iterations: 3
  params:
    population_size: 1
    tournament_size: 2
    score: {enabled: false, type: none}
    fitness: {fitness_sample_size: 50, fitness_mode: average}
dataloader: {dataset_name: npy, path: data.csv, batch_size: 50, n_batches: 2}
network: {name: four_layer_perceptron, hidden: 16, loss: bceloss}
master: {calculate_score: false}
YML
for i in 0 1 2 3 4 5 6 7 8; do mkdir -p "$work/d$i"; done
for i in 0 1 2 4 5 6; do csv "$work/d$i/data.csv" 16 1; done
csv "$work/d3/data.csv" 20 1
csv "$work/d7/data.csv" 16 50
tac "$work/d4/data.csv" > "$work/d8/data.csv"
for i in 0 1 2 3 4 5 6 7 8; do data_client $i; done
for i in 0 1 2 3 4 5 6 7 8; do wait_listening $i; done
master() {
  local name=$1
  shift
  timeout 120 "$LPZ" train --distributed --master -f "$work/npy.yml" --set general.output_dir="$work/$name" "$@" \
    > "$work/$name.out" 2> "$work/master-$name.log"
}
# a) cell 3 on client 3 (20 features)
master a --set "$(nodes 0 3)" && fail "a) the master accepted clients with data of other shapes: $(cat "$work/a.out")"
want="the clients' data differ: sample shape \[16\] on cell 0 .*; sample shape \[20\] on cell 3"
grep -q "$want (tcp://127.0.0.1:$((BASE + 3))" \
  "$work/master-a.log" || fail "a) $(cat "$work/master-a.log")"
# b) cell 3 on client 7 (16 features, 50 times the scale)
master b --set "$(nodes 4 7)" || fail "b) the master failed: $(cat "$work/master-b.log")"
want="the clients' data are scaled differently (digests of the units record: .* cell 3"
grep -q "$want (tcp://127.0.0.1:$((BASE + 7)))" \
  "$work/master-b.log" || fail "b) no warning: $(cat "$work/master-b.log")"
# d) cell 3 on client 8 (client 4's rows in reverse order)
master d --set "general.distribution.client_nodes=[{address: 127.0.0.1, port: $((BASE + 4))-$((BASE + 6))}, \
{address: 127.0.0.1, port: $((BASE + 8))}]" || fail "d) the master failed: $(cat "$work/master-d.log")"
want="the clients' data differ (samples and a fingerprint of 64 of them: data 400 samples, fingerprint [0-9a-f]* on \
cell 0 .*; data 400 samples, fingerprint [0-9a-f]* on cell 3"
grep -q "$want (tcp://127.0.0.1:$((BASE + 8)))" "$work/master-d.log" || fail "d) no warning: $(cat "$work/master-d.log")"
grep -q "scaled differently" "$work/master-d.log" && fail "d) the same scaling was called different"
# c) a client whose cell server port (port + 1000) is taken is refused at start, naming both ports (it started,
#    and the master's START failed for the whole experiment)
python3 -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", '$((BASE + 1009))')); s.listen(); time.sleep(60)' &
PIDS+=($!)
for _ in $(seq 1 100); do port_free $((BASE + 1009)) || break; sleep 0.05; done
TMPDIR="$work/c9" timeout 20 "$LPZ" train --distributed --client --port $((BASE + 9)) > "$work/c9.log" 2>&1 \
  && fail "c) a client started with its cell server port taken"
grep -q "cannot listen on port $((BASE + 9)): its cell server port $((BASE + 1009)) (port + 1000) is in use" \
  "$work/c9.log" || fail "c) $(cat "$work/c9.log")"
echo "PASS"
