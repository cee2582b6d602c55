#!/usr/bin/env python3
"""Attacks a booted, sealed vmbuild appliance (an OVA or qcow2 disk) from
outside and from inside, replaying the chain of issue 12, and checks that
every step fails where it must.

usage: security_check.py --hub https://127.0.0.1:8443 --http http://127.0.0.1:8080
           --fingerprint SHA256 --ssh 127.0.0.1:2222 --vagrant-key FILE
           --admin admin (--admin-password PW | --console SERIAL_LOG)
           [--owner-user NAME --owner-key FILE]

  --hub          the hub over HTTPS (guest port 443 forwarded)
  --http         guest port 80 forwarded (must redirect to https)
  --fingerprint  SHA-256 of the instance's certificate (`AB:CD:…` or hex), as
                 `vmbuild hub show` or the console shows it
  --ssh          guest port 22 forwarded
  --vagrant-key  Vagrant's published insecure private key
  --admin        a hub admin name (hub.admin_users)
  --admin-password / --console
                 the admin password, or the guest's serial console log, where
                 the first boot showed the per-instance password
  --owner-user, --owner-key
                 the owner's account (access.ssh_user) and the private half of
                 one of access.ssh_keys: it must get in, with sudo

Steps (each prints `CHECK name: ok|FAILED detail`; exit 1 on the first
failure, 0 when all pass):
  1. HTTPS serves the instance's certificate; port 80 redirects to https.
  2. A stranger cannot claim an account: a made-up login is refused; a
     sign-up is only a request (login refused until an admin approves); a
     sign-up under the admin's name does not open it.
  3. SSH as `vagrant` with Vagrant's insecure key is refused; so is the
     password `vagrant`.
  4. The admin logs in, starts a server and replays the chain from a
     notebook: writes Vagrant's key, runs `ssh -i key vagrant@127.0.0.1 sudo
     id` -> refused (the admin's own sudo works: that is the owner's way in).
  5. Two users sign up, the admin approves them; A's home is 0700 and a file
     A makes is 0600 (UMask 0077); B cannot list A's home or read A's
     notebook; A cannot SSH in with a key A put in authorized_keys.
  6. A changes A's password in the hub; the new one works, the old does not.
  7. A promoted to admin gets sudo; demoted, loses it within seconds.
  8. The owner's key gets in and may sudo; no `vagrant` account, no NOPASSWD
     rule but the owner's and the hub admins', no usable password, root locked.
Needs `requests` and `websocket-client`; `ssh` and `ssh-keygen` on the host.
"""
import argparse
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
import uuid

import websocket

import pinned

P = argparse.ArgumentParser(description="attack a sealed vmbuild appliance")
P.add_argument("--hub", required=True)
P.add_argument("--http", required=True)
P.add_argument("--fingerprint", required=True)
P.add_argument("--ssh", required=True)
P.add_argument("--vagrant-key", required=True)
P.add_argument("--admin", required=True)
P.add_argument("--admin-password")
P.add_argument("--console")
P.add_argument("--owner-user")
P.add_argument("--owner-key")
A = P.parse_args()
SSH_HOST, SSH_PORT = A.ssh.rsplit(":", 1)
T0 = time.time()
TMP = tempfile.mkdtemp(prefix="security-check-")


def check(name, ok, detail=""):
    print(f"CHECK {name}: {'ok' if ok else 'FAILED'} {detail}".rstrip(), flush=True)
    if not ok:
        sys.exit(1)


