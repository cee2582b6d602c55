# /opt/tljh/config/jupyterhub_config.py -- written by vmbuild; edit settings
# with `tljh-config set KEY VALUE` (or `vmbuild hub set`), not here.
#
# Settings: settings.json (from vmbuild.toml, rewritten by provisioning)
# overlaid by local.json (from tljh-config, never touched by provisioning).
import hashlib
import hmac
import inspect
import json
import os
import pwd
import grp
import subprocess
import sys

from systemdspawner import SystemdSpawner

CONFIG_DIR = "/opt/tljh/config"
STATE = "/opt/tljh/state"
USER_PREFIX = "/opt/tljh/user"
USERS_GROUP = "jupyterhub-users"
ADMINS_GROUP = "jupyterhub-admins"


def load_settings():
    merged = {}
    for name in ("settings.json", "local.json"):
        path = os.path.join(CONFIG_DIR, name)
        if os.path.exists(path):
            with open(path) as f:
                layer = json.load(f)
            auth = layer.pop("authenticator_settings", None)
            merged.update(layer)
            if auth is not None:
                merged.setdefault("authenticator_settings", {}).update(auth)
    return merged


S = load_settings()
c = get_config()  # noqa: F821 (provided by JupyterHub)


class UserCreatingSpawner(SystemdSpawner):
    """Creates the unix user `jupyter-<name>` at first spawn, as TLJH does."""

    async def start(self):
        unix_name = self._expand_user_vars(self.username_template)
        try:
            pwd.getpwnam(unix_name)
        except KeyError:
            subprocess.check_call(
                ["useradd", "--create-home", "--shell", "/bin/bash",
                 "--groups", USERS_GROUP, unix_name]
            )
            self.log.info("created unix user %s", unix_name)
        # Admins administer the machine (sudo), others not; kept in step at
        # every spawn since admin rights can change in the hub.
        members = grp.getgrnam(ADMINS_GROUP).gr_mem
        if self.user.admin and unix_name not in members:
            subprocess.check_call(["gpasswd", "--add", unix_name, ADMINS_GROUP])
        elif not self.user.admin and unix_name in members:
            subprocess.check_call(["gpasswd", "--delete", unix_name, ADMINS_GROUP])
        shared = S.get("shared_data")
        home = pwd.getpwnam(unix_name).pw_dir
        link = os.path.join(home, "shared_data")
        if shared and not os.path.lexists(link):
            os.symlink(shared, link)
        return await super().start()


c.JupyterHub.spawner_class = UserCreatingSpawner
c.SystemdSpawner.username_template = "jupyter-{USERNAME}"
c.SystemdSpawner.unit_name_template = "jupyter-{USERNAME}"
c.SystemdSpawner.default_shell = "/bin/bash"
c.SystemdSpawner.extra_paths = [os.path.join(USER_PREFIX, "bin")]
c.SystemdSpawner.isolate_tmp = True
c.SystemdSpawner.isolate_devices = True
# sudo is governed by the jupyterhub-admins group (sudoers.d), not blocked
# for everyone with NoNewPrivileges.
c.SystemdSpawner.disable_user_sudo = False

c.Spawner.cmd = [os.path.join(USER_PREFIX, "bin", "jupyterhub-singleuser")]
c.Spawner.default_url = S.get("default_url", "/lab")
if S.get("mem_limit"):
    c.Spawner.mem_limit = S["mem_limit"]
if S.get("cpu_limit"):
    c.Spawner.cpu_limit = float(S["cpu_limit"])
c.Spawner.start_timeout = int(S.get("start_timeout_secs", 300))
c.Spawner.http_timeout = int(S.get("start_timeout_secs", 300))

# --- Authentication -------------------------------------------------------
AUTHENTICATORS = {
    "firstuse": "firstuseauthenticator.FirstUseAuthenticator",
    "native": "nativeauthenticator.NativeAuthenticator",
    "github": "oauthenticator.github.GitHubOAuthenticator",
    "gitlab": "oauthenticator.gitlab.GitLabOAuthenticator",
    "google": "oauthenticator.google.GoogleOAuthenticator",
    "oidc": "oauthenticator.generic.GenericOAuthenticator",
    "ldap": "ldapauthenticator.LDAPAuthenticator",
}
# Authenticators whose login is a username/password form: there the admin
# password from vmbuild (hashed in admin-passwords.json) is accepted for
# the admin names, so an admin can log in before anyone else claims them.
FORM_LOGIN = {"firstuse", "native", "ldap"}


def _load_class(dotted):
    module, _, name = dotted.rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)


def _check_admin_password(stored, password):
    # pbkdf2_sha256$<rounds>$<salt hex>$<hash hex>, written by vmbuild.
    try:
        algo, rounds, salt, want = stored.split("$")
    except ValueError:
        return False
    if algo != "pbkdf2_sha256":
        return False
    got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(rounds))
    return hmac.compare_digest(got.hex(), want)


def with_admin_passwords(base):
    class AdminPasswordAuthenticator(base):
        async def authenticate(self, handler, data):
            name = self.normalize_username(data.get("username", ""))
            try:
                with open(os.path.join(STATE, "admin-passwords.json")) as f:
                    stored = json.load(f)
            except FileNotFoundError:
                stored = {}
            if name in stored:
                ok = _check_admin_password(stored[name], data.get("password", ""))
                return name if ok else None
            result = super().authenticate(handler, data)
            if inspect.isawaitable(result):
                result = await result
            return result

    AdminPasswordAuthenticator.__name__ = base.__name__
    return AdminPasswordAuthenticator


kind = S.get("authenticator", "firstuse")
if kind not in AUTHENTICATORS:
    sys.exit(f"authenticator {kind!r}: expected one of {', '.join(sorted(AUTHENTICATORS))}")
auth_class = _load_class(AUTHENTICATORS[kind])
if kind in FORM_LOGIN:
    auth_class = with_admin_passwords(auth_class)
c.JupyterHub.authenticator_class = auth_class
if kind == "firstuse":
    c.FirstUseAuthenticator.create_users = True
# Authenticator settings pass through to its class (and `Authenticator`).
for key, value in S.get("authenticator_settings", {}).items():
    setattr(getattr(c, AUTHENTICATORS[kind].rsplit(".", 1)[1]), key, value)

c.Authenticator.admin_users = set(S.get("admin_users", []))
# JupyterHub >= 5 admits nobody but admins unless told whom to admit. With a
# password form that is everyone who has an account here (first use, native
# sign-up approval, the LDAP directory); with OAuth it would be everyone on
# GitHub or Google, so there it stays off: give allowed_users or
# allowed_organizations (etc.) in authenticator_settings.
c.Authenticator.allow_all = bool(S.get("allow_all", kind in FORM_LOGIN))

# --- Networking: CHP on 127.0.0.1:8000 (its own unit), nginx in front ------
c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:8081"
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "jupyterhub_cookie_secret")
c.JupyterHub.db_url = "sqlite:///" + os.path.join(STATE, "jupyterhub.sqlite")
c.JupyterHub.cleanup_servers = False

# --- Idle culler ------------------------------------------------------------
timeout = int(S.get("idle_timeout_secs", 3600))
if timeout > 0:
    c.JupyterHub.load_roles = [
        {
            "name": "jupyterhub-idle-culler-role",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["jupyterhub-idle-culler-service"],
        }
    ]
    c.JupyterHub.services = [
        {
            "name": "jupyterhub-idle-culler-service",
            "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={timeout}"],
        }
    ]
