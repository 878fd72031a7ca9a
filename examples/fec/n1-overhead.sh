#!/bin/sh
# n1-overhead.sh [K] [E]: what N1 costs and buys on one LDPC-Staircase block (RFC 5170):
# `fcast fec bench` at N1 = 3, 5 and 7 (k = K source symbols of E bytes, n = 1.5 k), one line
# each: mean and worst symbols/k the full decoder needed over 30 reception orders, and the
# encode and ML decode speeds. fcast send uses N1 = 5 (fcast-send(1), DEFAULTS).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
FCAST=${FCAST:-"node $here/../../bin/run.js"}
K=${1:-1000}
E=${2:-1024}
for n1 in 3 5 7; do
  $FCAST fec bench --k "$K" --symbol-size "$E" --n1 "$n1" --trials 3 --json | node -e '
    let t = ""; process.stdin.on("data", (d) => (t += d)).on("end", () => {
      const r = JSON.parse(t);
      const mbs = (m) => (m === undefined ? "-" : m.mbps.toFixed(0));
      console.log(`N1=${r.n1}  symbols/k mean ${r.overhead.meanReceivedOverK.toFixed(4)} max ${r.overhead.maxReceivedOverK.toFixed(4)}  encode ${mbs(r.encode)} MB/s  ML decode ${mbs(r.ml)} MB/s`);
    });'
done
