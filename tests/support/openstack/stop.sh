#!/bin/bash
# Stop the services start.sh started under BASE (by pid file only) and remove
# BASE. Safe to run twice, and on a half-started stack.
# Usage: stop.sh BASE [--keep]   (--keep: leave the state, e.g. to read logs)
B=${1:?usage: stop.sh BASE [--keep]}
[ -f "$B/.vmbuild-openstack-test" ] || { echo "stop.sh: $B is not a test stack" >&2; exit 0; }
pids=()
for f in glance-api.pid keystone.pid; do
  p=$(cat "$B/run/$f" 2>/dev/null) || continue
  [ -n "$p" ] && kill -TERM "$p" 2>/dev/null && pids+=("$p")
done
for _ in $(seq 50); do
  alive=0
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  sleep 0.1
done
for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
[ "${2:-}" = --keep ] || rm -rf "$B"
exit 0
