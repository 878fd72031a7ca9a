#!/bin/sh
# check-host.sh [SESSION]: is this machine ready to receive fcast sessions? Runs `fcast doctor
# --json` (and, with SESSION, whether that session's packets reach this host) and prints one
# line per check that failed, with the reason. Exit 0 when every required check passed, 1 if
# not, 2 when fcast itself could not run. A fleet rollout can run it on each host first.
set -u
here=$(cd "$(dirname "$0")" && pwd)
FCAST=${FCAST:-"node $here/../../bin/run.js"}
out=$($FCAST doctor ${1:+"$1"} --json) || [ -n "$out" ] || exit 2
printf '%s\n' "$out" | node -e '
  let t = ""; process.stdin.on("data", (d) => (t += d)).on("end", () => {
    const r = JSON.parse(t);
    for (const c of r.checks ?? []) if (!c.ok) console.log(`${c.required ? "FAIL" : "warn"} ${c.check}: ${c.detail}`);
    console.log(r.summary ?? "");
    process.exit(r.ok ? 0 : 1);
  });'
