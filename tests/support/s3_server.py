#!/usr/bin/env python3
"""A real S3-compatible server for the tests: moto's server mode, on loopback,
with authentication ON (unknown keys and wrong secrets are refused, as S3 does).

usage: s3_server.py --port PORT --ready FILE [--bucket NAME[=KEY:TEXT]]...

Starts moto on 127.0.0.1:PORT (a qemu user-mode guest reaches it as
10.0.2.2:PORT), makes an IAM user with full S3 rights and an access key, the
buckets (each optionally with one object KEY holding TEXT), then writes
{"endpoint", "access_key_id", "secret_access_key"} as JSON to FILE
(0600, renamed into place when complete) and serves until killed.
Needs `moto[server]` (tests/support/s3.rs makes a cached venv).
"""
import argparse
import json
import os
import signal
import sys
import threading

P = argparse.ArgumentParser(description=__doc__.splitlines()[0])
P.add_argument("--port", type=int, required=True)
P.add_argument("--ready", required=True)
P.add_argument("--bucket", action="append", default=[])
A = P.parse_args()

# moto checks signatures and IAM policies once this many requests have been
# served without: exactly the setup calls below (user, policy, key).
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"

import boto3  # noqa: E402 (after the environment moto reads at import)
from moto.server import ThreadedMotoServer  # noqa: E402

server = ThreadedMotoServer(ip_address="127.0.0.1", port=A.port, verbose=False)
server.start()
endpoint = f"http://127.0.0.1:{A.port}"
boot = dict(endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **boot)
iam.create_user(UserName="vmbuild-test")
iam.put_user_policy(UserName="vmbuild-test", PolicyName="s3", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="vmbuild-test")["AccessKey"]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
for spec in A.bucket:
    name, _, obj = spec.partition("=")
    s3.create_bucket(Bucket=name)
    if obj:
        k, _, text = obj.partition(":")
        s3.put_object(Bucket=name, Key=k, Body=text.encode())
tmp = A.ready + ".tmp"
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump({"endpoint": endpoint, "access_key_id": key["AccessKeyId"],
               "secret_access_key": key["SecretAccessKey"]}, f)
os.replace(tmp, A.ready)
print(f"s3 server on {endpoint}, buckets: {', '.join(b.split('=')[0] for b in A.bucket)}", flush=True)

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
server.stop()
sys.exit(0)
