# /opt/tljh/config/jupyterhub_config.py -- written by vmbuild; edit settings
# with `tljh-config set KEY VALUE` (or `vmbuild hub set`), not here.
#
# Settings: settings.json (from vmbuild.toml, rewritten by provisioning)
# overlaid by local.json (from tljh-config, never touched by provisioning).
import asyncio
import hashlib
import hmac
import inspect
import json
import os
import pwd
import grp
import sys

from systemdspawner import SystemdSpawner

CONFIG_DIR = "/opt/tljh/config"
STATE = "/opt/tljh/state"
USER_PREFIX = "/opt/tljh/user"
USERS_GROUP = "jupyterhub-users"
ADMINS_GROUP = "jupyterhub-admins"


# Settings whose keys tljh-config sets one by one (`set groups.physics a,b`):
# local.json overrides those keys, not the whole table.
SECTIONS = ("authenticator_settings", "groups")


def load_settings():
    merged = {}
    for name in ("settings.json", "local.json"):
        path = os.path.join(CONFIG_DIR, name)
        if os.path.exists(path):
            with open(path) as f:
                layer = json.load(f)
            sections = {k: layer.pop(k) for k in SECTIONS if k in layer}
            merged.update(layer)
            for k, v in sections.items():
                merged.setdefault(k, {}).update(v)
    return merged


S = load_settings()
c = get_config()  # noqa: F821 (provided by JupyterHub)


# One account change at a time: useradd and gpasswd take the same lock on
# /etc/passwd and /etc/group, and two spawns at once would make one of them
# fail with "cannot lock /etc/passwd".
ACCOUNT_LOCK = asyncio.Lock()


