#!/usr/bin/env bash
# tests/pcap2npy/argus_compare.sh GEN_CAPTURE LPZ_PCAP2NPY
# The same generated capture through lpz-pcap2npy and through argus + ra
# gives the same per-flow packet and byte totals, on Ethernet and on the
# link types whose pseudo-header argus leaves out of its byte counts
# (Linux cooked SLL, BSD loopback NULL); then ra's CSV goes back through
# lpz-pcap2npy --from-argus. Also: every record's source (who argus + ra
# name as SrcAddr/Sport) and per-direction packets on TCP connections whose
# capture starts without a SYN or with a SYN+ACK, and datagrams whose later
# fragment comes first. Skipped (exit 77) without argus, ra or
# Debian's python3.
set -euo pipefail
gen=$1
tool=$2
PY=/usr/bin/python3
for t in argus ra; do
    command -v "$t" >/dev/null || { echo "skip: $t not installed (Debian: argus-server, argus-client)"; exit 77; }
done
[ -x "$PY" ] || { echo "skip: $PY missing"; exit 77; }

work=$(mktemp -d /tmp/p2n-argus-XXXXXX)
trap 'rm -rf "$work"' EXIT

# compare LINKTYPE: the mixed capture written with that link type
compare() {
    local lt=$1
    rm -f "$work/cap.argus"
    "$gen" mixed "$work/cap.pcap" "$lt"
    # one record per flow, like argus + racluster: no idle split, no status records
    "$tool" -q --pcap "$work/cap.pcap" --idle-timeout 0 --status-interval 0 --sequence-length 1 \
        -o "$work/ours.npy" --csv "$work/ours.csv"
    argus -r "$work/cap.pcap" -w "$work/cap.argus"
    ra -n -u -r "$work/cap.argus" -c , -s proto saddr sport daddr dport pkts bytes > "$work/ra.csv"
    echo -n "$lt: "
    "$PY" - "$work/ours.csv" "$work/ra.csv" <<'PYEOF'
import csv, ipaddress, sys
from collections import Counter

def key(proto, sa, sp, da, dp):
    sa, da = str(ipaddress.ip_address(sa)), str(ipaddress.ip_address(da))
    if proto in ("1", "58", "icmp", "ipv6-icmp"):
        # argus prints ICMP type/code/id packed in its port columns; compare
        # ICMP by addresses only
        return ("icmp", frozenset([sa, da]))
    return (proto, frozenset([(sa, int(sp)), (da, int(dp))]))

names = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmp"}
ours, theirs = Counter(), Counter()
with open(sys.argv[1]) as f:
    for r in csv.DictReader(f):
        k = key(names.get(r["proto"], r["proto"]), r["saddr"], r["sport"], r["daddr"], r["dport"])
        ours[k + ("pkts",)] += int(r["pkts"])
        ours[k + ("bytes",)] += int(r["bytes"])
with open(sys.argv[2]) as f:
    for r in csv.DictReader(f):
        if r["Proto"] == "man":
            continue
        k = key(r["Proto"], r["SrcAddr"], r["Sport"], r["DstAddr"], r["Dport"])
        theirs[k + ("pkts",)] += int(r["TotPkts"])
        theirs[k + ("bytes",)] += int(r["TotBytes"])
flows = len(ours) // 2
if ours != theirs:
    for k in sorted(set(ours) | set(theirs), key=str):
        if ours[k] != theirs[k]:
            print("differs:", k, "lpz", ours[k], "argus", theirs[k])
    sys.exit(1)
if flows < 40:
    print("expected at least 40 flows, got", flows)
    sys.exit(1)
print(f"{flows} flows: packet and byte totals match argus")
PYEOF
}
compare LINUX_SLL
compare NULL
# direction: argus at its default status interval of 5 s, ra with the port direction of Debian's /etc/ra.conf
# (RA_PORT_DIRECTION="services,wellknown"), given here so that an edited /etc/ra.conf does not change the check
"$gen" direction "$work/dir.pcap"
"$tool" -q --pcap "$work/dir.pcap" --status-interval 5 --sequence-length 1 -o "$work/dir.npy" --csv "$work/dir.csv"
argus -r "$work/dir.pcap" -w "$work/dir.argus"
printf 'RA_PORT_DIRECTION="services,wellknown"\n' > "$work/ra.conf"
ra -F "$work/ra.conf" -n -u -r "$work/dir.argus" -c , -s stime proto saddr sport daddr dport spkts dpkts \
  > "$work/dir.ra.csv"
echo -n "direction: "
"$PY" - "$work/dir.csv" "$work/dir.ra.csv" <<'PYEOF'
import csv, ipaddress, sys
from collections import defaultdict

def norm(a):
    return str(ipaddress.ip_address(a))

# per flow (both endpoints): its records in start order as (source, source port, spkts, dpkts)
def load(path, f):
    recs = defaultdict(list)
    with open(path) as fp:
        for r in csv.DictReader(fp):
            proto, sa, sp, da, dp, t, sk, dk = (r[c] for c in f)
            proto = {"tcp": "6", "udp": "17"}.get(proto, proto)
            if proto not in ("6", "17") or sa.startswith("10.6.") or sa == "0":
                continue
            k = (proto, frozenset([(norm(sa), sp), (norm(da), dp)]))
            recs[k].append((float(t), norm(sa), sp, int(sk), int(dk)))
    return {k: [x[1:] for x in sorted(v)] for k, v in recs.items()}

ours = load(sys.argv[1], ["proto", "saddr", "sport", "daddr", "dport", "stime", "spkts", "dpkts"])
theirs = load(sys.argv[2], ["Proto", "SrcAddr", "Sport", "DstAddr", "Dport", "StartTime", "SrcPkts", "DstPkts"])
bad = 0
for k in sorted(set(ours) | set(theirs), key=str):
    if ours.get(k) != theirs.get(k):
        bad += 1
        print("differs:", sorted(k[1]), "lpz", ours.get(k), "argus", theirs.get(k))
if bad or len(ours) < 17:
    sys.exit(1)
print(f"{len(ours)} flows: every record's source and per-direction packets match argus")
PYEOF

compare EN10MB # last: its records go back through --from-argus below

# argus' records back through --from-argus: as many records as ra printed
ra -n -u -r "$work/cap.argus" -c , -s stime dur pkts bytes saddr daddr sport dport proto > "$work/ra2.csv"
"$tool" -q --from-argus "$work/ra2.csv" --sequence-length 5 -o "$work/theirs.npy" --csv "$work/theirs.csv"
n_ra=$(grep -vc -e '^StartTime' -e ',man$' "$work/ra2.csv")
n_csv=$(($(wc -l < "$work/theirs.csv") - 1))
[ "$n_ra" -eq "$n_csv" ] || { echo "from-argus: $n_csv records, ra printed $n_ra"; exit 1; }
"$PY" -c "
import numpy as np, sys
a = np.load('$work/theirs.npy')
assert a.shape == ($n_ra // 5, 5, 4), a.shape
assert (a[:, :, 0] >= 0).all(), 'gaps must be non-negative in start-time order'
print('from-argus:', a.shape)
"
