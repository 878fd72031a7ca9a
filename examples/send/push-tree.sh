#!/bin/sh
# Push a directory tree to a multicast group once (push mode), writing the session description
# next to it so receivers can use it: fcast receive DIR.sdp -o OUT
#   examples/send/push-tree.sh DIR GROUP:PORT [IFACE] [RATE]
# Run from a checkout it uses this checkout's bin/run.js; set FCAST=fcast for an installed one.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 DIR GROUP:PORT [IFACE] [RATE]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
FCAST=${FCAST:-node "$here/../../bin/run.js"}
dir=$1; to=$2; iface=${3:-}; rate=${4:-100M}
sdp="$(basename "$dir").sdp"
# shellcheck disable=SC2086
$FCAST send "$dir" --to "$to" ${iface:+--iface "$iface"} --rate "$rate" --cycles 2 --session-file "$sdp"
echo "session description: $sdp"