async def run_account_tool(*argv):
    """Run useradd/gpasswd without blocking the hub: under emulation one call
    takes seconds, and every request to the hub would wait for it."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(
            f"{argv[0]} exited {proc.returncode}: {out.decode(errors='replace').strip()}"
        )


class UserCreatingSpawner(SystemdSpawner):
    """Creates the unix user `jupyter-<name>` at first spawn, as TLJH does."""

    async def start(self):
        unix_name = self._expand_user_vars(self.username_template)
        async with ACCOUNT_LOCK:
            try:
                pwd.getpwnam(unix_name)
            except KeyError:
                await run_account_tool(
                    "useradd", "--create-home", "--shell", "/bin/bash",
                    "--groups", USERS_GROUP, unix_name,
                )
                self.log.info("created unix user %s", unix_name)
            # Private homes: user B cannot read user A's notebooks (login.defs
            # HOME_MODE says so too; this also covers homes made before it).
            os.chmod(pwd.getpwnam(unix_name).pw_dir, 0o700)
            # Admins administer the machine (sudo), others not; kept in step at
            # every spawn, and by vmbuild-admin-sync when an admin is demoted.
            members = grp.getgrnam(ADMINS_GROUP).gr_mem
            if self.user.admin and unix_name not in members:
                await run_account_tool("gpasswd", "--add", unix_name, ADMINS_GROUP)
            elif not self.user.admin and unix_name in members:
                await run_account_tool("gpasswd", "--delete", unix_name, ADMINS_GROUP)
            # the user's group memberships and ~/groups links, as the
            # settings say (also touches /etc/group: under the same lock)
            await sync_groups(unix_name)
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
# Not isolate_devices: PrivateDevices= implies NoNewPrivileges= (systemd.exec),
# and that would block the hub admins' sudo (below) in their servers. /dev
# stays what it is for any unix account: guarded by its permissions.
c.SystemdSpawner.isolate_devices = False
# Files a server creates are its user's alone (shared folders say otherwise
# with their setgid group).
c.SystemdSpawner.unit_extra_properties = {"UMask": "0077"}
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
# password from vmbuild (hashed in admin-passwords.json: vmbuild's, the
# owner's, or the one made at this machine's first boot) opens the admin
# names, so no stranger can claim them first.
FORM_LOGIN = {"firstuse", "native", "ldap"}
# Which admin password each admin name was last moved into the
# authenticator's own store with (see with_admin_passwords).
SEEDED = os.path.join(STATE, "admin-seeded.json")


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


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def _write_private_json(path, data):
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def with_admin_passwords(base, kind):
    """`base` with the admin password in front of it.

    With `native` and `firstuse` the admin password is moved into the
    authenticator's own store at the admin's first login with it, so the
    admin changes it in the hub like everyone else (/hub/change-password,
    /hub/auth/change-password); a new admin password (provisioning, a
    machine's first boot) works again until it is used once. With `ldap`
    the admin names always use vmbuild's password.
    """
    can_move = kind in ("native", "firstuse")

    class AdminPasswordAuthenticator(base):
        def _admin_hashes(self):
            return _read_json(os.path.join(STATE, "admin-passwords.json"))

        async def _move_in(self, name, password):
            """Make `password` the admin's password in the authenticator's store."""
            loop = asyncio.get_running_loop()
            if kind == "firstuse":
                await loop.run_in_executor(None, self.reset_password, name, password)
                return
            import bcrypt
            from nativeauthenticator.orm import UserInfo

            # bcrypt in a thread; the database stays on the loop's thread
            hashed = await loop.run_in_executor(
                None, bcrypt.hashpw, password.encode(), bcrypt.gensalt()
            )
            info = self.get_user(name)
            if info is None:
                self.db.add(UserInfo(username=name, password=hashed, is_authorized=True))
            else:
                info.password, info.is_authorized = hashed, True
            self.db.commit()

        async def authenticate(self, handler, data):
            name = self.normalize_username(data.get("username", ""))
            password = data.get("password", "")
            stored = self._admin_hashes().get(name)
            seeded = _read_json(SEEDED).get(name) if can_move else None
            if stored is not None and stored != seeded:
                # PBKDF2 takes ~0.2 s on purpose: off the event loop, so a
                # few logins a second do not stall the hub.
                loop = asyncio.get_running_loop()
                ok = await loop.run_in_executor(None, _check_admin_password, stored, password)
                if ok:
                    if can_move:
                        await self._move_in(name, password)
                        _write_private_json(SEEDED, {**_read_json(SEEDED), name: stored})
                    return name
                if not can_move or seeded is None:
                    # never let a first-use or sign-up store claim an admin name
                    return None
            result = super().authenticate(handler, data)
            if inspect.isawaitable(result):
                result = await result
            return result

        if kind == "native":

            def create_user(self, username, password, **kwargs):
                name = self.normalize_username(username)
                if name in self._admin_hashes():
                    # vmbuild's admins log in with the admin password
                    return None
                info = super().create_user(username, password, **kwargs)
                if info is not None and info.is_authorized and not self.open_signup:
                    # Native pre-approves names in admin_users and
                    # allowed_users at sign-up, so whoever signs up first
                    # would get them: an admin approves those too.
                    info.is_authorized = False
                    self.db.commit()
                return info

    AdminPasswordAuthenticator.__name__ = base.__name__
    return AdminPasswordAuthenticator


kind = S.get("authenticator", "native")
if kind not in AUTHENTICATORS:
    sys.exit(f"authenticator {kind!r}: expected one of {', '.join(sorted(AUTHENTICATORS))}")
auth_class = _load_class(AUTHENTICATORS[kind])
if kind == "native":
    # NativeAuthenticator 1.3.0 (the latest) times logins with the handler's
    # `statsd`, which JupyterHub 6 no longer has: every login would be a 500.
    from nativeauthenticator.handlers import LoginHandler as _NativeLogin

    class _NoTimer:
        def timer(self, *args, **kwargs):
            return self

        def start(self):
            return self

        def stop(self, *args, **kwargs):
            pass

    if not hasattr(_NativeLogin, "statsd"):
        _NativeLogin.statsd = _NoTimer()
if kind in FORM_LOGIN:
    auth_class = with_admin_passwords(auth_class, kind)
c.JupyterHub.authenticator_class = auth_class
section = getattr(c, AUTHENTICATORS[kind].rsplit(".", 1)[1])
# No open sign-up by default. Native: anyone may ask for an account at
# /hub/signup, an admin approves it at /hub/authorize. FirstUse: only users
# an admin added in the admin panel, who set their password at first login.
if kind == "native":
    section.open_signup = False
    section.minimum_password_length = 8
    section.check_common_password = True
if kind == "firstuse":
    section.create_users = False
    section.min_password_length = 8
# Authenticator settings pass through to its class (and `Authenticator`).
for key, value in S.get("authenticator_settings", {}).items():
    setattr(section, key, value)

c.Authenticator.admin_users = set(S.get("admin_users", []))
# Hub names become unix names `jupyter-<name>`: keep them plain.
c.Authenticator.username_pattern = r"^[a-z0-9][a-z0-9._-]{0,31}$"
# JupyterHub >= 5 admits nobody but admins unless told whom to admit. With a
# password form that is everyone the authenticator itself accepts (an
# approved sign-up, a user an admin added, the LDAP directory); with OAuth it
# would be everyone on GitHub or Google, so there it stays off: give
# allowed_users or allowed_organizations (etc.) in authenticator_settings.
c.Authenticator.allow_all = bool(S.get("allow_all", kind in FORM_LOGIN))

# --- Networking: CHP on 127.0.0.1:8000 (its own unit), nginx in front ------
c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:8081"
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "jupyterhub_cookie_secret")
c.JupyterHub.db_url = "sqlite:///" + os.path.join(STATE, "jupyterhub.sqlite")
c.JupyterHub.cleanup_servers = False

# --- Services: admin sync, idle culler ---------------------------------------
# Hub admins may sudo only while they are admins (recipes/files/vmbuild-admin-sync.py).
roles = [
    {
        "name": "vmbuild-admin-sync-role",
        "scopes": ["list:users", "read:users"],
        "services": ["vmbuild-admin-sync"],
    }
]
services = [
    {
        "name": "vmbuild-admin-sync",
        "command": [sys.executable, "/usr/local/sbin/vmbuild-admin-sync"],
    }
]
timeout = int(S.get("idle_timeout_secs", 3600))
if timeout > 0:
    roles.append(
        {
            "name": "jupyterhub-idle-culler-role",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["jupyterhub-idle-culler-service"],
        }
    )
    services.append(
        {
            "name": "jupyterhub-idle-culler-service",
            "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={timeout}"],
        }
    )


# --- Groups: [[groups]] in vmbuild.toml, `tljh-config set groups.NAME a,b` --
# Each group is a unix group `group-NAME` (its folder /srv/groups/NAME and
# the S3 buckets it may use) and a JupyterHub group. vmbuild-group-sync
# keeps both in step with the settings: for one user before each spawn
# (so a change reaches the user's next server at the latest), and as a hub
# service for everyone when the hub starts (`tljh-config set` restarts it)
# and every 30 s.
GROUP_SYNC = "/usr/local/sbin/vmbuild-group-sync"


async def sync_groups(unix_name):
    """The user's unix groups and ~/groups links, as the settings say."""
    if S.get("groups") or S.get("unix_groups"):
        await run_account_tool(GROUP_SYNC, "--user", unix_name)


if S.get("groups"):
    roles.append(
        {
            "name": "vmbuild-group-sync-role",
            "scopes": ["list:users", "read:users", "list:groups", "read:groups", "groups", "admin:groups"],
            "services": ["vmbuild-group-sync"],
        }
    )
    services.append({"name": "vmbuild-group-sync", "command": [sys.executable, GROUP_SYNC]})

c.JupyterHub.load_roles = roles
c.JupyterHub.services = services
