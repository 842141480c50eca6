#!/usr/bin/env python3
"""kiln's test moto server: `python3 -m moto.server` plus two things the amazon-ebs tests need.

usage: server.py HOST PORT CALL_LOG

1. Real EC2 accepts a RunInstances block-device mapping for the image's root device that names
   neither a size nor a snapshot (it inherits both from the image); moto 5.2.1 answers
   "MissingParameter: ... size or snapshotId". We fill in the image's root snapshot before
   moto validates the mapping.
2. Every request is appended to CALL_LOG as one JSON line {"action", "ua", "status"} so that a
   test can count the EC2 calls a build made (the user agent tells kiln's calls from the fake
   cloud-init's).
3. RunInstances honours ClientToken like EC2 (its documented idempotency): a request repeating the
   token of an earlier one in the same account and region launches nothing and answers with the
   earlier reservation; the same token with another image is IdempotentParameterMismatch. moto
   5.2.1 stores the token but launches again, so a retry after a lost answer made a 2nd instance.
4. An instance launched for a spot request (CreateFleet, RequestSpotInstances) carries its
   SpotInstanceRequestId and InstanceLifecycle "spot" in DescribeInstances, as on EC2.
5. CopyImage honours Encrypted and KmsKeyId: the copy's snapshot is encrypted with that key (or
   alias/aws/ebs), as on EC2.
6. CreateImage applies a TagSpecification of ResourceType "snapshot" to the image's snapshot, as on
   EC2 (moto 5.2.1 answers 500); CopyImage applies its TagSpecifications ("image", "snapshot") to
   the copy and its snapshot, as on EC2 (moto 5.2.1 ignores them). With the environment variable
   KILN_MOTO_STOCK_CREATE_IMAGE=1, CreateImage keeps moto 5.2.1's own answer (a 500) to a
   "snapshot" TagSpecification, as the shared lab's moto does: kiln must build there too.
7. A stand-in for AWS Session Manager's two session calls, which moto 5.2.1 lacks (see SsmFake):
   AmazonSSM.StartSession / TerminateSession (JSON protocol, X-Amz-Target), recorded for the tests.
"""
import io
import os
import json
import secrets
import sys
import threading
import urllib.parse

from moto.ec2.responses import instances as ec2_instances
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

_local = threading.local()
_check_mapping = ec2_instances.InstanceResponse._validate_block_device_mapping
_parse_mappings = ec2_instances.InstanceResponse._parse_block_device_mapping


def _image_root(response):
    image_id = response._get_param("ImageId")
    if not image_id:
        return None
    try:
        image = response.ec2_backend.describe_images(ami_ids=[image_id])[0]
        return image.root_device_name, image.block_device_mappings[0]["Ebs"]["SnapshotId"]
    except Exception:  # unknown image: moto reports it its own way
        return None


def _bare_root_mapping(mapping, root):
    ebs = mapping.get("Ebs")
    return (root is not None and ebs is not None and mapping.get("NoDevice") is None
            and mapping.get("DeviceName") == root[0]
            and not ebs.get("VolumeSize") and not ebs.get("SnapshotId"))


def _validate(mapping):
    if _bare_root_mapping(mapping, getattr(_local, "root", None)):
        return None
    return _check_mapping(mapping)


def _parse(self):
    _local.root = _image_root(self)
    try:
        mappings = _parse_mappings(self)
        for m in mappings:
            if _bare_root_mapping(m, _local.root):
                m["Ebs"]["SnapshotId"] = _local.root[1]
        return mappings
    finally:
        _local.root = None


from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import instances as ec2_instance_models

_run_instances = ec2_instance_models.InstanceBackend.run_instances
_DEFAULT_TOKEN = "ABCDE"  # what moto's RunInstances parser stores when no ClientToken was sent


def _idempotent_run_instances(self, image_id, count, user_data, security_group_names, **kwargs):
    token = kwargs.get("client_token")
    if token and token != _DEFAULT_TOKEN:
        for reservation in list(self.reservations.values()):
            first = reservation.instances[0] if reservation.instances else None
            if first is not None and getattr(first, "client_token", None) == token:
                if first.image_id != image_id:
                    raise EC2ClientError(
                        "IdempotentParameterMismatch",
                        "Arguments on this idempotent request are inconsistent with arguments used in "
                        "previous request(s).")
                return reservation
    return _run_instances(self, image_id, count, user_data, security_group_names, **kwargs)


ec2_instance_models.InstanceBackend.run_instances = _idempotent_run_instances

from moto.ec2.models import amis as ec2_ami_models

_create_image = ec2_ami_models.AmiBackend.create_image


