#!/usr/bin/env python3
"""Checks a vmbuild appliance's hub from outside, as a user's browser would.

usage: hub_check.py [--no-r] [--imports M,M…] [--r-libraries L,L…]
                    FINGERPRINT BASE_URL ADMIN PASSWORD SHARED_FILE EXPECTED_TEXT

BASE_URL is the hub over HTTPS (https://127.0.0.1:8443 for a forwarded
port 443); FINGERPRINT is the SHA-256 of the instance's own certificate
(`vmbuild hub show` prints it as tls_fingerprint_sha256; `AB:CD:…` or hex),
and only a server with that certificate is trusted.

Through nginx at BASE_URL: the certificate served is the instance's; the
login page; a wrong password is refused; the admin logs in with the form
(and its _xsrf token; the admin password then moves into the
authenticator, see jupyterhub_config.py); an API token is made; the admin's
server is started and awaited; python3 runs `print(1+1)` and ir runs `1+1`
(not with --no-r) over the kernel websocket, then a python3 cell imports
each --imports module and uses it, and an ir cell loads each --r-libraries
library (the configured packages: a CPU the guest cannot run them on shows
up here as a dead kernel); SHARED_FILE (relative to the
user's home) is read through the Jupyter contents API. Prints
`CHECK name: detail` lines and `MEASURED` timings; exits non-zero on the
first failure. Needs `requests` and `websocket-client`.
"""
import json
import re
import sys
import time
import uuid

import websocket

import pinned

ARGS, IMPORTS, R_LIBRARIES, WITH_R = [], [], [], True
_argv = iter(sys.argv[1:])
for _a in _argv:
    if _a == "--no-r":
        WITH_R = False
    elif _a == "--imports":
        IMPORTS = [m.strip() for m in next(_argv).split(",") if m.strip()]
    elif _a == "--r-libraries":
        R_LIBRARIES = [m.strip() for m in next(_argv).split(",") if m.strip()]
    else:
        ARGS.append(_a)
FINGERPRINT, BASE, ADMIN, PASSWORD, SHARED, EXPECTED = ARGS[:6]
T0 = time.time()
HTTP = pinned.session(FINGERPRINT)
WS_SSL, WS_CHECK = pinned.websocket_options(FINGERPRINT)


def check(name, ok, detail=""):
    print(f"CHECK {name}: {'ok' if ok else 'FAILED'} {detail}".rstrip(), flush=True)
    if not ok:
        sys.exit(1)


def xsrf_of(session, text):
    m = re.search(r'name="_xsrf"\s+value="([^"]+)"', text)
    return m.group(1) if m else session.cookies.get("_xsrf")


def login(password):
    s = pinned.session(FINGERPRINT)
    r = s.get(BASE + "/hub/login", timeout=60)
    return s, r, s.post(
        BASE + "/hub/login?next=",
        data={"username": ADMIN, "password": password, "_xsrf": xsrf_of(s, r.text)},
        allow_redirects=False,
        timeout=120,
    )


# The console note appears before the hub listens. Until its proxy does,
# nginx says "JupyterHub is starting" (503); then the proxy answers 503 until
# the hub behind it is up. A student reloads; so does this, for a while.
t, said_starting = time.time(), False
while True:
    try:
        r = HTTP.get(BASE + "/hub/login", timeout=30)
        if r.status_code not in (502, 503, 504):
            break
        if "JupyterHub is starting" in r.text and not said_starting:
            said_starting = True
            check("while the hub's proxy starts, nginx says so", True, f"HTTP {r.status_code}")
    except OSError as e:  # requests' ConnectionError is one
        r = e
    if time.time() - t > 300:
        check("hub answers within 300 s of the console note", False, str(r)[:300])
    time.sleep(3)
print(f"MEASURED hub answering after the console note: {time.time() - t:.0f} s", flush=True)
served = pinned.served_fingerprint(BASE)
check("HTTPS serves the instance's certificate", served == pinned.normalize(FINGERPRINT), served)
s, page, _ = login(PASSWORD + "-wrong")
check("login page", page.status_code == 200 and "password" in page.text.lower(), f"HTTP {page.status_code}")
_, _, bad = login(PASSWORD + "-wrong")
check("wrong password refused", bad.status_code != 302, f"HTTP {bad.status_code}")
s, _, r = login(PASSWORD)
check("admin login", r.status_code == 302, f"HTTP {r.status_code} -> {r.headers.get('Location')}")
xs = s.cookies.get("_xsrf") or ""
r = s.post(
    BASE + f"/hub/api/users/{ADMIN}/tokens",
    headers={"X-XSRFToken": xs, "Referer": BASE + "/hub/token"},
    json={"note": "vmbuild e2e", "expires_in": 3600},
    timeout=60,
)
check("API token", r.status_code in (200, 201), f"HTTP {r.status_code}")
H = {"Authorization": "token " + r.json()["token"]}

