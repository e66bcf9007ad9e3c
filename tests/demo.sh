#!/usr/bin/env bash
# demo.sh - run a lesson's server and client on loopback, traces on the terminal.
# Usage: tests/demo.sh BUILD_DIR_OF_LESSON   (make demo runs it for lesson 06)
set -euo pipefail
dir=${1:-build/06-close}
out=$(mktemp)
trap 'kill "$spid" 2>/dev/null || true; rm -f "$out"' EXIT

# Port 0: the kernel picks a free port and the server prints it on stdout.
# Each program's data lines (stdout) get its name and '>' in front, like its
# trace; both streams share one pipe so the lines keep their order.
mark() { sed -u "s/^\(listening on\|received: \|sent: \|接收：\|发送：\)/[$1] > \1/"; }
"$dir/server" 0 2>&1 | tee "$out" | mark server &
spid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "demo: the server did not start listening" >&2; exit 1; }

"$dir/client" -n "${DEMO_COUNT:-3}" -i "${DEMO_INTERVAL:-0.3}" 127.0.0.1 "$port" 2>&1 | mark client
wait "$spid"
# In the student handout (tools/check.py) lessons are checked with make check.
if [ -f "$(dirname "$0")/../tools/check.py" ]; then
    echo "demo: done - both programs exited 0. Run 'make check' to check your lessons."
else
    echo "demo: done - both programs exited 0. Run 'make test' to check every lesson."
fi
