#!/bin/sh
# Receive a session into DIR and print what arrived, one line per file, from the --json summary.
#   examples/receive/receive-and-check.sh 239.255.1.2:4000 ./inbox 10m
# SESSION may also be a session file or an http(s) URL; a WEBRC session (fcast send --mode
# on-demand's default when it publishes a description) needs one of those: its bare GROUP:PORT
# is only the base channel.
# Exit status is fcast receive's:
# 0 all verified, 3 session closed with objects missing, 4 timeout.
set -eu
SESSION=${1:?usage: $0 SESSION DIR [TIMEOUT]}
DIR=${2:?usage: $0 SESSION DIR [TIMEOUT]}
TIMEOUT=${3:-10m}
HERE=$(cd "$(dirname "$0")" && pwd)
FCAST=${FCAST:-node "$HERE/../../bin/run.js"}
status=0
$FCAST receive "$SESSION" --output "$DIR" --timeout "$TIMEOUT" --json > "$DIR.summary.json" || status=$?
node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
for (const o of s.objects ?? []) if (o.path) console.log(`${o.state.padEnd(9)} ${o.path} ${o.bytes ?? 0} bytes, symbols/k ${o.k ? (o.symbols / o.k).toFixed(3) : "-"}`);
for (const m of s.missing ?? []) console.log(`missing   ${m.path ?? "TOI " + m.toi} (${m.phase}${m.rejectCode ? ", " + m.rejectCode : ""})`);
console.log(`status: ${s.status ?? s.error?.code}`);
' "$DIR.summary.json"
exit $status