user = HTTP.get(BASE + f"/hub/api/users/{ADMIN}", headers=H, timeout=60).json()
check("admin is admin", user.get("admin") is True)
t = time.time()
if not user.get("servers", {}).get("", {}).get("ready"):
    r = HTTP.post(BASE + f"/hub/api/users/{ADMIN}/server", headers=H, timeout=120)
    check("spawn requested", r.status_code in (201, 202), f"HTTP {r.status_code} {r.text[:300]}")
    deadline = time.time() + 600
    while time.time() < deadline:
        srv = HTTP.get(BASE + f"/hub/api/users/{ADMIN}", headers=H, timeout=60).json().get("servers", {}).get("", {})
        if srv.get("ready"):
            break
        if not srv:
            check("spawn", False, "the server went away (see the hub's journal)")
        time.sleep(2)
    else:
        check("spawn", False, "not ready after 600 s")
print(f"MEASURED server start: {time.time() - t:.0f} s", flush=True)
check("server ready", True)

api = BASE + f"/user/{ADMIN}/api"
specs = HTTP.get(api + "/kernelspecs", headers=H, timeout=60).json()["kernelspecs"]
check("kernels", ({"python3", "ir"} if WITH_R else {"python3"}) <= set(specs), f"{sorted(specs)}")


def execute(kernel, code):
    t = time.time()
    r = HTTP.post(api + "/kernels", headers=H, json={"name": kernel}, timeout=120)
    check(f"{kernel} kernel started", r.status_code == 201, f"HTTP {r.status_code}")
    kid = r.json()["id"]
    ws = websocket.create_connection(
        BASE.replace("https", "wss", 1) + f"/user/{ADMIN}/api/kernels/{kid}/channels",
        header=["Authorization: " + H["Authorization"]],
        timeout=300,
        sslopt=WS_SSL,
    )
    WS_CHECK(ws)
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": ADMIN, "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }))
    out = []
    deadline = time.time() + 300
    while time.time() < deadline:
        m = json.loads(ws.recv())
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
    ws.close()
    HTTP.delete(api + f"/kernels/{kid}", headers=H, timeout=60)
    print(f"MEASURED {kernel} kernel start + execute: {time.time() - t:.0f} s", flush=True)
    return "".join(out).strip()


res = execute("python3", "print(1+1)")
check("python3 print(1+1)", res == "2", repr(res))
if WITH_R:
    res = execute("ir", "1+1")
    check("ir 1+1", res == "[1] 2", repr(res))
if IMPORTS:
    # import each module and touch it, in one kernel: an Illegal instruction
    # (a guest CPU without the wheels' instruction set) kills the kernel
    code = "import importlib\n" + "".join(
        f"m = importlib.import_module({m!r}); print({m!r}, getattr(m, '__version__', 'ok'))\n"
        for m in IMPORTS)
    if "numpy" in IMPORTS:
        code += "import numpy; print('numpy-sum', int(numpy.arange(10).sum()))\n"
    res = execute("python3", code)
    ok = all(f"{m} " in res for m in IMPORTS) and "ERROR" not in res
    if "numpy" in IMPORTS:
        ok = ok and "numpy-sum 45" in res
    check("python3 imports " + ", ".join(IMPORTS), ok, repr(res[-400:]))
if WITH_R and R_LIBRARIES:
    code = "".join(f"suppressPackageStartupMessages(library({l})); cat('{l}', 'loaded\\n')\n"
                   for l in R_LIBRARIES)
    res = execute("ir", code)
    ok = all(f"{l} loaded" in res for l in R_LIBRARIES) and "ERROR" not in res
    check("ir loads " + ", ".join(R_LIBRARIES), ok, repr(res[-400:]))
r = HTTP.get(api + "/contents/" + SHARED, headers=H, params={"content": "1"}, timeout=60)
got = r.json().get("content", "") if r.status_code == 200 else r.text[:300]
check("shared data readable from the server", r.status_code == 200 and EXPECTED in got, f"HTTP {r.status_code} {got!r}")
print(f"MEASURED hub checks total: {time.time() - T0:.0f} s", flush=True)
