#!/usr/bin/env bash
# general.distribution.auto_discover across machines: three network
# namespaces on one bridge (10.213.0.0/24) stand for three machines. The
# master's machine (.1, and 10.9.0.7/32 on a second link, as a VPN would
# be) runs a client bound to every address and one bound to loopback only;
# machine A (.2) runs two clients (ports 5000 and 5001), machine B (.3 and
# .12) one. The master, with no client listed, must find the four reachable
# clients (its own by 10.213.0.1: not 127.0.0.1, not the VPN address, and
# once, though it answers on all three; B's once, though it answers on two
# addresses), leave out the loopback-only one with a warning, and train the
# 2x2 grid across the three machines. Then, on B alone, a loopback-only
# client is used though something else listens on A's port 5000. Needs
# root (ip netns); skipped without it.
. "$(dirname "$0")/common.sh"
if [ "$(id -u)" -ne 0 ] || ! command -v ip > /dev/null; then
  echo "SKIPPED: needs root and ip (iproute2) for network namespaces"
  exit 77
fi
NS=lpzd$$
M=${NS}m A=${NS}a B=${NS}b
netns_cleanup() {
  cleanup
  for n in $M $A $B; do ip netns del "$n" 2> /dev/null; done
}
trap netns_cleanup EXIT
ip netns add $M || { echo "SKIPPED: cannot create network namespaces"; exit 77; }
ip netns add $A && ip netns add $B || fail "ip netns add"
ip -n $M link add br0 type bridge 2> /dev/null || { echo "SKIPPED: no bridge devices here"; exit 77; }
ip -n $M addr add 10.213.0.1/24 dev br0 && ip -n $M link set br0 up && ip -n $M link set lo up || fail "master net"
i=2
for n in $A $B; do
  ip -n $n link add eth0 type veth peer name p$i netns $M && ip -n $M link set p$i master br0 &&
    ip -n $M link set p$i up && ip -n $n addr add 10.213.0.$i/24 dev eth0 && ip -n $n link set eth0 up &&
    ip -n $n link set lo up || fail "net of $n"
  i=$((i + 1))
done
# (no ping on a minimal machine: a refused connection says B is reachable)
ip -n $B addr add 10.213.0.12/24 dev eth0 || fail "B's second address"
ip -n $M link add vpn0 type veth peer name vpn1 && ip -n $M addr add 10.9.0.7/32 dev vpn0 &&
  ip -n $M link set vpn0 up && ip -n $M link set vpn1 up || fail "the master's second link"
reach() { [[ $(ip netns exec $A timeout 2 bash -c 'exec 3<> /dev/tcp/10.213.0.3/9' 2>&1) == *refused* ]]; }
for _ in $(seq 1 50); do reach && break; sleep 0.1; done
reach || fail "the namespaces do not reach each other"
export LPZ_SECRET="discover-test-secret"

# ns_client NS NAME [args...]: a client in namespace NS, log in work/NAME.log
ns_client() {
  local n=$1 name=$2
  shift 2
  mkdir -p "$work/$name"
  env TMPDIR="$work/$name" ip netns exec "$n" "$LPZ" train --distributed --client "$@" > "$work/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 600); do
    grep -q "client listening" "$work/$name.log" 2> /dev/null && return 0
    sleep 0.05
  done
  fail "client $name did not start"
}
ns_client $M m0 --port 5000
ns_client $M mlo --port 5001 --bind 127.0.0.1
ns_client $A a0
ns_client $A a1
ns_client $B b0
grep -q "tcp://0.0.0.0:5001" "$work/a1.log" || fail "A's second client should listen on 5001: $(cat "$work/a1.log")"

ip netns exec $M timeout 120 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/out" \
  --set general.distribution.auto_discover=true > "$work/out.txt" 2> "$work/master.log" \
  || fail "master failed: $(cat "$work/out.txt" "$work/master.log")"
