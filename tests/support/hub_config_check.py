"""Loads the appliance's jupyterhub_config.py with each authenticator vmbuild
offers and checks what it configures. Run by the hub's own Python on the VM
(so with the pinned packages): python - /opt/tljh/config/jupyterhub_config.py
Prints `AUTH <kind> <class> allow_all=<bool>` per authenticator; exits 1 on
the first mismatch. No sign-up is open unless the settings open it."""
import json
import os
import sys
import tempfile

from traitlets.config import Config

SRC = open(sys.argv[1]).read()
CASES = [
    ("firstuse", {}, "FirstUseAuthenticator", True),
    ("native", {}, "NativeAuthenticator", True),
    ("native", {"open_signup": True}, "NativeAuthenticator", True),
    ("github", {"client_id": "id", "allowed_organizations": ["org"]}, "GitHubOAuthenticator", False),
    ("gitlab", {"client_id": "id"}, "GitLabOAuthenticator", False),
    ("google", {"client_id": "id"}, "GoogleOAuthenticator", False),
    ("oidc", {"authorize_url": "https://id.example.org/auth"}, "GenericOAuthenticator", False),
    ("ldap", {"server_address": "ldap.example.org"}, "LDAPAuthenticator", True),
]
for kind, settings, cls, allow_all in CASES:
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "settings.json"), "w") as f:
        json.dump({"authenticator": kind, "authenticator_settings": settings,
                   "admin_users": ["admin"], "mem_limit": "2G", "cpu_limit": 0.5,
                   "idle_timeout_secs": 0}, f)
    c = Config()
    exec(SRC.replace('CONFIG_DIR = "/opt/tljh/config"', f'CONFIG_DIR = "{d}"'),
         {"get_config": lambda: c, "__name__": "jupyterhub_config"})
    a = c.JupyterHub.authenticator_class
    base = [k.__name__ for k in a.__mro__]
    section = c[cls]
    closed = {"native": section.get("open_signup") is settings.get("open_signup", False),
              "firstuse": section.get("create_users") is False}.get(kind, True)
    services = [s["name"] for s in c.JupyterHub.services]
    ok = (cls in base and c.Authenticator.allow_all is allow_all
          and all(section[k] == v for k, v in settings.items())
          and closed
          and c.Spawner.mem_limit == "2G" and c.Spawner.cpu_limit == 0.5
          and c.SystemdSpawner.unit_extra_properties == {"UMask": "0077"}
          and services == ["vmbuild-admin-sync"])
    print(f"AUTH {kind} {cls} allow_all={c.Authenticator.allow_all} {'ok' if ok else 'FAILED'}")
    if not ok:
        sys.exit(1)
