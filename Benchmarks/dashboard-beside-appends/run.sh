#!/usr/bin/env bash
# Appends through a running server while the dashboard's pages are being loaded (issue 14: the
# dashboard never blocks appends). For each subject count N: a ledger of N subjects made by
# `ledgerctl import` (newsletter grants, a tenth also cookie consents that lapse, some
# withdrawals and access requests), served with `--dashboard 127.0.0.1:0`; 500 single appends/s
# offered over 16 connections for 4 s with no page loads, then for 4 s while two clients load
# pages one after another without pause: every page and download "now" (whose fold the appends
# keep moving) and at eight moments during the import, visited in a cycle so that each is
# computed again: from the fold of the moment before, or, wrapping round, from the start of the
# log. Latency counts from when each append was due (open loop, no coordinated omission:
# udsload.c of Benchmarks/erasure-beside-server).
#
#   Benchmarks/dashboard-beside-appends/run.sh LEDGERCTL [N ...]     (default N: 100000)
#
# Prints, per N: p50/p99/max of the appends without and with page loads, the pages loaded
# meanwhile (all must be 200) and their mean time, and the load average before and after. Run it
# on a quiet machine; the figures drift by hour, so compare runs made in one session.
. "$(dirname "$0")/../lib/beside-server.sh" dashboard-beside-appends "100000" "$@"
now_ms() { date -u +%s%3N; }
rfc3339() { date -u -d "@$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ; }
for n in ${counts[*]}; do
    ledger="$work/ledger-$n"
    python3 - "$n" >"$work/subjects.ndjson" <<'PY'
import json, sys
n = int(sys.argv[1])
def line(event):
    print(json.dumps(event, separators=(",", ":")))
for i in range(n):
    subject = "s-%d@example.org" % i
    line({"type": "consent.granted", "subject": subject, "purpose": "newsletter", "notice": "policy-v1",
          "data": {"source": "web"}})
    if i % 10 == 0:
        line({"type": "consent.granted", "subject": subject, "purpose": "web-analytics", "notice": "policy-v1",
              "occurredAt": "2026-01-01T00:00:00Z"})
    if i % 7 == 0:
        line({"type": "consent.withdrawn", "subject": subject, "purpose": "newsletter"})
    if i % 100 == 0:
        line({"type": "access.requested", "subject": subject})
PY
    "$ledgerctl" init --ledger "$ledger" >/dev/null
    import_start=$(now_ms)
    "$ledgerctl" import "$work/subjects.ndjson" --ledger "$ledger" >/dev/null
    import_end=$(now_ms)
    sync
    "$ledgerctl" serve --ledger "$ledger" --dashboard 127.0.0.1:0 >"$work/serve.log" 2>&1 &
    server=$!
    for _ in $(seq 600); do grep -q '/login?token=' "$work/serve.log" && [ -S "$ledger/ledger.sock" ] && break; sleep 0.1; done
    login=$(grep -o 'http://127\.0\.0\.1:[0-9]*/login?token=[0-9a-f]*' "$work/serve.log")
    base=${login%%/login*}
    curl -s -c "$work/cookies" -o /dev/null "$login"
    # The pages: now, and at eight moments during the import (each a different number of events).
    urls=()
    for page in / /consent /erasures /integrity /requests.csv /consent.csv /expiring.csv; do urls+=("$base$page"); done
    for k in 1 2 3 4 5 6 7 8; do
        moment=$(rfc3339 $((import_start + (import_end - import_start) * k / 9)))
        for page in / /consent /erasures /integrity; do urls+=("$base$page?asOf=$moment"); done
    done
    sleep 1
    loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
    quiet=$("$work/udsload" -r 500 "$ledger/ledger.sock" 16 4 POST /v1/events "@$work/single.json" | summary)
    rm -f "$work/stop" "$work"/pages.*
    loaders=()
    # Two loaders, each one curl at a time over a kept-alive connection through the whole cycle
    # of pages (the second starting half way), again and again; when the appends end, each curl
    # is stopped, so the pages counted are those loaded beside the appends. (A curl process per
    # page costs the two cores more than the pages do.)
    for start in 0 $((${#urls[@]} / 2)); do
        config="$work/urls.$start"
        : >"$config"
        for ((j = 0; j < ${#urls[@]}; j++)); do
            printf 'url = "%s"\noutput = "/dev/null"\n' "${urls[(start + j) % ${#urls[@]}]}" >>"$config"
        done
        # The write-out goes to standard error, which is not buffered: a curl stopped half way
        # has reported every page it finished.
        (while [ ! -e "$work/stop" ]; do
            curl -s -b "$work/cookies" -K "$config" -w '%{stderr}%{http_code} %{time_total}\n' &
            echo $! >"$work/curl.$start"
            wait $! || true
        done 2>>"$work/pages.$start") &
        loaders+=($!)
    done
    sleep 0.5
    busy=$("$work/udsload" -r 500 "$ledger/ledger.sock" 16 4 POST /v1/events "@$work/single.json" | summary)
    touch "$work/stop"
    loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)
    for pidfile in "$work"/curl.*; do kill "$(cat "$pidfile")" 2>/dev/null || true; done
    wait "${loaders[@]}"
    rm -f "$work"/curl.*
    kill -TERM "$server"
    wait "$server" || true
    # Whole lines only: the write-out of a curl stopped while writing it is cut.
    cat "$work"/pages.* | grep -E '^[0-9]{3} [0-9.]+$' >"$work/pages.txt" || true
    pages=$(wc -l <"$work/pages.txt")
    not_ok=$(grep -v '^200 ' "$work/pages.txt" | cut -d' ' -f1 | sort | uniq -c | tr -s ' \n' ' ' || true)
    mean=$(awk '{ s += $2 } END { if (NR) printf "%.0f", s / NR * 1000 }' "$work/pages.txt")
    echo "$n subjects ($(grep -c . "$work/subjects.ndjson") events imported):"
    echo "  appends without page loads: $quiet"
    echo "  appends beside page loads:  $busy"
    echo "  pages loaded meanwhile: $pages (not 200:${not_ok:- none}), mean $mean ms each"
    echo "  load average: $loadavg_before before, $loadavg_after after"
    rm -rf "$ledger"
done
