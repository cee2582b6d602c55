#!/opt/tljh/hub/bin/python3
"""vmbuild-s3: the S3 buckets of [[data.s3]], mounted by s3fs (written by vmbuild).

usage: vmbuild-s3 unit NAME [--check]   write the bucket's systemd mount unit
                                        (--check: exit 0 when it is current)
       vmbuild-s3 check NAME            sign one request with the bucket's
                                        credentials: can they list the bucket?
       vmbuild-s3 mount NAME            check, then start the mount unit
       vmbuild-s3 prune [--check] NAME...  unmount and remove every bucket
                                        vmbuild-s3 set up but NAME...

NAME's settings are in /etc/vmbuild/s3/NAME.json (no secrets), its
credentials in /etc/vmbuild/s3/NAME.passwd (root only, `ID:SECRET`, as
s3fs reads it). Every failure names the bucket and says why in one line;
no key is ever printed, and nothing waits longer than ~20 s.
"""
import datetime
import grp
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

DIR = "/etc/vmbuild/s3"
UNITS = "/etc/systemd/system"
TMP = "/var/cache/vmbuild-s3"
TIMEOUT = 15

# S3 error codes and what they mean for whoever reads the provisioning log.
MEANING = {
    "InvalidAccessKeyId": "the endpoint does not know the access key ID (check `credentials.access_key_id`)",
    "SignatureDoesNotMatch": "the secret access key is wrong (check `credentials.secret_access_key`)",
    "AccessDenied": "the credentials may not list the bucket (access denied)",
    "NoSuchBucket": "there is no such bucket at the endpoint",
    "AuthorizationHeaderMalformed": "the endpoint wants another region (check `region`)",
    "PermanentRedirect": "the bucket is in another region or needs another endpoint",
}


class Failure(Exception):
    pass


