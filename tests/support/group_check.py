#!/usr/bin/env python3
"""Checks group data on a booted vmbuild appliance from outside: the
[[groups]] folders and the S3 buckets of [[data.s3]] (issue 14), used by hub
users through their servers, and the bucket seen through the S3 API.

usage: group_check.py --hub https://127.0.0.1:8443 --fingerprint SHA256
           --admin admin --admin-password PW
           --ssh 127.0.0.1:2222 --owner-user sysadmin --owner-key FILE
           --s3 FILE --group physics --members alice,bob --outsider carol --also chem
           --private physics=physics-data --public reference=reference-data
           --public-object readme.txt=TEXT [--s3-root /srv/data]
           [--install-credentials] [--phase all|after-reboot]

  --hub, --fingerprint   the hub over HTTPS and its certificate's SHA-256
  --admin, --admin-password   a hub admin and its password
  --ssh, --owner-user, --owner-key   the owner's SSH account (sudo): it
                         changes the group with `tljh-config set` (what
                         `vmbuild hub set` runs) and looks at the unix side
  --s3                   the S3 server's JSON (endpoint and key, as
                         tests/support/s3_server.py writes it)
  --group, --members     a group of vmbuild.toml and its members there
  --outsider             a hub user in no group
  --also                 a second group the first member is in
  --private NAME=BUCKET  the group's bucket (read = write = [group], rw)
  --public NAME=BUCKET   a bucket every user reads (ro), holding the object
                         of --public-object KEY=TEXT
  --install-credentials  the image shipped without S3 credentials (the
                         default): check that, then give this machine its
                         own (/etc/vmbuild/s3/NAME.passwd over the owner's
                         SSH, on stdin) and start the mounts, as the README
                         tells owners to
  --phase                `all` (default: users sign up, every check) or
                         `after-reboot` (the mounts are back; run after
                         `all` and a reboot, with the same arguments)

Every check prints `CHECK name: ok|FAILED detail`; exit 1 on the first
failure, 0 when all pass. Needs `requests`, `websocket-client` and `boto3`
(tests/support/s3.rs makes a venv with them), `ssh` on the host.
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid

import boto3
import websocket

import pinned

P = argparse.ArgumentParser(description="check group folders and S3 buckets on an appliance")
for flag in ("--hub", "--fingerprint", "--admin", "--admin-password", "--ssh", "--owner-user",
             "--owner-key", "--s3", "--group", "--members", "--outsider", "--private", "--public",
             "--public-object", "--also"):
    P.add_argument(flag, required=True)
P.add_argument("--s3-root", default="/srv/data")
P.add_argument("--phase", choices=("all", "after-reboot"), default="all")
P.add_argument("--install-credentials", action="store_true")
A = P.parse_args()
SSH_HOST, SSH_PORT = A.ssh.rsplit(":", 1)
MEMBERS = A.members.split(",")
FIRST, SECOND = MEMBERS[0], MEMBERS[1]
OUT = A.outsider
PRIVATE, PRIVATE_BUCKET = A.private.split("=", 1)
PUBLIC, PUBLIC_BUCKET = A.public.split("=", 1)
PUBLIC_KEY, PUBLIC_TEXT = A.public_object.split("=", 1)
FOLDER = f"/srv/groups/{A.group}"
PRIV_DIR, PUB_DIR = f"{A.s3_root}/{PRIVATE}", f"{A.s3_root}/{PUBLIC}"
with open(A.s3) as f:
    S3 = json.load(f)
T0 = time.time()


def check(name, ok, detail=""):
    print(f"CHECK {name}: {'ok' if ok else 'FAILED'} {detail}".rstrip(), flush=True)
    if not ok:
        sys.exit(1)


def owner(command, stdin=None):
    """`command` as root on the appliance over the owner's SSH: (rc, output)."""
    r = subprocess.run(
        ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
         "-o", "ConnectTimeout=30", "-i", A.owner_key, "-p", SSH_PORT,
         f"{A.owner_user}@{SSH_HOST}", f"sudo -n sh -c {shlex.quote(command)}"],
        input=stdin or "", capture_output=True, text=True, timeout=300)
    return r.returncode, (r.stdout + r.stderr).strip()