def _unique_name_create_image(self, instance_id, name, description, tag_specifications):
    account = self.account_id
    for ami in list(self.amis.values()):
        if ami.name == name and ami.owner_id == account and ami.state != "deregistered":
            raise EC2ClientError("InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {ami.id}")
    if os.environ.get("KILN_MOTO_STOCK_CREATE_IMAGE") == "1":
        return _create_image(self, instance_id, name, description, tag_specifications)
    # EC2 applies a "snapshot" TagSpecification to the snapshots CreateImage makes; moto 5.2.1
    # raises NotImplementedError (a 500) for it.
    image_specs = [s for s in tag_specifications if s.get("ResourceType") != "snapshot"]
    snapshot_tags = {}
    for s in tag_specifications:
        if s.get("ResourceType") == "snapshot":
            snapshot_tags.update({t["Key"]: t["Value"] for t in s.get("Tags", [])})
    ami = _create_image(self, instance_id, name, description, image_specs)
    if snapshot_tags and getattr(ami, "ebs_snapshot", None) is not None:
        self.create_tags([ami.ebs_snapshot.id], snapshot_tags)
    return ami


ec2_ami_models.AmiBackend.create_image = _unique_name_create_image
ec2_instances.InstanceResponse._validate_block_device_mapping = staticmethod(_validate)
ec2_instances.InstanceResponse._parse_block_device_mapping = _parse


# Spot instances (EC2 Fleet / RequestSpotInstances): real EC2 lists an instance launched for a spot
# request with InstanceLifecycle "spot" and its SpotInstanceRequestId; moto 5.2.1 launches it but
# leaves both empty, so spot_tags (applied to the request id) had nothing to tag.
from moto.ec2.models import spot_requests as ec2_spot_models

_spot_request_init = ec2_spot_models.SpotInstanceRequest.__init__


def _spot_request_with_instance_link(self, *args, **kwargs):
    _spot_request_init(self, *args, **kwargs)
    instance = getattr(self, "instance", None)
    if instance is not None:
        instance.spot_instance_request_id = self.id
        instance.instance_lifecycle = "spot"


ec2_spot_models.SpotInstanceRequest.__init__ = _spot_request_with_instance_link


# CopyImage with Encrypted/KmsKeyId: EC2 encrypts the copy's snapshots with the given key (or the
# account's default EBS key); moto 5.2.1 ignores both parameters and makes an unencrypted copy.
from moto.ec2.responses import amis as ec2_ami_responses

_copy_image = ec2_ami_responses.AmisResponse.copy_image


def _copy_image_encrypted(self):
    result = _copy_image(self)
    if str(self._get_param("Encrypted")).lower() == "true":
        key = self._get_param("KmsKeyId") or "alias/aws/ebs"
        image = self.ec2_backend.describe_images(ami_ids=[result.result["ImageId"]])[0]
        image.ebs_snapshot.encrypted = True
        image.ebs_snapshot.kms_key_id = key
    # EC2 applies CopyImage's TagSpecifications ("image": the copy, "snapshot": its snapshots);
    # moto 5.2.1 ignores them.
    specs = self._get_param("TagSpecifications", []) or []
    if specs:
        image = self.ec2_backend.describe_images(ami_ids=[result.result["ImageId"]])[0]
        for spec in specs:
            tags = {t["Key"]: t["Value"] for t in spec.get("Tags", [])}
            if spec.get("ResourceType") == "image" and tags:
                self.ec2_backend.create_tags([image.id], tags)
            elif spec.get("ResourceType") == "snapshot" and tags and getattr(image, "ebs_snapshot", None) is not None:
                self.ec2_backend.create_tags([image.ebs_snapshot.id], tags)
    return result


ec2_ami_responses.AmisResponse.copy_image = _copy_image_encrypted


