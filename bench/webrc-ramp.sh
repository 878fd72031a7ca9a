#!/bin/bash
# webrc-ramp.sh SECONDS [send flags...]: how long a WEBRC receiver takes to reach 50% and 90% of
# --rate on a path that takes it all (issue 5; fcast-send(1) WEBRC). One on-demand `fcast send`
# of a 64 MB file (default rate control, so WEBRC with fcast's parameters unless the flags say),
# one `fcast receive` with FCAST_WEBRC_TRACE; from the trace: the first epoch at 50% / 90% of
# SR_P, the start-up exit, merged epochs; from --json: completion time. Env: RATE (default 100M);
# LATE=S adds a second receiver S s after the first (prints its completion time); NS=PREFIX runs
# the sender in PREFIX-s and the receivers in PREFIX-r1, -r2 (../shared/bench/netns.sh up 2 with
# BENCH_NS_PREFIX=PREFIX), else loopback. Build first (npm run build). Bounded by SECONDS.
# The receiver's CPU (user + system s, /usr/bin/time) is printed; FCAST_RECV_PATH=dgram makes the
# receivers read with node:dgram (the path before the native one, for an A/B).
# Run under flock /tmp/fcast-bench.lock on a shared machine; the load average is printed.
set -u
secs=${1:?usage: webrc-ramp.sh SECONDS [send flags...]}; shift
root="$(cd "$(dirname "$0")/.." && pwd)"
rate=${RATE:-100M}
w=$(mktemp -d /tmp/fcast-webrc-ramp-XXXXXX)
# KEEP=1 keeps the work directory (traces t.jsonl, t2.jsonl; summaries) and prints it.
if [ -n "${KEEP:-}" ]; then trap 'rm -f "$w/64MB"; rm -rf "$w/out" "$w/out2"; echo "kept $w"' EXIT; else trap 'rm -rf "$w"' EXIT; fi
head -c 67108864 /dev/urandom > "$w/64MB"
# On disk before the send: its writeback would otherwise run beside the measured receive.
sync "$w/64MB"
mkdir -p "$w/out" "$w/out2"
if [ -n "${NS:-}" ]; then
  sx="ip netns exec $NS-s"; rx="ip netns exec $NS-r1"; rx2="ip netns exec $NS-r2"; is=10.77.0.1; ir=10.77.0.11; ir2=10.77.0.12; ttl=1
else
  sx=""; rx=""; rx2=""; is=127.0.0.1; ir=127.0.0.1; ir2=127.0.0.1; ttl=0
fi
$sx node "$root/bin/run.js" send "$w/64MB" --to 239.255.77.128:47780 --rate "$rate" --mode on-demand --duration "${secs}s" \
  --session-file "$w/s.json" --iface $is --ttl $ttl "$@" > "$w/send.log" 2>&1 &
spid=$!
for _ in $(seq 50); do [ -s "$w/s.json" ] && break; sleep 0.1; done
if [ -n "${LATE:-}" ]; then
  (sleep "$LATE"; FCAST_WEBRC_TRACE="$w/t2.jsonl" $rx2 node "$root/bin/run.js" receive "$w/s.json" --iface $ir2 -o "$w/out2" --timeout "${secs}s" --json > "$w/recv2.json" 2>&1) &
  lpid=$!
fi
FCAST_WEBRC_TRACE="$w/t.jsonl" $rx /usr/bin/time -f '%U %S' -o "$w/cpu" node "$root/bin/run.js" receive "$w/s.json" --iface $ir -o "$w/out" --timeout "${secs}s" --json > "$w/recv.json" 2>&1
[ -n "${LATE:-}" ] && wait "$lpid"
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
node - "$w" "$rate" "${LATE:-}" <<'JS'
const { readFileSync, existsSync } = require('node:fs');
const [w, rate, late] = process.argv.slice(2);
const desc = JSON.parse(readFileSync(`${w}/s.json`, 'utf8'));
const srP = desc.rate.bitsPerSecond / (8 * (desc.rate.params?.LENP_B ?? 1476));
const ev = existsSync(`${w}/t.jsonl`) ? readFileSync(`${w}/t.jsonl`, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
const epochs = ev.filter((e) => e.kind === 'epoch');
const first = (f) => { const e = epochs.find((x) => x.rr >= f * srP); return e === undefined ? '-' : (e.t / 1000).toFixed(1); };
const exit = ev.find((e) => e.kind === 'slow-start-exit');
const merged = epochs.reduce((n, e) => n + (e.span ?? 1) - 1, 0);
const summary = (f) => { try { const j = JSON.parse(readFileSync(f, 'utf8')); return `${j.status} in ${(j.elapsedMs / 1000).toFixed(1)} s, layers ${j.webrc?.layers}`; } catch { return 'no summary'; } };
const cpu = () => { try { return readFileSync(`${w}/cpu`, 'utf8').trim().split(/\s+/).slice(-2).map(Number).reduce((a, b) => a + b).toFixed(2); } catch { return '?'; } };
const path = () => { try { return JSON.parse(readFileSync(`${w}/recv.json`, 'utf8')).recvPath ?? '?'; } catch { return '?'; } };
console.log(`${rate} ${desc.rate.control}${desc.rate.params ? ` P ${desc.rate.params.P} BCR_P ${desc.rate.params.BCR_P} TSD ${desc.rate.params.TSD} N ${desc.rate.params.N}` : ''}: ` +
  `50% at ${first(0.5)} s, 90% at ${first(0.9)} s; start-up exit ${exit ? `${exit.rule} at ${(exit.t / 1000).toFixed(1)} s, TRR ${(100 * exit.trr / srP).toFixed(0)}%` : 'none'}; ` +
  `epochs merged ${merged}; receiver ${summary(`${w}/recv.json`)}, ${cpu()} CPU-s, path ${path()}${late ? `; late receiver (+${late} s) ${summary(`${w}/recv2.json`)}` : ''}; load ${require('node:os').loadavg().map((x) => x.toFixed(1)).join(' ')}`);
JS
