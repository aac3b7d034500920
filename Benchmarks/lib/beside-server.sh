# What the benchmarks that load a running server beside something else share (sourced, not run):
#
#   . "$(dirname "$0")/../lib/beside-server.sh" NAME "DEFAULT COUNTS" "$@"
#
# takes the caller's arguments LEDGERCTL [N ...] into `ledgerctl` (an absolute path) and `counts`
# (the defaults when none is given), makes the work directory `work` (removed at exit, with the
# jobs still running stopped and a file `$work/stop` made for loops that watch for it), builds
# the load generator `$work/udsload` from erasure-beside-server/udsload.c, writes a single
# append's body to `$work/single.json`, and defines `summary`, which keeps udsload's
# ok/p50/p99/max.
set -euo pipefail
bench_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench_name=$1
bench_defaults=$2
shift 2
ledgerctl=$(realpath "$1")
shift
read -r -a counts <<<"${*:-$bench_defaults}"
work=$(mktemp -d "/tmp/$bench_name.XXXX")
trap 'touch "$work/stop"; kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
gcc -O2 -Wall -o "$work/udsload" "$bench_lib/../erasure-beside-server/udsload.c"
echo '{"type":"consent.granted","subject":"load@example.org","purpose":"newsletter","notice":"policy-v1","data":{"source":"web"}}' >"$work/single.json"
summary() { grep -o 'ok=[0-9]*\|p50_us=[0-9.]*\|p99_us=[0-9.]*\|max_us=[0-9.]*' | tr '\n' ' '; }
