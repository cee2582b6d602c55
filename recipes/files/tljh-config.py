#!/opt/tljh/hub/bin/python3
"""tljh-config: change the hub's settings on this machine (written by vmbuild).

usage: tljh-config show              the settings, and the HTTPS certificate's
                                     SHA-256 fingerprint (tls_fingerprint_sha256)
       tljh-config set KEY VALUE     e.g. set mem_limit 2G, set admin_users alice,bob
       tljh-config set KEY -         the value from stdin (keeps secrets out of argv)
       tljh-config set groups.NAME a,b   the members of group NAME ([[groups]])
       tljh-config unset KEY         back to the value vmbuild provisioned
       tljh-config reload            restart the hub with the current settings

Changes go to /opt/tljh/config/local.json, which overrides settings.json
(what vmbuild provisions) and survives re-provisioning. `set` and `unset`
validate, then restart the hub; running user servers keep running.
"""
import hashlib
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile

CONFIG_DIR = "/opt/tljh/config"
LOCAL = os.path.join(CONFIG_DIR, "local.json")
AUTHENTICATORS = ("firstuse", "native", "github", "gitlab", "google", "oidc", "ldap")
SECRET_WORDS = ("password", "secret", "token", "key")


def _list(v):
    items = v if isinstance(v, list) else [s for s in str(v).split(",")]
    items = [str(s).strip() for s in items if str(s).strip()]
    if not items:
        raise ValueError("expected one or more names, comma-separated")
    return items


def _mem(v):
    if not re.fullmatch(r"\d+(\.\d+)?[KMGT]?", str(v)):
        raise ValueError("expected a size like 512M or 2G")
    return str(v)


def _positive(v):
    f = float(v)
    if f <= 0:
        raise ValueError("expected a number above 0")
    return f


def _seconds(v):
    i = int(v)
    if i < 0:
        raise ValueError("expected whole seconds, 0 or more")
    return i


def _choice(v):
    if v not in AUTHENTICATORS:
        raise ValueError("expected one of " + ", ".join(AUTHENTICATORS))
    return v


def _bool(v):
    s = str(v).lower()
    if s in ("true", "yes", "1"):
        return True
    if s in ("false", "no", "0"):
        return False
    raise ValueError("expected true or false")


def _url_path(v):
    if not str(v).startswith("/"):
        raise ValueError("expected a path starting with /, like /lab or /tree")
    return str(v)


KEYS = {
    "admin_users": _list,
    "authenticator": _choice,
    "mem_limit": _mem,
    "cpu_limit": _positive,
    "idle_timeout_secs": _seconds,
    "start_timeout_secs": _seconds,
    "allow_all": _bool,
    "default_url": _url_path,
}


def read(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def write_local(data):
    fd, tmp = tempfile.mkstemp(dir=CONFIG_DIR, prefix=".local.json.")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, LOCAL)


def usage_error(message):
    print(f"tljh-config: {message}", file=sys.stderr)
    sys.exit(2)


def _members(v):
    # a group may be emptied: `tljh-config set groups.NAME ""`
    items = v if isinstance(v, list) else str(v).split(",")
    items = [str(s).strip() for s in items if str(s).strip()]
    for name in items:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,23}", name):
            raise ValueError(f"`{name}` is no hub user name (lower-case letters, digits, `.`, `_`, `-`)")
    return sorted(set(items))


def known_groups():
    """The groups vmbuild provisioned ([[groups]]): their unix groups and folders exist."""
    return sorted(read(os.path.join(CONFIG_DIR, "settings.json")).get("groups", {}))


def parse(key, raw):
    if key.startswith("groups."):
        name = key.split(".", 1)[1]
        if name not in known_groups():
            known = ", ".join(known_groups()) or "none"
            usage_error(f"unknown group `{name}` (groups from vmbuild.toml [[groups]]: {known})")
        try:
            return _members(raw)
        except ValueError as e:
            usage_error(f"`{key}` = `{raw}`: {e}")
    if key.startswith("authenticator_settings."):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    if key not in KEYS:
        known = ", ".join(sorted(KEYS) + ["authenticator_settings.<name>", "groups.<name>"])
        usage_error(f"unknown key `{key}` (known: {known})")
    try:
        return KEYS[key](raw)
    except ValueError as e:
        usage_error(f"`{key}` = `{raw}`: {e}")


def masked(d, parent=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out[k] = masked(v, k)
        elif any(w in k.lower() for w in SECRET_WORDS):
            out[k] = "********"
        else:
            out[k] = v
    return out


def fingerprint(path):
    """SHA-256 of the certificate at `path` (DER), as browsers show it."""
    try:
        with open(path) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
    except (OSError, ValueError) as e:
        return f"unavailable ({e})"
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def reload():
    subprocess.run(["systemctl", "restart", "jupyterhub.service"], check=True)
    print("tljh-config: hub restarted")


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__.strip())
        return 0
    cmd, args = argv[0], argv[1:]
    local = read(LOCAL)
    if cmd == "show" and not args:
        merged = read(os.path.join(CONFIG_DIR, "settings.json"))
        auth = dict(merged.get("authenticator_settings", {}))
        auth.update(local.get("authenticator_settings", {}))
        merged.update({k: v for k, v in local.items() if k != "authenticator_settings"})
        merged["authenticator_settings"] = auth
        groups = dict(read(os.path.join(CONFIG_DIR, "settings.json")).get("groups", {}))
        groups.update(local.get("groups", {}))
        if groups:
            merged["groups"] = groups
        shown = masked(merged)
        if merged.get("tls_cert"):
            shown["tls_fingerprint_sha256"] = fingerprint(merged["tls_cert"])
        print(json.dumps(shown, indent=2, sort_keys=True))
        return 0
    if cmd == "set" and len(args) == 2:
        raw = args[1]
        if raw == "-":
            # a value on stdin is not visible in ps or sudo's log
            raw = sys.stdin.read()
            raw = raw[:-1] if raw.endswith("\n") else raw
        key, value = args[0], parse(args[0], raw)
        if key.startswith(("authenticator_settings.", "groups.")):
            section, name = key.split(".", 1)
            local.setdefault(section, {})[name] = value
        else:
            local[key] = value
        write_local(local)
        reload()
        return 0
    if cmd == "unset" and len(args) == 1:
        key = args[0]
        if key.startswith(("authenticator_settings.", "groups.")):
            section, name = key.split(".", 1)
            local.get(section, {}).pop(name, None)
            if not local.get(section, True):
                local.pop(section)
        else:
            local.pop(key, None)
        write_local(local)
        reload()
        return 0
    if cmd == "reload" and not args:
        reload()
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