def wait_for(what, probe, limit=90):
    t = time.time()
    while True:
        ok, detail = probe()
        if ok or time.time() - t > limit:
            check(what, ok, detail)
            return time.time() - t
        time.sleep(3)


HTTP = pinned.session(A.fingerprint)
WS_SSL, WS_CHECK = pinned.websocket_options(A.fingerprint)


def xsrf_of(session, text):
    m = re.search(r'name="_xsrf"\s+value="([^"]+)"', text)
    return m.group(1) if m else session.cookies.get("_xsrf")


def login(name, password):
    s = pinned.session(A.fingerprint)
    page = s.get(A.hub + "/hub/login", timeout=60)
    r = s.post(A.hub + "/hub/login?next=", allow_redirects=False, timeout=120,
               data={"username": name, "password": password, "_xsrf": xsrf_of(s, page.text)})
    ok = r.status_code == 302 and "/login" not in r.headers.get("Location", "")
    return s, ok


def token(s, name):
    r = s.post(A.hub + f"/hub/api/users/{name}/tokens", timeout=60,
               headers={"X-XSRFToken": s.cookies.get("_xsrf") or "", "Referer": A.hub + "/hub/token"},
               json={"note": "group check", "expires_in": 3600})
    check(f"{name}: API token", r.status_code in (200, 201), f"HTTP {r.status_code}")
    return {"Authorization": "token " + r.json()["token"]}


def user_api(h, name, method="GET", path=""):
    return HTTP.request(method, A.hub + f"/hub/api/users/{name}{path}", headers=h, timeout=120)


def request_spawn(name, h):
    """Ask for `name`'s server; returns when it was asked (or is running)."""
    if user_api(h, name).json().get("servers", {}).get("", {}).get("ready"):
        return time.time()
    r = user_api(h, name, "POST", "/server")
    check(f"{name}: spawn requested", r.status_code in (201, 202), f"HTTP {r.status_code} {r.text[:200]}")
    return time.time()


def wait_spawned(name, h, since):
    deadline = time.time() + 600
    while time.time() < deadline:
        srv = user_api(h, name).json().get("servers", {}).get("", {})
        if srv.get("ready"):
            break
        if not srv:
            check(f"{name}: spawn", False, "the server went away (see the hub's journal)")
        time.sleep(2)
    else:
        check(f"{name}: spawn", False, "not ready after 600 s")
    print(f"MEASURED {name} server start: {time.time() - since:.0f} s", flush=True)


def spawn_all(names):
    """Start the servers of `names` at once (each is mostly waiting on the
    guest) and open a kernel in each."""
    asked = {name: request_spawn(name, H[name]) for name in names}
    for name in names:
        wait_spawned(name, H[name], asked[name])
        K[name] = Kernel(name, H[name])


def stop(name, h):
    user_api(h, name, "DELETE", "/server")
    deadline = time.time() + 300
    while user_api(h, name).json().get("servers", {}) and time.time() < deadline:
        time.sleep(2)


