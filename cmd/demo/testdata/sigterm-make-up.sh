#!/usr/bin/env bash
# SIGTERM to `make up` (what `kill $!` in a script, a CI cancel or an IDE's stop button send to the
# one process they started) must stop everything make up started. It once stopped make and `go run`
# only, leaving the demo (the API and sign-in ports), moto and the hook running (found in review).
# Exits 1 if anything is left. Run from the repository's root; uses its own ports (API_ADDR, OP_ADDR).
set -u
log=$(mktemp)
trap 'rm -f "$log"' EXIT
api=${API_ADDR:-127.0.0.1:28080} op=${OP_ADDR:-127.0.0.1:29998}
setsid make up DEMO_FLAGS="-api-addr $api -op-addr $op" > "$log" 2>&1 &
leader=$!
for _ in $(seq 120); do grep -q '^Ready in' "$log" && break; sleep 1; done
make=$(pgrep -s "$leader" -x make)
kill -TERM "$make"            # only the process the caller started, as a script's `kill $!` does
sleep 5
left=$(pgrep -s "$leader" -a)   # what is still running in that session
if [ -n "$left" ]; then
  echo "left behind after SIGTERM to make (pid $make):"; echo "$left"; ss -ltnp | grep -E "${api##*:}|${op##*:}"
  for pid in $(pgrep -s "$leader" -x demo); do kill -INT "$pid"; done   # clean up: the demo stops its children on SIGINT
  exit 1
fi
echo "nothing left behind"
