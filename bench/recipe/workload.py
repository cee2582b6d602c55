#!/usr/bin/env python3
"""Write the same ~50-operation JupyterHub-like workload three ways:
a vmbuild recipe, an Ansible playbook and a pyinfra deploy.

    workload.py OUTDIR    -> OUTDIR/recipe.toml, playbook.yml, deploy.py
"""
import json
import sys
from pathlib import Path

HUB = "/opt/bench-hub"
DIRS = [f"{HUB}/etc/d{i}" for i in range(12)]
FILES = [(f"{DIRS[i % 12]}/conf{i}.py", f"# setting {i}\nc.Bench.value_{i} = {i}\n") for i in range(20)]
LINES = [(f"{HUB}/etc/lines{i}.conf", f"key{i} = on") for i in range(4)]
BLOCKS = [(f"{HUB}/etc/block{i}.conf", f"[section{i}]\nenabled = true") for i in range(3)]
LINKS = [(f"{HUB}/current{i}", DIRS[i]) for i in range(3)]
USERS = ["bench-admin", "bench-student1", "bench-student2"]
# python3-packaging: Ansible's pip module needs it on the host
APT = [["tree", "jq", "python3-packaging"], ["less"]]
PIP = ["six==1.16.0", "idna==3.7"]


def q(s):
    return json.dumps(s)  # a valid TOML/YAML/Python string literal


def recipe():
    out = []

    def r(name, typ, **kw):
        lines = ["[[resource]]", f"name = {q(name)}", f"type = {q(typ)}"]
        for k, v in kw.items():
            lines.append(f"{k} = {json.dumps(v)}")
        out.append("\n".join(lines))

    for i, p in enumerate(APT):
        r(f"apt {i}", "apt.packages", packages=p)
    r("group", "group", group="bench-students")
    for u in USERS:
        r(f"user {u}", "user", user=u, groups=["bench-students"], shell="/bin/bash")
    r("hub dir", "directory", path=HUB, mode="0755")
    r("etc dir", "directory", path=f"{HUB}/etc", mode="0755")
    for d in DIRS[:10]:
        r(f"dir {d}", "directory", path=d, mode="0755")
    for d in DIRS[10:]:
        r(f"dir {d}", "directory", path=d, mode="0750")
    for p, c in FILES:
        r(f"file {p}", "file", path=p, content=c, mode="0644")
    for p, l in LINES:
        r(f"line {p}", "line", path=p, line=l, create=True)
    for p, b in BLOCKS:
        r(f"block {p}", "block", path=p, block=b, create=True)
    for p, t in LINKS:
        r(f"link {p}", "symlink", path=p, target=t)
    for i, p in enumerate(PIP):
        r(f"pip {i}", "pip.packages", venv=f"{HUB}/venv", packages=[p])
    return "\n\n".join(out) + "\n"


def playbook():
    t = ["- hosts: all", "  gather_facts: false", "  tasks:"]

    def task(name, module, args):
        t.append(f"    - name: {q(name)}")
        t.append(f"      {module}: {json.dumps(args)}")

    for i, p in enumerate(APT):
        task(f"apt {i}", "ansible.builtin.apt", {"name": p, "update_cache": True, "cache_valid_time": 3600, "install_recommends": False})
    task("group", "ansible.builtin.group", {"name": "bench-students"})
    for u in USERS:
        task(f"user {u}", "ansible.builtin.user", {"name": u, "groups": ["bench-students"], "append": True, "shell": "/bin/bash"})
    task("hub dir", "ansible.builtin.file", {"path": HUB, "state": "directory", "mode": "0755"})
    task("etc dir", "ansible.builtin.file", {"path": f"{HUB}/etc", "state": "directory", "mode": "0755"})
    for j, d in enumerate(DIRS):
        task(f"dir {d}", "ansible.builtin.file", {"path": d, "state": "directory", "mode": "0755" if j < 10 else "0750"})
    for p, c in FILES:
        task(f"file {p}", "ansible.builtin.copy", {"dest": p, "content": c, "mode": "0644"})
    for p, l in LINES:
        task(f"line {p}", "ansible.builtin.lineinfile", {"path": p, "line": l, "create": True})
    for p, b in BLOCKS:
        task(f"block {p}", "ansible.builtin.blockinfile", {"path": p, "block": b, "create": True})
    for p, tg in LINKS:
        task(f"link {p}", "ansible.builtin.file", {"path": p, "src": tg, "state": "link"})
    for i, p in enumerate(PIP):
        task(f"pip {i}", "ansible.builtin.pip", {"name": [p], "virtualenv": f"{HUB}/venv", "virtualenv_command": "python3 -m venv"})
    return "\n".join(t) + "\n"


def deploy():
    d = ["from io import StringIO", "from pyinfra.operations import apt, files, pip, server", ""]
    for i, p in enumerate(APT):
        d.append(f"apt.packages(name={q('apt ' + str(i))}, packages={p!r}, update=True, cache_time=3600, no_recommends=True)")
    d.append("server.group(name='group', group='bench-students')")
    for u in USERS:
        d.append(f"server.user(name={q('user ' + u)}, user={q(u)}, groups=['bench-students'], append=True, shell='/bin/bash')")
    d.append(f"files.directory(name='hub dir', path={q(HUB)}, mode='755')")
    d.append(f"files.directory(name='etc dir', path={q(HUB + '/etc')}, mode='755')")
    for j, dd in enumerate(DIRS):
        d.append(f"files.directory(name={q('dir ' + dd)}, path={q(dd)}, mode={q('755' if j < 10 else '750')})")
    for p, c in FILES:
        d.append(f"files.put(name={q('file ' + p)}, src=StringIO({q(c)}), dest={q(p)}, mode='644')")
    for p, l in LINES:
        d.append(f"files.line(name={q('line ' + p)}, path={q(p)}, line={q(l)}, ensure_newline=True)")
    for p, b in BLOCKS:
        d.append(f"files.block(name={q('block ' + p)}, path={q(p)}, content={q(b)})")
    for p, tg in LINKS:
        d.append(f"files.link(name={q('link ' + p)}, path={q(p)}, target={q(tg)})")
    for i, p in enumerate(PIP):
        d.append(f"pip.packages(name={q('pip ' + str(i))}, packages=[{q(p)}], virtualenv={q(HUB + '/venv')}, virtualenv_kwargs={{'venv': True, 'python': 'python3'}})")
    return "\n".join(d) + "\n"


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    (out / "recipe.toml").write_text(recipe())
    (out / "playbook.yml").write_text(playbook())
    (out / "deploy.py").write_text(deploy())
