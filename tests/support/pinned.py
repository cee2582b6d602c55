"""HTTPS to an appliance whose certificate is its own (self-signed at first
boot): trusted by its SHA-256 fingerprint, the way its owner compares the
one shown on the console or by `vmbuild hub show`, not by a CA. Used by
hub_check.py and security_check.py (this directory is on their sys.path).
"""
import hashlib
import socket
import ssl
import urllib.parse

import requests
import urllib3
from requests.adapters import HTTPAdapter

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def normalize(fingerprint):
    """`AB:CD:…` or `abcd…` → `abcd…` (64 hex digits)."""
    fp = fingerprint.replace(":", "").strip().lower()
    if len(fp) != 64 or any(ch not in "0123456789abcdef" for ch in fp):
        raise ValueError(f"not a SHA-256 fingerprint: {fingerprint!r}")
    return fp


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, fingerprint):
        self._fp = fingerprint
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        # urllib3 compares the peer certificate's digest itself; CA and
        # host name checks are replaced by that comparison.
        kwargs["assert_fingerprint"] = self._fp
        kwargs["cert_reqs"] = ssl.CERT_NONE
        super().init_poolmanager(*args, **kwargs)


def session(fingerprint):
    """A requests session that accepts only the certificate `fingerprint`."""
    s = requests.Session()
    # REQUESTS_CA_BUNDLE & co would otherwise turn CA verification back on,
    # and proxy variables must not reach a loopback port
    s.trust_env = False
    s.verify = False
    s.mount("https://", _PinnedAdapter(normalize(fingerprint)))
    return s


def served_fingerprint(base_url):
    """SHA-256 (hex) of the certificate served at `base_url`."""
    u = urllib.parse.urlsplit(base_url)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((u.hostname, u.port or 443), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname=u.hostname) as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def websocket_options(fingerprint):
    """`sslopt` for websocket-client, and a check to run on the connection."""
    want = normalize(fingerprint)

    def check(ws):
        got = hashlib.sha256(ws.sock.getpeercert(binary_form=True)).hexdigest()
        if got != want:
            raise ssl.SSLError(f"websocket certificate {got} is not the pinned {want}")

    return {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}, check
