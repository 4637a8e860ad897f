#!/bin/sh
# The local stack's restart policy for one process, started by tools/stack/supervisor.ts:
# runs the command, and when it exits without having been asked to stop, runs it again
# after a pause that doubles from 1 s up to 30 s (back to 1 s after a run of a minute or
# more), as Kubernetes does for restartPolicy: Always.
#
#   watchdog.sh STATE_FILE COMMAND [ARG...]
#
# STATE_FILE always holds one JSON line: the command's current pid (null between runs),
# the restarts so far and the last unexpected exit; `npm run stack -- status` shows them.
# A shell rather than a Node process: a dozen of these cost a few hundred kilobytes.
#
# Stopping: signal the process group (the supervisor does). The command gets the signal
# and exits; the shell runs its trap once the command has exited (a foreground command
# defers traps), sees it was asked to stop, and ends too. A kill of the command alone
# (kill -9 <pid>, a crash, an OOM kill) is what gets restarted.
state=$1
shift
stopping=0
trap 'stopping=1' TERM INT HUP QUIT
restarts=0
backoff=${SHOP_WATCHDOG_FIRST_BACKOFF_S:-1}
last_exit=
last_at=

write_state() {
  printf '{"pid":%s,"restarts":%s,"lastExit":"%s","lastExitAt":"%s"}\n' "$1" "$restarts" "$last_exit" "$last_at" >"$state.tmp" && mv -f "$state.tmp" "$state"
}

while :; do
  started=$(date +%s)
  # The command replaces a small shell that first records its pid (the command's own,
  # since exec keeps it): a test's kill -9 of that pid hits the command itself.
  sh -c 'state=$1 restarts=$2 last_exit=$3 last_at=$4; shift 4
printf "{\"pid\":%s,\"restarts\":%s,\"lastExit\":\"%s\",\"lastExitAt\":\"%s\"}\n" "$$" "$restarts" "$last_exit" "$last_at" >"$state.tmp" && mv -f "$state.tmp" "$state"
exec "$@"' watchdog "$state" "$restarts" "$last_exit" "$last_at" "$@"
  code=$?
  if [ "$stopping" = 1 ]; then
    write_state null
    exit 0
  fi
  if [ "$code" -gt 128 ]; then
    last_exit="killed by SIG$(kill -l $((code - 128)))"
  else
    last_exit="exit code $code"
  fi
  last_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  ran=$(($(date +%s) - started))
  if [ "$ran" -ge 60 ]; then backoff=${SHOP_WATCHDOG_FIRST_BACKOFF_S:-1}; fi
  restarts=$((restarts + 1))
  write_state null
  # Not the supervisor's "--- [stack]" start mark: `stack problems` reads the log from that mark, and
  # the lines before this one say why the process died.
  echo "[stack] watchdog: $last_at exited unexpectedly ($last_exit) after ${ran}s; restart #$restarts in ${backoff}s"
  sleep "$backoff"
  if [ "$stopping" = 1 ]; then exit 0; fi
  backoff=$((backoff * 2))
  if [ "$backoff" -gt 30 ]; then backoff=30; fi
done
