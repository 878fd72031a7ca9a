#!/bin/bash
# bench/peers.sh - fcast beside uftp, udpcast and NORM in the shared netns harness.
#
# The harness (../shared/bench: netns.sh, run.sh, table.sh) builds the test network, runs one
# transfer per call and appends one CSV line per run. This script only supplies fcast's command
# templates (OURS_SEND / OURS_RECV) and the peers' tuned settings (../shared/research/peers.md,
# the same values as ../shared/bench/matrix.sh), and interleaves the peers run by run so that
# the load of a shared machine hits them alike. The peers are the Debian packages (uftp,
# udpcast, libnorm-dev through the harness's own normfile.c); nothing of theirs is built here.
#
# Usage:
#   bench/peers.sh [-n N] [-l LOSS[,LOSS...]] [-s SIZE_MB] PEER[:RUNS]...
#       PEER is ours | oursb | uftp | udpcast | norm; RUNS (default 1) repetitions of every loss case.
#       oursb is fcast from FCAST_CLI_B (another build, for before/after runs interleaved with ours).
#       Round r runs every peer with RUNS >= r, every loss case, in the order given.
#       e.g. bench/peers.sh -n 8 -l 0,10/3 ours:3 uftp:2 udpcast norm
#   bench/peers.sh table [RESULTS]    markdown table of the results (harness table.sh)
#   bench/peers.sh down               remove the harness's namespaces
#
# Environment:
#   FCAST_CLI         fcast entry point (default: this repository's bin/run.js; `npm run build` first)
#   FCAST_CLI_B       fcast entry point of peer oursb (e.g. a build of an older commit outside the tree)
#   FCAST_SEND_FLAGS  extra `fcast send` flags (default "--rate 1G --cycles 1 --code-rate 0.75 --n1 7";
#                     bench/multicast-peers.md, "fcast's templates and settings", says why)
#   FCAST_RECV_FLAGS  extra `fcast receive` flags (default "--timeout 100s")
#   HARNESS           the harness directory (default ../shared/bench beside this repository)
#   RESULTS           CSV the harness appends to (default ./bench-results.csv)
#   TIMEOUT           per-run cap in seconds (default 120; the harness allows at most 290)
#   and everything run.sh reads (BENCH_NS_PREFIX, BENCH_STATE_DIR, BENCH_WORK_DIR, RECV_SETTLE,
#   UFTP_*, UDPCAST_*, NORM_*, ...). Needs root (network namespaces).
set -uo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
HARNESS="${HARNESS:-$REPO/../shared/bench}"
[ -x "$HARNESS/run.sh" ] || { echo "peers.sh: no harness at $HARNESS (set HARNESS)" >&2; exit 2; }
export RESULTS="${RESULTS:-$PWD/bench-results.csv}"
export TIMEOUT="${TIMEOUT:-120}"

case "${1:-}" in
  table) exec "$HARNESS/table.sh" "${2:-$RESULTS}";;
  down) exec "$HARNESS/netns.sh" down;;
esac

N=8; LOSSES=0; SIZE=64
while getopts "n:l:s:" o; do
  case "$o" in
    n) N="$OPTARG";; l) LOSSES="$OPTARG";; s) SIZE="$OPTARG";;
    *) sed -n '11,19p' "$0" >&2; exit 2;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n '11,19p' "$0" >&2; exit 2; }

# fcast: a push session of one cycle. Every receiver is there from the start, so the first
# cycle sends all source symbols before any repair: a receiver without loss is done after the
# source pass; a lossy one takes what it misses from the repair pass (code rate 2/3 by default:
# room for ~30% loss, no feedback). N1 = 5 because with the default 3 the code's short
# codewords (two source and two staircase repair symbols) are sometimes all lost at 10% loss,
# and one cycle then leaves a block undecodable (bench/multicast-peers.md). "Done" is the
# verified file appearing under its final name (fcast renames it into place only after the
# SHA-256 check), as for uftp and NORM.
CLI="${FCAST_CLI:-$REPO/bin/run.js}"
# Every fcast receiver runs under /usr/bin/time, appending "user sys" to a file per run: the
# receivers' CPU seconds are the figure that decides the wall time when nine processes share
# two cores (run.sh only times the sender).
ours_templates() {   # ours_templates CLI CPU_FILE
    export OURS_SEND="node $1 send {file} --to {group}:{port} --iface {iface} --ttl 1 ${FCAST_SEND_FLAGS:---rate 1G --cycles 1 --code-rate 0.75 --n1 7}"
    export OURS_RECV="/usr/bin/time -a -o $2 -f '%U %S' node $1 receive {group}:{port} --iface {ip} -o {outdir} ${FCAST_RECV_FLAGS:---timeout 100s}"
}
export OURS_DONE="${OURS_DONE:-file}"
RECV_CPU="${RESULTS%.csv}.recv-cpu.csv"