def ssh(user, key, command, password=None):
    """Run `command` as `user` over SSH; (exit status, stdout+stderr)."""
    opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=30", "-p", SSH_PORT]
    env = dict(os.environ)
    if password is None:
        opts += ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", key]
    else:
        # ssh reads a password only from a terminal or SSH_ASKPASS
        askpass = os.path.join(TMP, "askpass")
        with open(askpass, "w") as f:
            f.write(f"#!/bin/sh\necho '{password}'\n")
        os.chmod(askpass, 0o700)
        env.update(SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
        opts += ["-o", "PreferredAuthentications=password,keyboard-interactive",
                 "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1"]
    r = subprocess.run(["ssh", *opts, f"{user}@{SSH_HOST}", command], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    return r.returncode, (r.stdout + r.stderr).strip()


def xsrf_of(session, text):
    m = re.search(r'name="_xsrf"\s+value="([^"]+)"', text)
    return m.group(1) if m else session.cookies.get("_xsrf")


def login(name, password):
    """(session, response of the login POST)."""
    s = pinned.session(A.fingerprint)
    page = s.get(A.hub + "/hub/login", timeout=60)
    r = s.post(A.hub + "/hub/login?next=", allow_redirects=False, timeout=120,
               data={"username": name, "password": password, "_xsrf": xsrf_of(s, page.text)})
    return s, r


def logged_in(r):
    return r.status_code == 302 and "/login" not in r.headers.get("Location", "")


def signup(name, password):
    s = pinned.session(A.fingerprint)
    page = s.get(A.hub + "/hub/signup", timeout=60)
    return s.post(A.hub + "/hub/signup", timeout=120, data={
        "username": name, "signup_password": password,
        "signup_password_confirmation": password, "_xsrf": xsrf_of(s, page.text)})


def token(s, name):
    r = s.post(A.hub + f"/hub/api/users/{name}/tokens", timeout=60,
               headers={"X-XSRFToken": s.cookies.get("_xsrf") or "", "Referer": A.hub + "/hub/token"},
               json={"note": "security check", "expires_in": 3600})
    check(f"{name}: API token", r.status_code in (200, 201), f"HTTP {r.status_code}")
    return {"Authorization": "token " + r.json()["token"]}


HTTP = pinned.session(A.fingerprint)
WS_SSL, WS_CHECK = pinned.websocket_options(A.fingerprint)


def spawn(name, h):
    t = time.time()
    info = HTTP.get(A.hub + f"/hub/api/users/{name}", headers=h, timeout=60).json()
    if not info.get("servers", {}).get("", {}).get("ready"):
        r = HTTP.post(A.hub + f"/hub/api/users/{name}/server", headers=h, timeout=120)
        check(f"{name}: spawn requested", r.status_code in (201, 202), f"HTTP {r.status_code} {r.text[:200]}")
        deadline = time.time() + 600
        while time.time() < deadline:
            srv = HTTP.get(A.hub + f"/hub/api/users/{name}", headers=h, timeout=60).json().get("servers", {}).get("", {})
            if srv.get("ready"):
                break
            if not srv:
                check(f"{name}: spawn", False, "the server went away (see the hub's journal)")
            time.sleep(2)
        else:
            check(f"{name}: spawn", False, "not ready after 600 s")
    print(f"MEASURED {name} server start: {time.time() - t:.0f} s", flush=True)


class Kernel:
    """A python3 kernel of `name`'s server, run over its websocket."""

    def __init__(self, name, h):
        self.name, self.h = name, h
        self.api = A.hub + f"/user/{name}/api"
        r = HTTP.post(self.api + "/kernels", headers=h, json={"name": "python3"}, timeout=120)
        check(f"{name}: kernel started", r.status_code == 201, f"HTTP {r.status_code}")
        self.kid = r.json()["id"]
        self.ws = websocket.create_connection(
            A.hub.replace("https", "wss", 1) + f"/user/{name}/api/kernels/{self.kid}/channels",
            header=["Authorization: " + h["Authorization"]], timeout=300, sslopt=WS_SSL)
        WS_CHECK(self.ws)

    def run(self, code):
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": self.name, "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        out = []
        deadline = time.time() + 300
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

    def sh(self, command):
        """Run a shell line as the server's user; 'rc=N' then its output."""
        return self.run(
            "import subprocess\n"
            f"r = subprocess.run({command!r}, shell=True, capture_output=True, text=True, timeout=120)\n"
            "print(f'rc={r.returncode}'); print(r.stdout + r.stderr)")


def admin_password():
    if A.admin_password:
        return A.admin_password
    if A.console:
        with open(A.console, errors="replace") as f:
            found = re.findall(r"initial password: (\S+)", f.read())
        check("admin password on the console", bool(found), A.console)
        return found[-1]
    if A.owner_key:
        rc, out = ssh(A.owner_user, A.owner_key, "sudo -n cat /etc/tljh/admin-password")
        check("admin password in its root-only file", rc == 0, out[-200:])
        return out.strip()
    P.error("give --admin-password, --console or --owner-user/--owner-key")


# 1. HTTPS, and port 80 redirects
served = pinned.served_fingerprint(A.hub)
check("HTTPS serves the instance's certificate", served == pinned.normalize(A.fingerprint), served)
r = HTTP.get(A.http + "/hub/login", allow_redirects=False, timeout=60)
check("port 80 redirects to https", r.status_code in (301, 308)
      and r.headers.get("Location", "").startswith("https://"),
      f"HTTP {r.status_code} -> {r.headers.get('Location')}")
r = HTTP.get(A.hub + "/no-such-page", allow_redirects=False, timeout=60)
check("no server version in headers", not any(c.isdigit() for c in r.headers.get("Server", "")),
      f"Server: {r.headers.get('Server')}")

# 2. a stranger cannot claim an account
stranger = "mallory-" + secrets.token_hex(3)
_, r = login(stranger, "made-up-password-1")
check("stranger: made-up login refused", not logged_in(r), f"HTTP {r.status_code}")
r = signup(stranger, "made-up-password-1")
check("stranger: sign-up is only a request", r.status_code == 200, f"HTTP {r.status_code}")
_, r = login(stranger, "made-up-password-1")
check("stranger: login refused until an admin approves", not logged_in(r), f"HTTP {r.status_code}")
signup(A.admin, "strangers-admin-pw-1")
_, r = login(A.admin, "strangers-admin-pw-1")
check("stranger: sign-up under the admin's name opens nothing", not logged_in(r), f"HTTP {r.status_code}")

# 3. the build account is gone, by key and by password
with open(A.vagrant_key) as f:
    vagrant_key = f.read()
rc, out = ssh("vagrant", A.vagrant_key, "sudo id")
check("ssh as vagrant with Vagrant's insecure key refused", rc == 255 and "uid=0" not in out, out[-200:])
rc, out = ssh("vagrant", None, "sudo id", password="vagrant")
check("ssh as vagrant with the password `vagrant` refused", rc == 255 and "uid=0" not in out, out[-200:])

# 4. the admin replays the chain from a notebook
PW = admin_password()
admin_s, r = login(A.admin, PW)
check("admin login", logged_in(r), f"HTTP {r.status_code}")
H_ADMIN = token(admin_s, A.admin)
spawn(A.admin, H_ADMIN)
k = Kernel(A.admin, H_ADMIN)
out = k.run(
    "import os, subprocess\n"
    f"open('vagrant-key', 'w').write({vagrant_key!r}); os.chmod('vagrant-key', 0o600)\n"
    "r = subprocess.run(['ssh', '-i', 'vagrant-key', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',"
    " '-o', 'UserKnownHostsFile=/dev/null', 'vagrant@127.0.0.1', 'sudo', 'id'],"
    " capture_output=True, text=True, timeout=60)\n"
    "os.remove('vagrant-key'); print(f'rc={r.returncode}'); print(r.stdout + r.stderr)")
check("admin: ssh -i <Vagrant's key> vagrant@127.0.0.1 sudo id refused",
      out.startswith("rc=255") and "uid=0" not in out, out[-300:])
out = k.sh("echo vagrant | su -c id vagrant")
check("admin: su vagrant refused", not out.startswith("rc=0") and "uid=" not in out, out[-200:])
out = k.sh("sudo -n id -u")
check("admin: sudo from the hub works (the owner's way in)", out.split() == ["rc=0", "0"], out)

# 5. users are private
a, b = "alice-" + secrets.token_hex(2), "bob-" + secrets.token_hex(2)
for name in (a, b):
    r = signup(name, f"{name}-password")
    check(f"{name}: sign-up request", r.status_code == 200, f"HTTP {r.status_code}")
    r = admin_s.get(A.hub + f"/hub/authorize/{name}", allow_redirects=False, timeout=60)
    check(f"{name}: approved by the admin", r.status_code in (200, 302), f"HTTP {r.status_code}")
sessions = {}
for name in (a, b):
    s, r = login(name, f"{name}-password")
    check(f"{name}: login after approval", logged_in(r), f"HTTP {r.status_code}")
    sessions[name] = (s, token(s, name))
    spawn(name, sessions[name][1])
ka = Kernel(a, sessions[a][1])
notebook = {"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}
r = HTTP.put(A.hub + f"/user/{a}/api/contents/private.ipynb", headers=sessions[a][1], json=notebook, timeout=60)
check(f"{a}: saved a notebook", r.status_code in (200, 201), f"HTTP {r.status_code}")
out = ka.run("import os; print(oct(os.stat(os.path.expanduser('~')).st_mode & 0o777),"
             " oct(os.stat('private.ipynb').st_mode & 0o777))")
check(f"{a}: home 0700, new files 0600", out == "0o700 0o600", out)
kb = Kernel(b, sessions[b][1])
home_a = f"/home/jupyter-{a}"
out = kb.run(f"import os\ntry:\n    print(os.listdir({home_a!r}))\nexcept OSError as e:\n    print(type(e).__name__)")
check(f"{b} cannot list {a}'s home", out == "PermissionError", out)
out = kb.run(f"try:\n    print(open({home_a + '/private.ipynb'!r}).read()[:50])\nexcept OSError as e:\n    print(type(e).__name__)")
check(f"{b} cannot read {a}'s notebook", out == "PermissionError", out)
out = ka.sh("mkdir -p ~/.ssh && rm -f /tmp/k /tmp/k.pub && ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/id_ed25519"
            " && cat ~/.ssh/id_ed25519.pub >> ~/.ssh/authorized_keys && chmod 600 ~/.ssh/authorized_keys"
            " && cat ~/.ssh/id_ed25519")
key_a = out.split("\n", 1)[1] if out.startswith("rc=0") else ""
# the detail is the status line only: the rest is a private key, kept out of the log
check(f"{a}: made a key and authorized it", "PRIVATE KEY" in key_a, out.split("\n", 1)[0][:100])
key_file = os.path.join(TMP, "user-a-key")
with open(key_file, "w") as f:
    f.write(key_a.strip() + "\n")
os.chmod(key_file, 0o600)
rc, out = ssh(f"jupyter-{a}", key_file, "id")
check(f"{a}: ssh with a key of one's own refused (no shell outside the limits)", rc == 255, out[-200:])

# 6. a user changes their own password in the hub
s, _ = sessions[a]
page = s.get(A.hub + "/hub/change-password", timeout=60)
r = s.post(A.hub + "/hub/change-password", timeout=120, data={
    "old_password": f"{a}-password", "new_password": f"{a}-changed-pw",
    "new_password_confirmation": f"{a}-changed-pw", "_xsrf": xsrf_of(s, page.text)})
check(f"{a}: change password page", r.status_code == 200 and "successfully" in r.text, f"HTTP {r.status_code}")
_, r = login(a, f"{a}-changed-pw")
check(f"{a}: the new password works", logged_in(r), f"HTTP {r.status_code}")
_, r = login(a, f"{a}-password")
check(f"{a}: the old password no longer does", not logged_in(r), f"HTTP {r.status_code}")


# 7. sudo follows admin rights, also for a running server
def wait_for(what, cond, limit=60):
    t = time.time()
    while time.time() - t < limit:
        out = ka.sh("sudo -n id -u")
        if cond(out):
            return time.time() - t, out
        time.sleep(2)
    return None, out


r = HTTP.patch(A.hub + f"/hub/api/users/{a}", headers=H_ADMIN, json={"admin": True}, timeout=60)
check(f"{a}: made admin", r.status_code == 200, f"HTTP {r.status_code}")
took, out = wait_for("sudo", lambda o: o.split() == ["rc=0", "0"])
check(f"{a}: admin, so sudo works", took is not None, out)
r = HTTP.patch(A.hub + f"/hub/api/users/{a}", headers=H_ADMIN, json={"admin": False}, timeout=60)
check(f"{a}: demoted", r.status_code == 200, f"HTTP {r.status_code}")
took, out = wait_for("no sudo", lambda o: not o.startswith("rc=0"))
check(f"{a}: demoted admin loses sudo", took is not None, out)
print(f"MEASURED sudo revoked after demotion: {took:.0f} s", flush=True)

# 8. the owner's way in, and nothing else
if A.owner_key:
    rc, out = ssh(A.owner_user, A.owner_key, "sudo -n id -u")
    check("owner's key gets in, with sudo", rc == 0 and out.strip() == "0", out[-200:])
    probe = ("getent passwd vagrant; ls /etc/sudoers.d; "
             "grep -rh NOPASSWD /etc/sudoers /etc/sudoers.d | grep -v '^#'; "
             "awk -F: '$2 !~ /^[!*]/ {print \"password: \" $1}' /etc/shadow; "
             "passwd --status root | cut -d' ' -f2; cat /etc/vmbuild/owner.json")
    rc, out = ssh(A.owner_user, A.owner_key, f"sudo -n sh -c {shlex.quote(probe)}")
    print(out, flush=True)
    check("no vagrant account", "vagrant:" not in out)
    rules = [l for l in out.splitlines() if "NOPASSWD" in l]
    check("NOPASSWD only for the owner and hub admins",
          all(l.split()[0] in (A.owner_user, "%jupyterhub-admins") for l in rules), str(rules))
    check("no usable password", "password: " not in out)
    check("root locked", "\nL\n" in f"\n{out}\n")
print(f"MEASURED security checks total: {time.time() - T0:.0f} s", flush=True)
