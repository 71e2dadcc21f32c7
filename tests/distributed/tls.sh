#!/usr/bin/env bash
# TLS (tls+tcp://, mutual certificate authentication): certificates made
# with the openssl CLI as in docs/distributed.md; four TLS clients and a TLS
# master train the tiny 2x2 grid (control channel and cell-to-cell traffic
# over TLS); a master without TLS and a master whose certificate comes from
# another CA are refused (non-zero exit, no results) and the clients stay
# usable; a bad certificate file is reported by name.
. "$(dirname "$0")/common.sh"
command -v openssl > /dev/null || { echo "SKIPPED: the openssl command is not installed"; exit 77; }
pki="$work/pki"
mkdir -p "$pki"
# ca NAME: a self-signed CA in pki/NAME-ca.{crt,key}.
ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$1 test CA" \
    -keyout "$pki/$1-ca.key" -out "$pki/$1-ca.crt" 2> "$pki/$1.log" || fail "openssl: $(cat "$pki/$1.log")"
}
# cert CA NAME: a certificate for 127.0.0.1/localhost signed by CA.
cert() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
    -keyout "$pki/$2.key" -out "$pki/$2.csr" 2> "$pki/$2.log" || fail "openssl: $(cat "$pki/$2.log")"
  printf 'subjectAltName=IP:127.0.0.1,DNS:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' \
    > "$pki/$2.ext"
  openssl x509 -req -in "$pki/$2.csr" -CA "$pki/$1-ca.crt" -CAkey "$pki/$1-ca.key" -CAcreateserial -days 2 \
    -extfile "$pki/$2.ext" -out "$pki/$2.crt" 2>> "$pki/$2.log" || fail "openssl: $(cat "$pki/$2.log")"
}
ca good
ca other
cert good node
cert other stranger

TLS_ENV=(LPZ_TLS_CERT="$pki/node.crt" LPZ_TLS_KEY="$pki/node.key" LPZ_TLS_CA="$pki/good-ca.crt")
for i in 0 1 2 3; do start_client $i "${TLS_ENV[@]}"; done
for i in 0 1 2 3; do wait_listening $i; done
grep -q "TLS on" "$work/c0.log" || fail "the client does not say it uses TLS"

master() { # master NAME GRID [--set ...]: a master on clients 0-3
  local name=$1 k=$2
  shift 2
  timeout 90 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/$name" \
    --set "$(nodes 0 $((k * k - 1)))" --set general.grid_size=$k --set trainer.params.tournament_size=$((k > 1 ? 2 : 1)) \
    "$@" > "$work/$name.out" 2> "$work/master-$name.log"
}
tls_set() { # the --set arguments for a TLS master with CERT KEY CA
  echo --set general.distribution.tls.enabled=true --set "general.distribution.tls.cert=$1" \
    --set "general.distribution.tls.key=$2" --set "general.distribution.tls.ca=$3"
}

# 1. A master without TLS: refused by every client, nothing trained.
master plain 1 && fail "a plain-tcp master ran an experiment on TLS clients"
grep -q "client tcp://127.0.0.1:$BASE not used" "$work/master-plain.log" \
  || fail "plain master: $(cat "$work/master-plain.log")"

# 2. A master whose certificate comes from another CA (trusting the right
# CA itself): the clients refuse its handshake.
# shellcheck disable=SC2046
master stranger 1 \
  $(tls_set "$pki/stranger.crt" "$pki/stranger.key" "$pki/good-ca.crt") \
  && fail "a master with a certificate from another CA ran an experiment"
grep -q "client tcp://127.0.0.1:$BASE not used" "$work/master-stranger.log" \
  || fail "stranger master: $(cat "$work/master-stranger.log")"
[ -z "$(run_dir "$work/plain")$(run_dir "$work/stranger")" ] || fail "a refused master wrote results"

# 3. Configuration errors name the file or the key.
master badfile 1 $(tls_set "$pki/node.csr" "$pki/node.key" "$pki/good-ca.crt") && fail "a CSR was taken as a certificate"
grep -q "node.csr" "$work/master-badfile.log" || fail "bad certificate file: $(cat "$work/master-badfile.log")"
master noca 1 --set general.distribution.tls.enabled=true --set "general.distribution.tls.cert=$pki/node.crt" \
  --set "general.distribution.tls.key=$pki/node.key" && fail "TLS without a CA was accepted"
grep -q "general.distribution.tls.ca" "$work/master-noca.log" || fail "missing CA: $(cat "$work/master-noca.log")"

# 4. The same clients run a 2x2 experiment over TLS with the right master.
# shellcheck disable=SC2046
master good 2 $(tls_set "$pki/node.crt" "$pki/node.key" "$pki/good-ca.crt") \
  || fail "the TLS master failed: $(cat "$work/good.out")"
d=$(run_dir "$work/good")
[ -n "$d" ] || fail "no result folder"
check_cells "$d" 0 1 2 3
grep -q "^trained 4 cells" "$work/good.out" || fail "summary: $(cat "$work/good.out")"
# Neighbours really exchanged individuals over TLS: a refused handshake
# between cells would fail every fetch (at least 2 per cell and iteration;
# timing.csv counts them per cell, cumulated). One or two late ones are
# allowed for slow sanitizer builds.
awk -F, '$1 == 3 && $4 > 2 {bad = 1} END {exit bad}' "$d/timing.csv" \
  || fail "cells did not reach their neighbours over TLS: $(cat "$d/timing.csv")"
echo "PASS"
