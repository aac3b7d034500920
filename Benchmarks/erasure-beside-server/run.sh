#!/usr/bin/env bash
# Erasures through a running server, beside appends offered at a fixed rate (issue 12, the path
# services see). For each subject count N: a ledger of N subjects made by `ledgerctl import`,
# served; 500 single appends/s offered over 16 connections for 4 s with no erasure, then for 4 s
# beside three erasures (`ledgerctl erase`, 0.2 s apart, through the server's socket). Latency
# counts from when each append was due (open loop, no coordinated omission: udsload.c, the load
# generator of the side-by-side harness, copied here).
#
#   Benchmarks/erasure-beside-server/run.sh LEDGERCTL [N ...]     (default N: 1000 100000 1000000)
#
# ERASURES=K (default 3) and ERASURE_GAP=SECONDS (default 0.2) change the erasures: ERASURES=60
# ERASURE_GAP=0 keeps one erasure after another running through the appends' four seconds, so
# that the appends' p99 shows what each erasure makes them wait (three erasures touch too few of
# the 2,000 appends to move a p99).
#
# Prints, per N: the three erasures' wall times (the `ledgerctl erase` process, socket round trip
# included), then p50/p99/max of the appends without and during the erasures. Run it on a quiet
# machine; compare builds by interleaving them in one session (absolute figures drift by hour).
. "$(dirname "$0")/../lib/beside-server.sh" erasure-beside-server "1000 100000 1000000" "$@"
for n in ${counts[*]}; do
    ledger="$work/ledger-$n"
    python3 - "$n" >"$work/subjects.ndjson" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"type": "consent.granted", "subject": "s-%d@example.org" % i, "purpose": "newsletter",
                      "notice": "policy-v1", "data": {"source": "web"}}, separators=(",", ":")))
PY
    "$ledgerctl" init --ledger "$ledger" >/dev/null
    "$ledgerctl" import "$work/subjects.ndjson" --ledger "$ledger" >/dev/null
    # The import leaves gigabytes of dirty pages: written back during the measurement, they stall
    # the appends' flushes by tens of milliseconds (p99 40–54 ms in some runs without erasures).
    sync
    "$ledgerctl" serve --ledger "$ledger" >"$work/serve.log" 2>&1 &
    server=$!
    for _ in $(seq 600); do [ -S "$ledger/ledger.sock" ] && break; sleep 0.1; done
    sleep 1
    quiet=$("$work/udsload" -r 500 "$ledger/ledger.sock" 16 4 POST /v1/events "@$work/single.json" | summary)
    "$work/udsload" -r 500 "$ledger/ledger.sock" 16 4 POST /v1/events "@$work/single.json" >"$work/busy.txt" &
    load=$!
    sleep 0.5
    times=""
    for i in $(seq 0 $((${ERASURES:-3} - 1))); do
        victim="s-$((i * n / ${ERASURES:-3} / 2 * 2 + 2))@example.org"
        start=$(date +%s%N)
        "$ledgerctl" erase --ledger "$ledger" --subject "$victim" >/dev/null
        times="$times $(( ($(date +%s%N) - start) / 1000000 ))"
        sleep "${ERASURE_GAP:-0.2}"
    done
    wait "$load"
    kill -TERM "$server"
    wait "$server" || true
    if [ "${ERASURES:-3}" -le 3 ]; then
        echo "$n subjects: erasures$(printf ' %s ms' $times)"
    else
        sorted=($(printf '%s\n' $times | sort -n))
        echo "$n subjects: ${#sorted[@]} erasures, median ${sorted[$((${#sorted[@]} / 2))]} ms, max ${sorted[-1]} ms"
    fi
    echo "  appends without erasures: $quiet"
    echo "  appends during erasures:  $(summary <"$work/busy.txt")"
    rm -rf "$ledger"
done
