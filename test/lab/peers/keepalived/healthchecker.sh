#!/bin/sh
# keepalived's health checker for one real server, run beside keepalived because keepalived's own
# (virtual_server) needs IPVS, which this kernel lacks. Same semantics: every DELAY_LOOP seconds
# run the check under TIMEOUT; a failure is retried RETRY times, DELAY_BEFORE_RETRY seconds apart;
# a server that stays down runs NOTIFY_DOWN once (keepalived runs it on the transition to down).
# usage: healthchecker.sh DELAY_LOOP TIMEOUT RETRY DELAY_BEFORE_RETRY NOTIFY_DOWN CHECK [ARG...]
set -u
delay_loop=$1 timeout=$2 retry=$3 delay_before_retry=$4 notify_down=$5
shift 5
while :; do
  sleep "$delay_loop"
  tries=0
  until timeout "$timeout" "$@" >/dev/null 2>&1; do
    if [ "$tries" -ge "$retry" ]; then
      echo "$(date -Is) check '$*' failed after $retry retry: running $notify_down"
      exec "$notify_down"
    fi
    tries=$((tries + 1))
    sleep "$delay_before_retry"
  done
done
