#!/usr/bin/env bash
# Security and bad input on the control socket: a master with a wrong or no
# secret is refused; wrong protocol version, truncated, oversized, badly
# signed and random messages, START without AUTH and a wrong AUTH proof are
# answered with an ERROR and logged; afterwards the client still runs an
# experiment. A client without a secret listens on loopback only and says so.
. "$(dirname "$0")/common.sh"
S="security-test-secret"
start_client 0 LPZ_SECRET=$S
wait_listening 0
URL="tcp://127.0.0.1:$BASE"
one_by_one() { # master_1x1 NAME [env...]: a 1x1 master on client 0
  local name=$1
  shift
  env "$@" timeout 60 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/$name" \
    --set "$(nodes 0 0)" --set general.grid_size=1 --set trainer.params.tournament_size=1 \
    --set trainer.n_iterations=1 > "$work/$name.out" 2> "$work/master-$name.log"
}

# 1. Wrong secret, then none: refused, non-zero exit, nothing trained.
one_by_one wrong LPZ_SECRET=not-the-secret && fail "a master with a wrong secret ran an experiment"
grep -q "failed authentication" "$work/master-wrong.log" || fail "wrong secret: $(cat "$work/master-wrong.log")"
one_by_one none LPZ_SECRET= && fail "a master without a secret ran an experiment"
grep -q "client tcp://127.0.0.1:$BASE not used" "$work/master-none.log" || fail "no secret: $(cat "$work/master-none.log")"
[ -z "$(run_dir "$work/wrong")$(run_dir "$work/none")" ] || fail "a refused master wrote results"

# 2. Malformed and hostile messages: each is answered with an ERROR.
expect_refused() { # CASE PATTERN [SECRET]
  local out
  out=$("$PROBE" "$URL" "$1" ${3:-}) || fail "probe $1 was not refused: $out"
  grep -q "$2" <<< "$out" || fail "probe $1: expected '$2', got: $out"
}
expect_refused version "protocol version 99, expected 1"
expect_refused truncated "truncated message"
expect_refused random "not an lpz message"
expect_refused oversized "exceeds the limit"
expect_refused badmac "failed authentication" $S
expect_refused hello "carries no authentication tag"
expect_refused unauth "without a fresh authenticated challenge" $S
expect_refused wrongauth "authentication failed" $S
# (each naming the peer's address: they named none)
[ "$(grep -c "refused a request from 127.0.0.1:[0-9]*: " "$work/c0.log")" -ge 10 ] || fail "refusals are not logged"

# 3. The client is still usable with the right secret.
one_by_one right LPZ_SECRET=$S || fail "the client no longer runs experiments: $(cat "$work/master-right.log")"
check_cells "$(run_dir "$work/right")" 0

# 4. Without a secret: loopback only, said in the log.
start_client 1 LPZ_SECRET=
wait_listening 1
grep -q "listening on tcp://127.0.0.1:$((BASE + 1))" "$work/c1.log" || fail "a client without a secret is not on loopback"
grep -q "loopback only" "$work/c1.log" || fail "the client does not say it listens on loopback only"
echo "PASS"