def spec_of(name):
    try:
        with open(os.path.join(DIR, f"{name}.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        raise Failure(f"S3 bucket `{name}`: not configured (no {DIR}/{name}.json)")


def what(spec):
    return f"S3 bucket `{spec['name']}` ({spec['bucket']} at {spec['endpoint']})"


def passwd_file(spec):
    return os.path.join(DIR, f"{spec['name']}.passwd")


def unit_text(spec):
    gid = 0
    if spec.get("group"):
        try:
            gid = grp.getgrnam(spec["group"]).gr_gid
        except KeyError:
            raise Failure(f"{what(spec)}: no unix group `{spec['group']}`")
    umask = spec["umask"]
    opts = [
        # nosuid, nodev: whoever writes to the bucket elsewhere (its mode
        # metadata included) must not get a setuid file or a device here
        "_netdev", spec["mode"], "nosuid", "nodev", "allow_other", "default_permissions",
        "uid=0", f"gid={gid}", f"umask={umask}", f"mp_umask={umask}",
        f"passwd_file={passwd_file(spec)}", f"url={spec['endpoint']}",
        f"endpoint={spec['region']}", "sigv4",
        # one big read must not fill the disk: s3fs keeps this much free
        f"ensure_diskfree={spec['keep_free_mb']}", f"tmpdir={TMP}",
        # a network blip: each request is retried, then fails alone
        "retries=5", "connect_timeout=10", "readwrite_timeout=60",
        "stat_cache_expire=30",
    ]
    if spec.get("path_style"):
        opts.append("use_path_request_style")
    return f"""# vmbuild: {what(spec)}, mounted by s3fs. Written by vmbuild-s3.
[Unit]
Description={what(spec)}
Documentation=man:s3fs(1)
# A network mount, said outright: systemd does not know `fuse.s3fs` as one,
# and as a local mount (Before=local-fs.target) after network-online.target
# it makes an ordering cycle that leaves the boot without logins.
DefaultDependencies=no
Wants=network-online.target
After=network-online.target remote-fs-pre.target
Before=remote-fs.target umount.target
Conflicts=umount.target
# no credentials on this machine (an image made without them): no mount
ConditionPathExists={passwd_file(spec)}

[Mount]
What={spec['bucket']}
Where={spec['mount']}
Type=fuse.s3fs
Options={','.join(opts)}
TimeoutSec=90

[Install]
WantedBy=remote-fs.target
"""


def unit(name, check_only):
    spec = spec_of(name)
    path = os.path.join(UNITS, spec["unit"])
    text = unit_text(spec)
    try:
        with open(path) as f:
            current = f.read() == text
    except FileNotFoundError:
        current = False
    if check_only:
        return 0 if current else 1
    os.makedirs(TMP, mode=0o700, exist_ok=True)
    # unmounted, the folder shows nothing to anyone
    os.makedirs(spec["mount"], mode=0o700, exist_ok=True)
    if not current:
        fd, tmp = tempfile.mkstemp(dir=UNITS, prefix=".vmbuild-s3.")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        # a mounted bucket takes new options only when mounted again
        subprocess.run(["systemctl", "try-restart", spec["unit"]], check=False)
        print(f"wrote {path}")
    subprocess.run(["systemctl", "enable", "--quiet", spec["unit"]], check=True)
    return 0


def credentials(spec):
    try:
        with open(passwd_file(spec)) as f:
            key_id, _, secret = f.read().strip().partition(":")
    except FileNotFoundError:
        raise Failure(f"{what(spec)}: no credentials ({passwd_file(spec)})")
    return key_id, secret


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def list_request(spec, key_id, secret):
    """GET ?list-type=2&max-keys=1 on the bucket, signed (AWS signature v4)."""
    u = urllib.parse.urlsplit(spec["endpoint"])
    base = u.path.rstrip("/")
    if spec.get("path_style"):
        host, path = u.netloc, f"{base}/{spec['bucket']}"
    else:
        host, path = f"{spec['bucket']}.{u.netloc}", base or "/"
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    query = "list-type=2&max-keys=1"
    empty = hashlib.sha256(b"").hexdigest()
    headers = f"host:{host}\nx-amz-content-sha256:{empty}\nx-amz-date:{stamp}\n"
    signed = "host;x-amz-content-sha256;x-amz-date"
    canonical = "\n".join(["GET", urllib.parse.quote(path), query, headers, signed, empty])
    scope = f"{day}/{spec['region']}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = _hmac(("AWS4" + secret).encode(), day)
    for part in (spec["region"], "s3", "aws4_request"):
        k = _hmac(k, part)
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(f"{u.scheme}://{host}{path}?{query}", headers={
        "Host": host, "x-amz-date": stamp, "x-amz-content-sha256": empty,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, "
                         f"SignedHeaders={signed}, Signature={signature}",
    })
    return req


def check(name):
    spec = spec_of(name)
    key_id, secret = credentials(spec)
    try:
        # no proxy from the environment: s3fs, started by systemd, has none
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(list_request(spec, key_id, secret), timeout=TIMEOUT):
            pass
    except urllib.error.HTTPError as e:
        try:
            code = ET.fromstring(e.read()).findtext("Code") or ""
        except ET.ParseError:
            code = ""
        meaning = MEANING.get(code, "the endpoint refused the request" if code
                              else "the endpoint does not answer as S3 does (is `endpoint` right?)")
        raise Failure(f"{what(spec)}: {meaning} (HTTP {e.code}{' ' + code if code else ''})")
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise Failure(f"{what(spec)}: cannot reach the endpoint within {TIMEOUT} s ({reason})")
    print(f"{what(spec)}: the credentials list the bucket")
    return 0


def mount(name):
    spec = spec_of(name)
    check(name)
    r = subprocess.run(["systemctl", "start", spec["unit"]], capture_output=True, text=True)
    if r.returncode != 0 or subprocess.run(["mountpoint", "-q", spec["mount"]]).returncode != 0:
        log = subprocess.run(["journalctl", "-u", spec["unit"], "-n", "5", "--no-pager", "-o", "cat"],
                             capture_output=True, text=True).stdout.strip()
        raise Failure(f"{what(spec)}: s3fs did not mount it at {spec['mount']}: "
                      f"{(r.stderr.strip() or log)[-400:]}")
    print(f"{what(spec)}: mounted at {spec['mount']}")
    return 0


def prune(keep, check_only):
    """Buckets no longer configured: their units, settings and credentials go."""
    keep_units = set()
    for name in keep:
        try:
            keep_units.add(spec_of(name)["unit"])
        except Failure:
            pass  # not set up yet: nothing of it to keep or remove
    stale_units = []
    for f in sorted(os.listdir(UNITS)):
        path = os.path.join(UNITS, f)
        if f.endswith(".mount") and f not in keep_units and os.path.isfile(path):
            with open(path) as fh:
                if "Written by vmbuild-s3" in fh.read():
                    stale_units.append(f)
    files = sorted(os.listdir(DIR)) if os.path.isdir(DIR) else []
    stale_files = [f for f in files if f.rsplit(".", 1)[0] not in keep]
    if check_only:
        return 1 if stale_units or stale_files else 0
    for u in stale_units:
        subprocess.run(["systemctl", "disable", "--now", "--quiet", u], check=False)
        os.remove(os.path.join(UNITS, u))
        print(f"removed {u}")
    for f in stale_files:
        os.remove(os.path.join(DIR, f))
        print(f"removed {DIR}/{f}")
    if stale_units:
        subprocess.run(["systemctl", "daemon-reload"], check=True)
    return 0


def main(argv):
    if argv[:1] == ["prune"]:
        rest = argv[1:]
        check_only = rest[:1] == ["--check"]
        return prune(rest[1:] if check_only else rest, check_only)
    if len(argv) >= 2 and argv[0] == "unit":
        return unit(argv[1], argv[2:] == ["--check"])
    if len(argv) == 2 and argv[0] == "check":
        return check(argv[1])
    if len(argv) == 2 and argv[0] == "mount":
        return mount(argv[1])
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Failure as e:
        print(e, file=sys.stderr)
        sys.exit(1)