# The peers' tuned settings (peers.md "Peer settings"); the environment overrides them.
export UFTP_RATE_KBPS="${UFTP_RATE_KBPS:-900000}" UFTP_BLOCK="${UFTP_BLOCK:-1300}"
export UDPCAST_BITRATE="${UDPCAST_BITRATE:-600m}"
export NORM_RATE_BPS="${NORM_RATE_BPS:-800e6}" NORM_CC="${NORM_CC:-1}"

declare -A RUNS
MAXR=1; PEERS=()
for spec in "$@"; do
  p="${spec%%:*}"; r=1; [[ "$spec" == *:* ]] && r="${spec#*:}"
  case "$p" in ours|uftp|udpcast|norm) ;; oursb) [ -n "${FCAST_CLI_B:-}" ] || { echo "peers.sh: oursb needs FCAST_CLI_B" >&2; exit 2; };;
    *) echo "peers.sh: unknown peer $p" >&2; exit 2;; esac
  [[ "$r" =~ ^[0-9]+$ ]] && [ "$r" -ge 1 ] || { echo "peers.sh: bad run count in $spec" >&2; exit 2; }
  PEERS+=("$p"); RUNS[$p]="$r"; [ "$r" -gt "$MAXR" ] && MAXR="$r"
done

IFS=',' read -r -a LOSS_LIST <<< "$LOSSES"
for ((round = 1; round <= MAXR; round++)); do
  for loss in "${LOSS_LIST[@]}"; do
    for p in "${PEERS[@]}"; do
      [ "${RUNS[$p]}" -ge "$round" ] || continue
      load="$(cut -d' ' -f1 /proc/loadavg)"
      echo "== round $round: $p n=$N loss=$loss ${SIZE}MB (load $load)" >&2
      peer="$p"; cpu=""
      if [ "$p" = ours ] || [ "$p" = oursb ]; then
        peer=ours; cpu="$(mktemp)"
        if [ "$p" = ours ]; then ours_templates "$CLI" "$cpu"; else ours_templates "$FCAST_CLI_B" "$cpu"; fi
      fi
      # the harness bounds the transfer by TIMEOUT; this outer bound also covers its set-up and teardown
      timeout $((TIMEOUT + 60)) "$HARNESS/run.sh" "$peer" "$N" "$loss" "$SIZE" || echo "$p,$N,$loss,$SIZE,NA,NA,NA,0 (run.sh rc=$?)"
      if [ -n "$cpu" ]; then
        # receivers killed by the harness write no line: count says how many finished on their own
        stats="$(awk '/^[0-9.]+ [0-9.]+$/ { c = $1 + $2; s += c; if (c > m) m = c; n++ } END { if (n) printf "%.2f,%.2f,%d", s / n, m, n; else print "NA,NA,0" }' "$cpu")"
        [ -f "$RECV_CPU" ] || echo "peer,cli,n,loss,size_mb,recv_cpu_mean_s,recv_cpu_max_s,receivers_timed,load,time" > "$RECV_CPU"
        cli="$CLI"; [ "$p" = oursb ] && cli="$FCAST_CLI_B"
        echo "$p,$cli,$N,$loss,$SIZE,$stats,$load,$(date -Is)" >> "$RECV_CPU"
        echo "== $p receiver CPU s (mean,max,timed): $stats" >&2
        rm -f "$cpu"
      fi
    done
  done
done
