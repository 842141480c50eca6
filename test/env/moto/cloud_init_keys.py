#!/usr/bin/python3
"""sshd AuthorizedKeysCommand playing cloud-init for the instances of a kiln test moto server.

usage: cloud_init_keys.py ENDPOINT REGION DEFAULT_USER STATE_DIR LOGIN_USER

On EC2, cloud-init writes the public key of the instance's key pair ("<type> <base64> <key name>")
into ~default_user/.ssh/authorized_keys once per instance. Here one sshd plays every instance moto
launched: for each pending/running instance with a key pair that has no marker in STATE_DIR yet, the
public key is read from moto (DescribeKeyPairs IncludePublicKey=true), appended to
~DEFAULT_USER/.ssh/authorized_keys and printed (sshd reads the file before the command, so the first login
needs the printed line). Later calls print nothing, so removing the line really revokes the key.
Stdlib only; moto does not verify signatures, the Authorization header only carries the region.
"""
import fcntl
import os
import pwd
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET


def call(endpoint, region, params):
    body = urllib.parse.urlencode(dict(params, Version="2016-11-15")).encode()
    req = urllib.request.Request(endpoint.rstrip("/") + "/", data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/ec2/aws4_request, "
                         "SignedHeaders=host, Signature=0",
        "User-Agent": "kiln-test-cloud-init",
    })
    with urllib.request.urlopen(req, timeout=5) as resp:
        root = ET.fromstring(resp.read())
    for el in root.iter():
        el.tag = el.tag.rsplit("}", 1)[-1]
    return root


def main():
    endpoint, region, default_user, state, login = sys.argv[1:6]
    if login != default_user:
        return 0
    markers = os.path.join(state, "instances")
    os.makedirs(markers, exist_ok=True)
    account = pwd.getpwnam(default_user)
    home = account.pw_dir
    printed = []
    with open(os.path.join(state, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            found = call(endpoint, region, {
                "Action": "DescribeInstances", "Filter.1.Name": "instance-state-name",
                "Filter.1.Value.1": "pending", "Filter.1.Value.2": "running"})
        except OSError:
            return 0
        for item in found.iter("item"):
            iid, key = item.findtext("instanceId"), item.findtext("keyName")
            if not iid or not key or os.path.exists(os.path.join(markers, iid)):
                continue
            pairs = call(endpoint, region, {"Action": "DescribeKeyPairs", "KeyName.1": key,
                                            "IncludePublicKey": "true"})
            public = next((p.findtext("publicKey") for p in pairs.iter("item") if p.findtext("publicKey")), None)
            if not public:
                continue
            line = " ".join(public.split()[:2] + [key])
            ssh_dir = os.path.join(home, ".ssh")
            os.makedirs(ssh_dir, mode=0o700, exist_ok=True)
            os.chown(ssh_dir, account.pw_uid, account.pw_gid)
            path = os.path.join(ssh_dir, "authorized_keys")
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
            os.chmod(path, 0o600)
            os.chown(path, account.pw_uid, account.pw_gid)
            with open(os.path.join(markers, iid), "w", encoding="utf-8") as fh:
                fh.write(key + "\n")
            printed.append(line)
    for line in printed:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
