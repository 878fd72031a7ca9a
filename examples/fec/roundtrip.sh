#!/usr/bin/env bash
# `fcast fec` round trip on one LDPC-Staircase block (RFC 5170): make a source block, encode it,
# lose 20% of the encoding symbols at random, decode from the rest, compare.
#   examples/fec/roundtrip.sh [K] [E]     (run `npm run build` once first)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fcast=(node "$here/../../bin/run.js")
k="${1:-1000}"; e="${2:-1024}"; n=$(( k * 3 / 2 ))
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"

head -c $(( k * e )) /dev/urandom > block.bin
"${fcast[@]}" fec encode --k "$k" --n "$n" --n1 3 --seed 7 --symbol-size "$e" --in block.bin --out repair.bin

# Keep each of the n encoding symbols with probability 0.8, in a shuffled order: ESIs as
# little-endian uint32 in received.u32, the symbols in the same order in received.bin.
node --input-type=module - "$k" "$n" "$e" <<'JS'
import { readFileSync, writeFileSync } from 'node:fs';
const [k, n, e] = process.argv.slice(2).map(Number);
const all = Buffer.concat([readFileSync('block.bin'), readFileSync('repair.bin')]);
const esis = [];
for (let i = 0; i < n; i++) if (Math.random() < 0.8) esis.push(i);
for (let i = esis.length - 1; i > 0; i--) { const j = Math.floor(Math.random() * (i + 1)); [esis[i], esis[j]] = [esis[j], esis[i]]; }
const ids = Buffer.alloc(4 * esis.length);
esis.forEach((esi, i) => ids.writeUInt32LE(esi, 4 * i));
writeFileSync('received.u32', ids);
writeFileSync('received.bin', Buffer.concat(esis.map((esi) => all.subarray(esi * e, (esi + 1) * e))));
console.log(`kept ${esis.length} of ${n} encoding symbols (${(esis.length / k).toFixed(3)} k)`);
JS

status=0
"${fcast[@]}" fec decode --k "$k" --n "$n" --n1 3 --seed 7 --symbol-size "$e" \
  --esis received.u32 --symbols received.bin --out decoded.bin || status=$?
if [ "$status" -eq 3 ]; then echo "not decodable from this sample (exit 3): try again"; exit 3; fi
cmp block.bin decoded.bin && echo "decoded block is identical to the source"
