#!/opt/tljh/hub/bin/python3
"""vmbuild-admin-sync: hub admins may sudo, and only while they are admins.

A service of the hub (jupyterhub_config.py starts it, as root, with an API
token that may list users). Every few seconds it puts the unix user of each
hub admin into the sudoers group `jupyterhub-admins` and takes everyone else
out, so a demoted admin loses sudo within ~10 s, server running or not
(sudo.conf sets `group_source dynamic`: the group database decides, not the
groups a running server started with).
"""
import grp
import json
import os
import pwd
import subprocess
import sys
import time
import urllib.request

ADMINS_GROUP = "jupyterhub-admins"
PREFIX = "jupyter-"
# Each poll is one line in the hub's log: every 10 s, not more often.
INTERVAL = float(os.environ.get("VMBUILD_ADMIN_SYNC_SECS", "10"))


def hub_users():
    """Every hub user as (name, admin), page by page."""
    api = os.environ["JUPYTERHUB_API_URL"].rstrip("/")
    token = os.environ["JUPYTERHUB_API_TOKEN"]
    users, offset = [], 0
    while True:
        req = urllib.request.Request(
            f"{api}/users?offset={offset}&limit=200",
            headers={"Authorization": f"token {token}", "Accept": "application/jupyterhub-pagination+json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            page = json.load(r)
        items = page["items"] if isinstance(page, dict) else page
        users += [(u["name"], bool(u.get("admin"))) for u in items]
        nxt = page.get("_pagination", {}).get("next") if isinstance(page, dict) else None
        if not nxt:
            return users
        offset = nxt["offset"]


def unix_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def sync_once():
    admins = {PREFIX + name for name, admin in hub_users() if admin}
    members = set(grp.getgrnam(ADMINS_GROUP).gr_mem)
    for unix in sorted(members - admins):
        # only the hub's own users: the group may hold no one else anyway
        if unix.startswith(PREFIX):
            subprocess.run(["gpasswd", "--delete", unix, ADMINS_GROUP], check=True,
                           stdout=subprocess.DEVNULL)
            print(f"{unix} is no hub admin any more: no sudo", flush=True)
    for unix in sorted(admins - members):
        if unix_exists(unix):
            subprocess.run(["gpasswd", "--add", unix, ADMINS_GROUP], check=True,
                           stdout=subprocess.DEVNULL)
            print(f"{unix} is a hub admin: sudo", flush=True)


def main():
    while True:
        try:
            sync_once()
        except Exception as e:  # the hub restarting, say: try again soon
            print(f"admin sync: {e}", file=sys.stderr, flush=True)
        time.sleep(INTERVAL)


if __name__ == "__main__":
    main()
