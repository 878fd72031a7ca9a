#!/bin/sh
# make-keys.sh - identities for one sender and N receivers, plus the sender's allow-list.
#
#   examples/keygen/make-keys.sh [DIR] [N]      (default DIR=./fcast-keys, N=3)
#
# Writes DIR/sender.key(.pub), DIR/receiver-1.key(.pub) ... DIR/receiver-N.key(.pub),
# DIR/allow-list.txt (one receiver public key per line, "ed25519:<base64url>", the form
# `fcast keygen` prints) and DIR/receivers.txt ("<name> ed25519:<key>" per line).
# Existing keys are kept (keygen refuses to overwrite them), so the script can be re-run to add
# receivers. FCAST names the fcast command (default: this checkout's bin/run.js).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
FCAST=${FCAST:-"node $here/../../bin/run.js"}
dir=${1:-./fcast-keys}
n=${2:-3}
case "$n" in ''|*[!0-9]*) echo "make-keys.sh: N must be a number" >&2; exit 2;; esac

mkdir -p "$dir"
chmod 700 "$dir"

# Public key of DIR/NAME.key in ed25519:<base64url> form, creating the pair if missing.
pubkey() {
    if [ ! -f "$dir/$1.key" ]; then
        $FCAST keygen --out "$dir/$1.key" >/dev/null
    fi
    # The raw 32-byte key in base64url (JWK "x"), as keygen prints it.
    node -e 'const c = require("node:crypto"), fs = require("node:fs");
      process.stdout.write("ed25519:" + c.createPublicKey(fs.readFileSync(process.argv[1])).export({ format: "jwk" }).x)' "$dir/$1.key.pub"
}

echo "sender   $(pubkey sender)"
: > "$dir/allow-list.txt"
: > "$dir/receivers.txt"
i=1
while [ "$i" -le "$n" ]; do
    key=$(pubkey "receiver-$i")
    echo "$key" >> "$dir/allow-list.txt"
    echo "receiver-$i $key" >> "$dir/receivers.txt"
    echo "receiver-$i $key"
    i=$((i + 1))
done
echo "wrote $dir/allow-list.txt ($n receivers)"
