#!/usr/bin/env python3
"""Seeds a kiln test moto server through the EC2 and KMS APIs; prints a JSON summary on stdout.

usage: seed.py ENDPOINT [REGION]

What the amazon-ebs tests rely on:
  * moto's catalogue holds an amazon-owned image named al2023-ami-2023.*-kernel-6.1-arm64 (checked);
  * a decoy image with a matching, newer name owned by this account (so `owners` matters);
  * VPC tagged Environment=dev (not default) and a decoy VPC tagged Environment=staging;
  * three private subnets vpc-dev-private-us-east-1{a,b,c} of sizes /24, /22, /23 (most free: 1b)
    and one public subnet that the name filter must not match;
  * security group dev-default in the dev VPC; a KMS key.
"""
import json
import sys

import boto3

NAME_PATTERN = "al2023-ami-2023.*-kernel-6.1-arm64"


def tag_list(**kw):
    return [{"Key": k, "Value": v} for k, v in kw.items()]


def make_vpc(ec2, env, octet):
    vpc = ec2.create_vpc(CidrBlock=f"10.{octet}.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": tag_list(Name=f"vpc-{env}", Environment=env)}])["Vpc"]
    subnets = {}
    for name, az, cidr in (
        (f"vpc-{env}-private-us-east-1a", "us-east-1a", f"10.{octet}.0.0/24"),
        (f"vpc-{env}-private-us-east-1b", "us-east-1b", f"10.{octet}.4.0/22"),
        (f"vpc-{env}-private-us-east-1c", "us-east-1c", f"10.{octet}.8.0/23"),
        (f"vpc-{env}-public-us-east-1a", "us-east-1a", f"10.{octet}.16.0/21"),
    ):
        s = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock=cidr, AvailabilityZone=az,
                              TagSpecifications=[{"ResourceType": "subnet",
                                                  "Tags": tag_list(Name=name, Environment=env)}])
        subnets[name] = s["Subnet"]["SubnetId"]
    return vpc["VpcId"], subnets


def main():
    endpoint = sys.argv[1]
    region = sys.argv[2] if len(sys.argv) > 2 else "us-east-1"
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=region)
    ec2 = session.client("ec2", endpoint_url=endpoint)
    kms = session.client("kms", endpoint_url=endpoint)

    images = ec2.describe_images(Owners=["amazon"], Filters=[
        {"Name": "name", "Values": [NAME_PATTERN]},
        {"Name": "virtualization-type", "Values": ["hvm"]},
        {"Name": "root-device-type", "Values": ["ebs"]}])["Images"]
    if not images:
        sys.exit(f"moto's catalogue has no amazon-owned image named {NAME_PATTERN}")
    source = max(images, key=lambda i: i["CreationDate"])
    decoy = ec2.register_image(
        Name="al2023-ami-2023.99.20991231.0-kernel-6.1-arm64", Architecture="arm64",
        RootDeviceName="/dev/xvda", VirtualizationType="hvm",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])["ImageId"]

    vpc, subnets = make_vpc(ec2, "dev", 42)
    decoy_vpc, _ = make_vpc(ec2, "staging", 43)
    sg = ec2.create_security_group(GroupName="dev-default", Description="dev builds", VpcId=vpc)["GroupId"]
    key = kms.create_key(Description="kiln test EBS key")["KeyMetadata"]

    json.dump({
        "region": region,
        "source_ami": source["ImageId"], "source_ami_name": source["Name"],
        "source_ami_owner": source["OwnerId"], "decoy_ami": decoy,
        "vpc_id": vpc, "decoy_vpc_id": decoy_vpc, "subnets": subnets,
        "most_free_subnet": subnets["vpc-dev-private-us-east-1b"],
        "security_group_id": sg, "kms_key_id": key["KeyId"], "kms_key_arn": key["Arn"],
    }, sys.stdout)


if __name__ == "__main__":
    main()
