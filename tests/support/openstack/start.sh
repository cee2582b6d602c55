#!/bin/bash
# Start a throwaway Keystone (uwsgi) + Glance API (file store) on loopback for
# vmbuild's tests. Needs Debian's keystone, glance-api, uwsgi,
# uwsgi-plugin-python3, curl, python3 (scripts/deps/openstack.txt).
#
# Usage: start.sh BASE KEYSTONE_PORT GLANCE_PORT
#   BASE must not exist or be empty; everything (configs, sqlite, images, logs,
#   pid files) lives under it, so parallel runs with other ports do not clash.
# Writes BASE/clouds.yaml with clouds `test` (password) and `test-appcred`
# (application credential). Stop with stop.sh BASE.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
B=${1:?usage: start.sh BASE KEYSTONE_PORT GLANCE_PORT}
KS_PORT=${2:?keystone port}
GL_PORT=${3:?glance port}
mkdir -p "$B"
[ -z "$(ls -A "$B")" ] || { echo "start.sh: $B is not empty" >&2; exit 2; }
B=$(cd "$B" && pwd)
touch "$B/.vmbuild-openstack-test"
mkdir -p "$B/etc" "$B/log" "$B/run" "$B/images" "$B/staging" "$B/locks"
for f in keystone.conf keystone-uwsgi.ini glance-api.conf glance-api-paste.ini; do
  sed -e "s|@BASE@|$B|g" -e "s|@KS_PORT@|$KS_PORT|g" -e "s|@GL_PORT@|$GL_PORT|g" \
    "$HERE/$f" > "$B/etc/$f"
done
printf '%s\n%s\n' "$KS_PORT" "$GL_PORT" > "$B/run/ports"

fail() { echo "start.sh: $*" >&2; tail -n 30 "$B"/log/*.log "$B"/log/*.err 2>/dev/null >&2 || true; exit 1; }
# wait_http URL: until it answers 200, at most 90 s
wait_http() {
  for _ in $(seq 900); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
    sleep 0.1
  done
  fail "$1 did not answer 200 within 90 s"
}

KM="keystone-manage --config-file $B/etc/keystone.conf"
KS=http://127.0.0.1:$KS_PORT/v3
$KM db_sync 2>>"$B/log/keystone-manage.err" || fail "keystone db_sync"
# without WAL, sqlite writes fail with "database is locked" (HTTP 500)
python3 -c "import sqlite3,sys;sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode=WAL')" "$B/keystone.db"
$KM fernet_setup --keystone-user root --keystone-group root 2>>"$B/log/keystone-manage.err"
$KM credential_setup --keystone-user root --keystone-group root 2>>"$B/log/keystone-manage.err"
$KM bootstrap --bootstrap-password secret --bootstrap-username admin --bootstrap-project-name admin \
  --bootstrap-role-name admin --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
  --bootstrap-admin-url "$KS/" --bootstrap-internal-url "$KS/" --bootstrap-public-url "$KS/" \
  2>>"$B/log/keystone-manage.err" || fail "keystone bootstrap"
uwsgi --ini "$B/etc/keystone-uwsgi.ini" --daemonize2 "$B/log/keystone-uwsgi.log" 2>/dev/null
wait_http "$KS/"

AUTH='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"secret"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}'
TOKEN=$(curl -sf -D - -o "$B/run/token.json" -H 'Content-Type: application/json' -d "$AUTH" "$KS/auth/tokens" \
  | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r')
[ -n "$TOKEN" ] || fail "no admin token"
j() { python3 -c "import json,sys;print(json.load(sys.stdin)$1)"; }
post() { curl -sf -X POST -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' -d "$2" "$KS/$1"; }
ADMIN_ID=$(j "['token']['user']['id']" < "$B/run/token.json")
PID=$(post projects '{"project":{"name":"service","domain_id":"default"}}' | j "['project']['id']")
GUID=$(post users '{"user":{"name":"glance","domain_id":"default","password":"glancepass"}}' | j "['user']['id']")
RID=$(curl -sf -H "X-Auth-Token: $TOKEN" "$KS/roles?name=admin" | j "['roles'][0]['id']")
curl -sf -X PUT -H "X-Auth-Token: $TOKEN" "$KS/projects/$PID/users/$GUID/roles/$RID"
SID=$(post services '{"service":{"name":"glance","type":"image"}}' | j "['service']['id']")
for i in public internal admin; do
  post endpoints "{\"endpoint\":{\"service_id\":\"$SID\",\"interface\":\"$i\",\"region_id\":\"RegionOne\",\"url\":\"http://127.0.0.1:$GL_PORT\"}}" >/dev/null
done
post "users/$ADMIN_ID/application_credentials" '{"application_credential":{"name":"vmbuild-test"}}' > "$B/run/appcred.json"
AC_ID=$(j "['application_credential']['id']" < "$B/run/appcred.json")
AC_SECRET=$(j "['application_credential']['secret']" < "$B/run/appcred.json")

glance-manage --config-file "$B/etc/glance-api.conf" db_sync > "$B/log/glance-manage.log" 2>&1 || fail "glance db_sync"
python3 -c "import sqlite3,sys;sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode=WAL')" "$B/glance.db"
"$HERE/glance-start.sh" "$B"

cat > "$B/clouds.yaml" <<Y
clouds:
  test:
    auth:
      auth_url: http://127.0.0.1:$KS_PORT
      username: admin
      password: secret
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
  test-appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: http://127.0.0.1:$KS_PORT/v3
      application_credential_id: $AC_ID
      application_credential_secret: $AC_SECRET
    region_name: RegionOne
Y
echo "keystone 127.0.0.1:$KS_PORT pid $(cat "$B/run/keystone.pid"), glance 127.0.0.1:$GL_PORT pid $(cat "$B/run/glance-api.pid")"
