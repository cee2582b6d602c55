#!/bin/bash
# Regenerate the appliance's pinned package lists (recipes/locks/*.txt) by
# resolving the top-level packages in throwaway venvs with Debian's own
# /usr/bin/python3 (3.11.2 on Debian 12, as in the appliance; a pyenv or newer
# python3 on PATH would pick releases the appliance cannot install).
#   scripts/lock.sh            resolve the latest releases of the top-level set
#   JUPYTERHUB=6.1.1 scripts/lock.sh   pin the hub (and the user's singleuser) version
set -euo pipefail
cd "$(dirname "$0")/.."
JUPYTERHUB=${JUPYTERHUB:-6.1.1}
HUB_TOP="jupyterhub==$JUPYTERHUB jupyterhub-systemdspawner jupyterhub-firstuseauthenticator
  jupyterhub-nativeauthenticator jupyterhub-idle-culler oauthenticator jupyterhub-ldapauthenticator"
USER_TOP="jupyterlab notebook ipykernel jupyterhub==$JUPYTERHUB"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lock() { # name, header, packages...
    local name=$1 header=$2
    shift 2
    # Debian's interpreter, not one from PATH (pyenv): the appliance runs 3.11.2
    /usr/bin/python3 -m venv "$tmp/$name"
    "$tmp/$name/bin/pip" install -q --disable-pip-version-check "$@"
    { printf '%s\n' "$header"; "$tmp/$name/bin/pip" freeze --all --exclude pip --exclude setuptools; } \
        > "recipes/locks/$name.txt.new"
    mv "recipes/locks/$name.txt.new" "recipes/locks/$name.txt"
    echo "recipes/locks/$name.txt: $(grep -c == "recipes/locks/$name.txt") pins"
}
# shellcheck disable=SC2086
lock hub "# Hub venv /opt/tljh/hub: every package pinned (pip freeze on Debian 12's Python 3.11).
# Regenerate with scripts/lock.sh; bump jupyterhub here and in user.txt together." $HUB_TOP
# shellcheck disable=SC2086
lock user "# User venv /opt/tljh/user base: JupyterLab, Notebook, ipykernel and the hub's
# singleuser (same jupyterhub as locks/hub.txt). The configured python.packages come on top." $USER_TOP
