#!/opt/tljh/hub/bin/python3
"""vmbuild-group-sync: keep the groups of [[groups]] in step (written by vmbuild).

usage: vmbuild-group-sync --user UNIX_NAME   one user's unix groups and links
                                             (the spawner, before each start)
       vmbuild-group-sync --once             every user, unix side only
       vmbuild-group-sync                    a hub service: every user, unix
                                             and JupyterHub groups, at start
                                             and every VMBUILD_GROUP_SYNC_SECS

The groups and their members are the hub's settings (`groups` in
settings.json from vmbuild.toml, overridden by `tljh-config set
groups.NAME a,b` in local.json). For each group NAME:
  - unix group `group-NAME` holds `jupyter-<member>` of every member that
    has a unix user, and nobody else of the hub's users;
  - `~/groups/NAME` in a member's home links to /srv/groups/NAME (setgid,
    sticky, 3770: members only); a former member's link is removed;
  - a JupyterHub group NAME with the members that exist in the hub.
`unix_groups` in the settings adds the unix groups of buckets shared by
several groups (`s3-<bucket>`: the members of all of them).
A running server keeps the groups it started with; its next start has the
new ones.
"""
import grp
import json
import os
import pwd
import subprocess
import sys
import time
import urllib.parse
import urllib.request

CONFIG_DIR = "/opt/tljh/config"
PREFIX = "jupyter-"
FOLDERS = "/srv/groups"
LINKS = "groups"
INTERVAL = float(os.environ.get("VMBUILD_GROUP_SYNC_SECS", "30"))


def settings():
    merged = {}
    for name in ("settings.json", "local.json"):
        try:
            with open(os.path.join(CONFIG_DIR, name)) as f:
                layer = json.load(f)
        except FileNotFoundError:
            continue
        groups = layer.pop("groups", None)
        merged.update(layer)
        if groups is not None:
            merged.setdefault("groups", {}).update(groups)
    return merged


def wanted(s):
    """{unix group: set of unix user names} for every managed unix group."""
    groups = s.get("groups", {})
    out = {f"group-{g}": {PREFIX + m for m in members} for g, members in groups.items()}
    for unix, names in s.get("unix_groups", {}).items():
        out[unix] = {PREFIX + m for g in names for m in groups.get(g, [])}
    return out


def unix_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def gpasswd(flag, user, group):
    subprocess.run(["gpasswd", flag, user, group], check=True, stdout=subprocess.DEVNULL)


def sync_unix(s, only=None):
    """Unix group memberships and home links; `only` limits it to one user."""
    for unix, members in sorted(wanted(s).items()):
        try:
            current = set(grp.getgrnam(unix).gr_mem)
        except KeyError:
            print(f"group sync: no unix group {unix} (provision again)", file=sys.stderr, flush=True)
            continue
        for user in sorted(current - members):
            # only the hub's own users: someone the owner added stays
            if user.startswith(PREFIX) and only in (None, user):
                gpasswd("--delete", user, unix)
                print(f"{user} left {unix}", flush=True)
        for user in sorted(members - current):
            if only in (None, user) and unix_exists(user):
                gpasswd("--add", user, unix)
                print(f"{user} joined {unix}", flush=True)
    groups = s.get("groups", {})
    users = [only] if only else sorted(u.pw_name for u in pwd.getpwall() if u.pw_name.startswith(PREFIX))
    for user in users:
        if unix_exists(user):
            mine = {g for g, members in groups.items() if user[len(PREFIX):] in members}
            links(user, mine, set(groups))


def links(user, mine, managed):
    """~/groups/<g> for each group in `mine`; links of other managed groups go.

    Root works inside a home its user controls: every step is relative to a
    directory opened without following symlinks, so a link the user planted
    cannot send root's writes elsewhere.
    """
    pw = pwd.getpwnam(user)
    try:
        home = os.open(pw.pw_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        if mine:
            try:
                os.mkdir(LINKS, 0o755, dir_fd=home)
                os.chown(LINKS, pw.pw_uid, pw.pw_gid, dir_fd=home, follow_symlinks=False)
            except FileExistsError:
                pass
        try:
            d = os.open(LINKS, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=home)
        except OSError:
            return  # no ~/groups (or not a directory the user made): nothing to keep in step
        try:
            for g in sorted(managed):
                target = os.path.join(FOLDERS, g)
                try:
                    current = os.readlink(g, dir_fd=d)
                except FileNotFoundError:
                    current = None
                except OSError:
                    continue  # a file or folder of the user's own: left alone
                if g in mine and current != target:
                    if current is not None:
                        os.unlink(g, dir_fd=d)
                    os.symlink(target, g, dir_fd=d)
                    os.chown(g, pw.pw_uid, pw.pw_gid, dir_fd=d, follow_symlinks=False)
                elif g not in mine and current == target:
                    os.unlink(g, dir_fd=d)
        finally:
            os.close(d)
    finally:
        os.close(home)


def api(method, path, body=None):
    url = os.environ["JUPYTERHUB_API_URL"].rstrip("/") + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"token {os.environ['JUPYTERHUB_API_TOKEN']}",
        "Accept": "application/jupyterhub-pagination+json",
        "Content-Type": "application/json",
    })
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read()
    return json.loads(text) if text else None


def paged(path):
    items, offset = [], 0
    while True:
        sep = "&" if "?" in path else "?"
        page = api("GET", f"{path}{sep}offset={offset}&limit=200")
        items += page["items"] if isinstance(page, dict) else page
        nxt = page.get("_pagination", {}).get("next") if isinstance(page, dict) else None
        if not nxt:
            return items
        offset = nxt["offset"]


def sync_hub(s):
    """JupyterHub groups: members that exist in the hub, nobody else."""
    users = {u["name"] for u in paged("/users")}
    existing = {g["name"]: set(g.get("users", [])) for g in paged("/groups")}
    for g, members in sorted(s.get("groups", {}).items()):
        q = urllib.parse.quote(g)
        if g not in existing:
            api("POST", f"/groups/{q}", {})
            existing[g] = set()
            print(f"hub group {g} created", flush=True)
        want = set(members) & users
        if want - existing[g]:
            api("POST", f"/groups/{q}/users", {"users": sorted(want - existing[g])})
        if existing[g] - want:
            api("DELETE", f"/groups/{q}/users", {"users": sorted(existing[g] - want)})
        if want != existing[g]:
            print(f"hub group {g}: {', '.join(sorted(want)) or 'nobody'}", flush=True)


def main(argv):
    if argv[:1] == ["--user"] and len(argv) == 2:
        sync_unix(settings(), only=argv[1])
        return 0
    if argv == ["--once"]:
        sync_unix(settings())
        return 0
    if argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    while True:
        try:
            s = settings()
            sync_unix(s)
            sync_hub(s)
        except Exception as e:  # the hub restarting, say: try again soon
            print(f"group sync: {e}", file=sys.stderr, flush=True)
        time.sleep(INTERVAL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
