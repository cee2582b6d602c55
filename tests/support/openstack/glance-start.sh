#!/bin/bash
# (Re)start only the Glance API of a stack made by start.sh, on its state.
# Usage: glance-start.sh BASE
set -euo pipefail
B=${1:?usage: glance-start.sh BASE}
GL_PORT=$(sed -n 2p "$B/run/ports")
setsid nohup glance-api --config-file "$B/etc/glance-api.conf" >> "$B/log/glance-api.stdout" 2>&1 < /dev/null &
echo $! > "$B/run/glance-api.pid"
for _ in $(seq 900); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GL_PORT/healthcheck")" = 200 ] && exit 0
  kill -0 "$(cat "$B/run/glance-api.pid")" 2>/dev/null || break
  sleep 0.1
done
echo "glance-start.sh: glance-api did not come up on 127.0.0.1:$GL_PORT" >&2
tail -n 30 "$B/log/glance-api.log" "$B/log/glance-api.stdout" >&2 2>/dev/null || true
exit 1
