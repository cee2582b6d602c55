#!/opt/tljh/hub/bin/python3
"""vmbuild-firstboot: this machine's own secrets, made at boot when missing.

Run by tljh-secrets.service before the proxy, the hub and nginx start. The
image ships none of these (the cleanup before export removes them), so two
machines made from one image share none:
  - the proxy's API token            /etc/tljh/proxy.env
  - the hub's cookie secret          /opt/tljh/state/jupyterhub_cookie_secret
  - a TLS key and self-signed cert   /etc/tljh/tls/instance-{key,cert}.pem
    (unless the owner gave one or Let's Encrypt is set up)
  - the hub admins' password         /etc/tljh/admin-password (root only)
    (unless the owner set one on purpose: /etc/vmbuild/owner.json)
At every boot it writes the login screen's note (the certificate's
fingerprint, and the per-instance admin password) to a root-only file that
agetty shows on the console; nothing a hub user can read holds it.
"""
import hashlib
import json
import os
import secrets
import socket
import ssl
import subprocess
import sys

OWNER = "/etc/vmbuild/owner.json"
CONFIG_DIR = "/opt/tljh/config"
STATE = "/opt/tljh/state"
PROXY_ENV = "/etc/tljh/proxy.env"
COOKIE_SECRET = os.path.join(STATE, "jupyterhub_cookie_secret")
ADMIN_HASHES = os.path.join(STATE, "admin-passwords.json")
ADMIN_PASSWORD = "/etc/tljh/admin-password"
TLS_DIR = "/etc/tljh/tls"
INSTANCE_CERT = os.path.join(TLS_DIR, "instance-cert.pem")
INSTANCE_KEY = os.path.join(TLS_DIR, "instance-key.pem")
CONSOLE_NOTE = "/run/vmbuild/console.issue"
# The same rounds and format as vmbuild's own (src/appliance/password.rs).
ROUNDS = 200_000
ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def write_private(path, text):
    """Write `text` to `path` (mode 0600) atomically."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def admin_users():
    users = []
    for name in ("settings.json", "local.json"):
        layer = read_json(os.path.join(CONFIG_DIR, name), {})
        if "admin_users" in layer:
            users = layer["admin_users"]
    return users


def proxy_token():
    if not os.path.exists(PROXY_ENV):
        write_private(PROXY_ENV, f"CONFIGPROXY_AUTH_TOKEN={secrets.token_hex(32)}\n")
        print("made the proxy's API token")


def cookie_secret():
    if not os.path.exists(COOKIE_SECRET):
        write_private(COOKIE_SECRET, secrets.token_hex(32) + "\n")
        print("made the hub's cookie secret")


def certificate():
    if os.path.exists(INSTANCE_KEY) and os.path.exists(INSTANCE_CERT):
        return
    os.makedirs(TLS_DIR, mode=0o700, exist_ok=True)
    host = socket.gethostname()
    tmp_key, tmp_cert = INSTANCE_KEY + ".tmp", INSTANCE_CERT + ".tmp"
    old = os.umask(0o077)
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "3650", "-subj", f"/CN={host}",
             "-addext", f"subjectAltName=DNS:{host},DNS:localhost,IP:127.0.0.1",
             "-keyout", tmp_key, "-out", tmp_cert],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
    finally:
        os.umask(old)
    os.chmod(tmp_cert, 0o644)
    os.replace(tmp_key, INSTANCE_KEY)
    os.replace(tmp_cert, INSTANCE_CERT)
    print(f"made a self-signed certificate for {host}")


def admin_password():
    """The per-instance admin password: made (and its hash installed) when
    the hub has none; returns it, or None when the owner set it."""
    if os.path.exists(ADMIN_HASHES):
        # Made here at an earlier boot, or installed by provisioning (then
        # vmbuild keeps the password, and a note from before is stale).
        try:
            with open(ADMIN_PASSWORD) as f:
                password = f.read().strip()
        except FileNotFoundError:
            return None
        hashes = read_json(ADMIN_HASHES, {}).values()
        return password if any(pbkdf2(password, h) == h for h in hashes) else None
    password = "".join(secrets.choice(ALPHABET) for _ in range(20))
    hashed = pbkdf2(password)
    write_private(ADMIN_PASSWORD, password + "\n")
    write_private(ADMIN_HASHES, json.dumps({u: hashed for u in admin_users()}, indent=2) + "\n")
    print(f"made the hub admins' password (in {ADMIN_PASSWORD}, root only)")
    return password


def pbkdf2(password, like=None):
    """`pbkdf2_sha256$rounds$salt$hash`: with the salt and rounds of `like`
    (to compare), else a new salt."""
    rounds, salt = ROUNDS, secrets.token_hex(16)
    if like:
        try:
            _, r, salt, _ = like.split("$")
            rounds = int(r)
        except ValueError:
            return None
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), rounds).hex()
    return f"pbkdf2_sha256${rounds}${salt}${digest}"


def fingerprint(path):
    with open(path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def console_note(cert, password):
    lines = ["", "JupyterHub: https://\\4/"]
    if cert and os.path.exists(cert):
        fp = fingerprint(cert)
        lines += ["Its certificate's SHA-256 fingerprint (compare it with your browser's):",
                  f"  {fp[:47]}", f"  {fp[48:]}"]
        print(f"certificate {cert}: SHA-256 fingerprint {fp}")
    if password:
        admins = ", ".join(admin_users())
        lines += [f"Hub admin ({admins}) initial password: {password}",
                  "  (change it in the hub at /hub/change-password)"]
    # agetty (root) reads it from /etc/issue.d; /run keeps it off the disk.
    write_private(CONSOLE_NOTE, "\n".join(lines) + "\n\n")


def main():
    owner = read_json(OWNER, {})
    proxy_token()
    cookie_secret()
    if owner.get("tls", "per-instance") == "per-instance":
        certificate()
    password = None
    if owner.get("admin_password", "per-instance") == "per-instance":
        password = admin_password()
    settings = read_json(os.path.join(CONFIG_DIR, "settings.json"), {})
    console_note(settings.get("tls_cert"), password)
    return 0


if __name__ == "__main__":
    sys.exit(main())