class CallLog:
    def __init__(self, app, path):
        self.app = app
        self.path = path
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        params = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        try:
            params.update(urllib.parse.parse_qs(body.decode("utf-8")))
        except UnicodeDecodeError:
            pass
        action = (params.get("Action") or [""])[0]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        record = {"action": action or target, "ua": environ.get("HTTP_USER_AGENT", "")}

        def start(status, headers, exc_info=None):
            record["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        result = self.app(environ, start)
        with self.lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        return result

class SsmFake:
    """AWS Session Manager's StartSession and TerminateSession, which moto 5.2.1 does not implement.

    A STAND-IN, not an emulation of the real service (that needs AWS): StartSession answers a
    SessionId, a TokenValue and a StreamUrl for a running moto instance (TargetNotConnected for an
    unknown or not running one, and for the next N calls after POST /kiln-ssm/config
    {"target_not_connected": N}; the next call fails with {"start_error": {"code", "message"}});
    TerminateSession ends a session (the next call fails with {"terminate_error": {...}}). The StreamUrl points back here:
    GET /kiln-ssm/data-channel/<id> with header X-Kiln-Ssm-Token: <TokenValue> answers 200 while the
    session is active, 410 once it is terminated (test/env/session-manager-plugin.mjs checks it, as
    the real plugin opens that URL). GET /kiln-ssm/calls lists every call with its parameters.
    Other AmazonSSM.* calls go to moto.
    """

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.sessions = {}
        self.calls = []
        self.not_connected = 0
        self.start_error = None
        self.terminate_error = None

    @staticmethod
    def _json(start_response, status, doc):
        body = json.dumps(doc).encode("utf-8")
        start_response(status, [("Content-Type", "application/x-amz-json-1.1"),
                                ("Content-Length", str(len(body)))])
        return [body]

    def _error(self, start_response, code, message):
        return self._json(start_response, "400 Bad Request", {"__type": code, "message": message})

    @staticmethod
    def _region(environ):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        marker = "Credential="
        if marker in auth:
            scope = auth.split(marker, 1)[1].split(",", 1)[0].split("/")
            if len(scope) >= 3:
                return scope[2]
        return "us-east-1"

    @staticmethod
    def _instance_running(region, instance_id):
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ec2.models import ec2_backends
        try:
            inst = ec2_backends[DEFAULT_ACCOUNT_ID][region].get_instance(instance_id)
        except Exception:  # unknown instance
            return False
        return inst.state == "running"

    def _read_json(self, environ):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        return json.loads(environ["wsgi.input"].read(length) or b"{}")

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if path == "/kiln-ssm/calls":
            with self.lock:
                return self._json(start_response, "200 OK", self.calls)
        if path == "/kiln-ssm/config" and environ.get("REQUEST_METHOD") == "POST":
            doc = self._read_json(environ)
            with self.lock:
                self.not_connected = int(doc.get("target_not_connected", 0))
                self.start_error = doc.get("start_error")
                self.terminate_error = doc.get("terminate_error")
            return self._json(start_response, "200 OK", {})
        if path.startswith("/kiln-ssm/data-channel/"):
            with self.lock:
                session = self.sessions.get(path.rsplit("/", 1)[1])
            if session is None:
                return self._json(start_response, "404 Not Found", {"message": "no such session"})
            if environ.get("HTTP_X_KILN_SSM_TOKEN", "") != session["token"]:
                return self._json(start_response, "403 Forbidden", {"message": "bad token"})
            if session["terminated"]:
                return self._json(start_response, "410 Gone", {"message": "session terminated"})
            return self._json(start_response, "200 OK", {"status": "Connected"})
        if target not in ("AmazonSSM.StartSession", "AmazonSSM.TerminateSession"):
            return self.app(environ, start_response)
        try:
            params = self._read_json(environ)
        except ValueError:
            return self._error(start_response, "ValidationException", "request body is not JSON")
        region = self._region(environ)
        record = {"action": target.split(".", 1)[1], "params": params, "region": region}
        with self.lock:
            self.calls.append(record)
            if target == "AmazonSSM.TerminateSession" and self.terminate_error:
                code, message = self.terminate_error["code"], self.terminate_error.get("message", "")
                self.terminate_error = None
                record["error"] = code
                return self._error(start_response, code, message)
            if target == "AmazonSSM.TerminateSession":
                session = self.sessions.get(params.get("SessionId", ""))
                if session is not None:
                    session["terminated"] = True
                return self._json(start_response, "200 OK", {"SessionId": params.get("SessionId", "")})
            instance_id = params.get("Target", "")
            if self.start_error:
                code, message = self.start_error["code"], self.start_error.get("message", "")
                self.start_error = None
                record["error"] = code
                return self._error(start_response, code, message)
            if self.not_connected > 0 or not self._instance_running(region, instance_id):
                self.not_connected = max(0, self.not_connected - 1)
                record["error"] = "TargetNotConnected"
                return self._error(start_response, "TargetNotConnected", f"{instance_id} is not connected.")
            session_id = "kiln-test-" + secrets.token_hex(9)[:17]
            token = secrets.token_urlsafe(24)
            self.sessions[session_id] = {"token": token, "terminated": False}
            record["session_id"] = session_id
            host = environ.get("HTTP_HOST", "127.0.0.1")
            return self._json(start_response, "200 OK", {
                "SessionId": session_id,
                "TokenValue": token,
                "StreamUrl": f"ws://{host}/kiln-ssm/data-channel/{session_id}?role=publish_subscribe",
            })


def main():
    host, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, CallLog(SsmFake(app), log), threaded=True)


if __name__ == "__main__":
    main()
