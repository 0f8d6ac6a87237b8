#!/usr/bin/env bash
# Review 12: SIGTERM to `make up` (what `timeout`-less scripts, `kill $!`, CI cancellation and IDE
# stop buttons send to the one process they started) stops make and `go run`, not the demo: it keeps
# the API and sign-in ports, moto and the hook, and the next `make up` fails with "address already
# in use". Exits 1 while the break is there. Run from the repository's root; uses its own ports.
set -u
api=127.0.0.1:28080 op=127.0.0.1:29998
setsid make up DEMO_FLAGS="-api-addr $api -op-addr $op" > /tmp/review12-up.log 2>&1 &
leader=$!
for _ in $(seq 120); do grep -q '^Ready in' /tmp/review12-up.log && break; sleep 1; done
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