class Kernel:
    """A python3 kernel of `name`'s server, over its websocket."""

    def __init__(self, name, h):
        self.name = name
        r = HTTP.post(A.hub + f"/user/{name}/api/kernels", headers=h, json={"name": "python3"}, timeout=120)
        check(f"{name}: kernel started", r.status_code == 201, f"HTTP {r.status_code}")
        self.url = A.hub.replace("https", "wss", 1) + f"/user/{name}/api/kernels/{r.json()['id']}/channels"
        self.auth = h["Authorization"]

    def run(self, code):
        # A connection per cell: one left idle while other users spawn
        # misses the server's pings and is closed by it.
        self.ws = websocket.create_connection(
            self.url, header=["Authorization: " + self.auth], timeout=300, sslopt=WS_SSL)
        WS_CHECK(self.ws)
        try:
            return self._run(code)
        finally:
            self.ws.close()

    def _run(self, code):
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": self.name, "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        out, deadline = [], time.time() + 300
        while time.time() < deadline:
            m = json.loads(self.ws.recv())
            if m.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, c = m["msg_type"], m["content"]
            if kind == "stream":
                out.append(c["text"])
            elif kind in ("execute_result", "display_data"):
                out.append(c["data"].get("text/plain", ""))
            elif kind == "error":
                out.append("ERROR " + c.get("ename", "") + ": " + c.get("evalue", ""))
            elif kind == "status" and c["execution_state"] == "idle":
                break
        return "".join(out).strip()

    def listdir(self, path):
        """The names in `path`, or the error's name (PermissionError, ...)."""
        return self.run(f"import os\ntry:\n    print(sorted(os.listdir({path!r})))\n"
                        "except OSError as e:\n    print(type(e).__name__)")

    def write(self, path, text):
        """`ok`, or the error's name and message."""
        return self.run(f"try:\n    open({path!r}, 'w').write({text!r})\n    print('ok')\n"
                        "except OSError as e:\n    print(type(e).__name__, e.strerror)")

    def read(self, path):
        return self.run(f"try:\n    print(open({path!r}).read())\n"
                        "except OSError as e:\n    print(type(e).__name__)")


def s3_client():
    return boto3.client("s3", endpoint_url=S3["endpoint"], region_name="us-east-1",
                        aws_access_key_id=S3["access_key_id"],
                        aws_secret_access_key=S3["secret_access_key"])


def after_reboot():
    def mounted():
        rc, out = owner("findmnt -rn -t fuse.s3fs -o TARGET")
        return rc == 0 and {PRIV_DIR, PUB_DIR} <= set(out.split()), out
    # SSH answers before remote-fs.target is reached
    took = wait_for("after the reboot both buckets are mounted", mounted, limit=180)
    print(f"MEASURED buckets mounted after SSH answered: {took:.0f} s", flush=True)
    rc, out = owner(f"runuser -u jupyter-{FIRST} -- cat {shlex.quote(PRIV_DIR + '/from-' + FIRST + '.txt')}")
    check(f"after the reboot {FIRST} reads the group bucket", rc == 0 and f"written by {FIRST}" in out, out)
    rc, out = owner(f"runuser -u jupyter-{OUT} -- ls {shlex.quote(PRIV_DIR)}")
    check(f"after the reboot {OUT} still cannot list it", rc != 0 and "Permission denied" in out, out)
    rc, out = owner(f"runuser -u jupyter-{OUT} -- cat {shlex.quote(PUB_DIR + '/' + PUBLIC_KEY)}")
    check(f"after the reboot {OUT} reads the public bucket", rc == 0 and PUBLIC_TEXT in out, out)


if A.phase == "after-reboot":
    after_reboot()
    print(f"MEASURED group checks after reboot: {time.time() - T0:.0f} s", flush=True)
    sys.exit(0)

# 0. the image's S3 credentials: none shipped; this machine gets its own
if A.install_credentials:
    for name in (PRIVATE, PUBLIC):
        path = f"/etc/vmbuild/s3/{name}.passwd"
        mount = f"{A.s3_root}/{name}"
        rc, out = owner(f"test ! -e {path} && ! mountpoint -q {mount} && echo absent")
        check(f"bucket {name}: the image ships no credentials, nothing mounted", out == "absent", out)
        rc, out = owner(f"umask 077 && cat > {path} && systemctl start \"$(systemd-escape --path --suffix=mount {mount})\""
                        f" && mountpoint {mount}", stdin=f"{S3['access_key_id']}:{S3['secret_access_key']}\n")
        check(f"bucket {name}: mounted once the machine has its own credentials", rc == 0, out)