# asked: 254 of br0, 10.9.0.7, 127.0.0.1; answered: .1 .2 .3 .12, 10.9.0.7, 127.0.0.1; open: M 4, A 2, B 2
grep -q "auto_discover: asked 256 addresses (br0 10.213.0.0/24, vpn0 10.9.0.7/32, lo 127.0.0.1) on ports 5000-5099 .*: 6 answered, 8 open ports" \
  "$work/master.log" || fail "discovery summary: $(grep auto_discover "$work/master.log")"
grep -q "auto_discover: 4 idle clients to greet" "$work/master.log" || fail "$(grep auto_discover "$work/master.log")"
grep -q "warning: client" "$work/master.log" && fail "a client was greeted twice or refused: $(cat "$work/master.log")"
grep -q "auto_discover: the client on 127.0.0.1:5001 not used: it listens on loopback only" "$work/master.log" \
  || fail "no warning about the loopback-only client"
grep -q "^lpz: info: 4 idle clients for a 2x2 grid" "$work/master.log" || fail "$(grep idle "$work/master.log")"
# Cells go to the clients in address order; the master's own client by its
# network address.
for want in "cell 0 on tcp://10.213.0.1:5000" "cell 1 on tcp://10.213.0.2:5000" "cell 2 on tcp://10.213.0.2:5001" \
  "cell 3 on tcp://10.213.0.3:5000"; do
  grep -q "$want" "$work/master.log" || fail "expected '$want': $(grep ' on tcp' "$work/master.log")"
done
grep -q "127.0.0.1" <(grep " on tcp" "$work/master.log") && fail "a cell went to a loopback address"
d=$(run_dir "$work/out")
[ -n "$d" ] || fail "no result folder"
[ "$(wc -l < "$d/metrics.csv")" -eq 13 ] || fail "metrics.csv should have 1 + 3x4 rows: $(wc -l < "$d/metrics.csv")"
check_cells "$d" 0 1 2 3
grep -q "^trained 4 cells" "$work/out.txt" || fail "summary: $(cat "$work/out.txt")"
# The loopback-only client was never started.
grep -q "experiment .* done" "$work/mlo.log" && fail "the loopback-only client ran a cell"

# On one machine alone (B's namespace, every client gone but a new one
# without a secret, which listens on loopback only) that client is used on
# 127.0.0.1, though another machine (A) has a port 5000 open: not a client.
kill -9 "${PIDS[@]}" 2> /dev/null
for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null; done # their ports are free only once they are gone
PIDS=()
ip netns exec $A python3 -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 5000)); s.listen(8)
time.sleep(120)' &
PIDS+=($!)
for _ in $(seq 1 100); do
  [[ $(ip netns exec $A timeout 1 bash -c 'exec 3<> /dev/tcp/127.0.0.1/5000 && echo open' 2> /dev/null) == open ]] \
    && break
  sleep 0.1
done
[[ $(ip netns exec $A timeout 1 bash -c 'exec 3<> /dev/tcp/127.0.0.1/5000 && echo open' 2> /dev/null) == open ]] \
  || fail "the stand-in service on A's port 5000 did not start"
LPZ_SECRET= ns_client $B bsolo --port 5001
ip netns exec $B env -u LPZ_SECRET timeout 60 "$LPZ" train --distributed --master -f "$CFG" \
  --set general.output_dir="$work/solo" --set general.distribution.auto_discover=true --set general.grid_size=1 \
  --set trainer.params.tournament_size=1 > "$work/solo.txt" 2> "$work/solo.log" \
  || fail "one-machine master failed: $(cat "$work/solo.log")"
grep -q "cell 0 on tcp://127.0.0.1:5001" "$work/solo.log" || fail "$(grep -E 'auto_discover| on tcp' "$work/solo.log")"
grep -q "10.213.0.2:5000 is open but no lpz client answered" "$work/solo.log" || fail "$(cat "$work/solo.log")"
echo "auto_discover: OK"
