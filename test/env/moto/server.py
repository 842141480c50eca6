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
   EC2 (moto 5.2.1 answers 500).
"""
import io
import json
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


def main():
    host, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, CallLog(app, log), threaded=True)


if __name__ == "__main__":
    main()