# 1. users: the group's members and an outsider sign up, the admin approves
def hub_up():
    try:
        r = HTTP.get(A.hub + "/hub/login", timeout=30)
        return r.status_code == 200, f"HTTP {r.status_code}"
    except OSError as e:
        return False, str(e)


# provisioning or the boot may have just (re)started it
wait_for("the hub answers", hub_up, limit=300)
admin_s, ok = login(A.admin, A.admin_password)
check("admin login", ok)
H_ADMIN = token(admin_s, A.admin)
H, K = {}, {}
for name in (FIRST, SECOND, OUT):
    pw = f"{name}-group-check-pw"
    s = pinned.session(A.fingerprint)
    page = s.get(A.hub + "/hub/signup", timeout=60)
    s.post(A.hub + "/hub/signup", timeout=120, data={
        "username": name, "signup_password": pw, "signup_password_confirmation": pw,
        "_xsrf": xsrf_of(s, page.text)})
    s, ok = login(name, pw)
    if not ok:
        # NativeAuthenticator's /authorize/NAME toggles: only when not yet
        admin_s.get(A.hub + f"/hub/authorize/{name}", allow_redirects=False, timeout=60)
        s, ok = login(name, pw)
    check(f"{name}: login", ok)
    H[name] = token(s, name)
spawn_all((FIRST, SECOND, OUT))

# 2. the group's folder
out = K[FIRST].run(f"import os, stat\nst = os.stat({FOLDER!r})\nprint(oct(st.st_mode & 0o7777))\n"
                   f"print(os.readlink(os.path.expanduser('~/groups/{A.group}')))")
check(f"{FOLDER} is 3770 and {FIRST} has ~/groups/{A.group}", out.split() == ["0o3770", FOLDER], out)
out = K[FIRST].run("import os; print(sorted(os.listdir(os.path.expanduser('~/groups'))),"
                   f" len(os.listdir('/srv/groups/{A.also}')))")
check(f"{FIRST}, in two groups, has both links and lists both folders",
      out == f"{sorted([A.group, A.also])} 0", out)
out = K[FIRST].write(f"{FOLDER}/from-{FIRST}.txt", f"written by {FIRST}\n")
check(f"{FIRST} writes in the group folder", out == "ok", out)
out = K[SECOND].read(f"{FOLDER}/from-{FIRST}.txt")
check(f"{SECOND} reads what {FIRST} wrote there (UMask 0077 or not)", out == f"written by {FIRST}", out)
# sticky (and fs.protected_regular = 2): another member's file is theirs
out = K[SECOND].write(f"{FOLDER}/from-{FIRST}.txt", "overwritten")
check(f"{SECOND} cannot overwrite it", out.startswith("PermissionError"), out)
out = K[SECOND].run(f"import os\ntry:\n    os.remove({FOLDER + '/from-' + FIRST + '.txt'!r})\n    print('removed')\n"
                    "except OSError as e:\n    print(type(e).__name__)")
check(f"{SECOND} cannot delete it", out == "PermissionError", out)
out = K[SECOND].write(f"{FOLDER}/from-{SECOND}.txt", f"written by {SECOND}\n")
check(f"{SECOND} adds a file", out == "ok", out)
out = K[FIRST].read(f"{FOLDER}/from-{SECOND}.txt")
check(f"{FIRST} reads it", out == f"written by {SECOND}", out)
out = K[OUT].listdir(FOLDER)
check(f"{OUT} cannot list the group folder", out == "PermissionError", out)
out = K[OUT].run(f"import os; print(os.path.lexists(os.path.expanduser('~/groups/{A.group}')))")
check(f"{OUT} has no link to it", out == "False", out)

# 3. the group's bucket: written through the mount, seen through the S3 API
text = f"written by {FIRST} {uuid.uuid4().hex}\n"
out = K[FIRST].write(f"{PRIV_DIR}/from-{FIRST}.txt", text)
check(f"{FIRST} writes to the group bucket", out == "ok", out)
body = s3_client().get_object(Bucket=PRIVATE_BUCKET, Key=f"from-{FIRST}.txt")["Body"].read().decode()
check("the file is in the bucket (S3 API)", body == text, repr(body))
out = K[SECOND].read(f"{PRIV_DIR}/from-{FIRST}.txt")
check(f"{SECOND} reads it through the mount", out == text.strip(), out)
out = K[OUT].listdir(PRIV_DIR)
check(f"{OUT} cannot list the group bucket", out == "PermissionError", out)

# 4. the public bucket: everyone reads, nobody writes, not even root
for name in (FIRST, OUT):
    out = K[name].read(f"{PUB_DIR}/{PUBLIC_KEY}")
    check(f"{name} reads the public bucket", out == PUBLIC_TEXT, out)
out = K[OUT].write(f"{PUB_DIR}/from-{OUT}.txt", "x")
check(f"{OUT}: a write to the public bucket fails clearly", out.startswith("OSError Read-only file system"), out)
rc, out = owner(f"touch {shlex.quote(PUB_DIR + '/by-root.txt')}")
check("root: a write to the public bucket fails too", rc != 0 and "Read-only file system" in out, out)

# 5. membership follows the settings, both directions: SECOND leaves, OUT joins
unix = f"group-{A.group}"
new = f"{FIRST},{OUT}"
rc, out = owner(f"tljh-config set groups.{A.group} {new}")
check(f"tljh-config set groups.{A.group} {new}", rc == 0, out)


def unix_members():
    rc, out = owner(f"getent group {unix}")
    return set(out.strip().split(":")[-1].split(",")) if rc == 0 else set()


took = wait_for(f"{unix}: jupyter-{OUT} in, jupyter-{SECOND} out", lambda: (
    {f"jupyter-{OUT}", f"jupyter-{FIRST}"} == unix_members() - {""}, str(unix_members())))
print(f"MEASURED unix group follows tljh-config: {took:.0f} s", flush=True)
wait_for(f"JupyterHub group {A.group}: {new}", lambda: (
    sorted(HTTP.get(A.hub + f"/hub/api/groups/{A.group}", headers=H_ADMIN, timeout=60)
           .json().get("users", [])) == sorted([FIRST, OUT]),
    HTTP.get(A.hub + f"/hub/api/groups/{A.group}", headers=H_ADMIN, timeout=60).text[:200]))
for name in (SECOND, OUT):
    stop(name, H[name])
spawn_all((SECOND, OUT))
out = K[OUT].listdir(FOLDER)
check(f"{OUT}, a member now, lists the group folder after the next spawn", f"from-{FIRST}.txt" in out, out)
out = K[OUT].read(f"{PRIV_DIR}/from-{FIRST}.txt")
check(f"{OUT} reads the group bucket", out == text.strip(), out)
out = K[OUT].run(f"import os; print(os.readlink(os.path.expanduser('~/groups/{A.group}')))")
check(f"{OUT} has ~/groups/{A.group}", out == FOLDER, out)
out = K[SECOND].listdir(FOLDER)
check(f"{SECOND}, removed, cannot list the group folder after the next spawn", out == "PermissionError", out)
out = K[SECOND].listdir(PRIV_DIR)
check(f"{SECOND} cannot list the group bucket", out == "PermissionError", out)
out = K[SECOND].run(f"import os; print(os.path.lexists(os.path.expanduser('~/groups/{A.group}')))")
check(f"{SECOND} lost the link", out == "False", out)
rc, out = owner(f"tljh-config unset groups.{A.group}")
check(f"tljh-config unset groups.{A.group}: back to vmbuild.toml", rc == 0, out)
wait_for(f"{unix}: back to {A.members}", lambda: (
    {f"jupyter-{m}" for m in MEMBERS} == unix_members() - {""}, str(unix_members())))
print(f"MEASURED group checks: {time.time() - T0:.0f} s", flush=True)
