#!/usr/bin/env python3
"""Writes fixtures/trail (a CloudTrail bucket in the S3 key layout) and fixtures/broken.

Deterministic: the same script writes the same bytes (gzip mtime 0, no randomness), so the
golden files in tests/golden only change when the events here change. Every canned query
has events that must fire and lookalikes that must not; the comments say which is which.

Run: python3 tests/generate_fixtures.py
"""

import gzip
import json
import os
import shutil

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
TRAIL = os.path.join(ROOT, "trail")
BROKEN = os.path.join(ROOT, "broken")

A = "111122223333"  # account with a plain trail
B = "444455556666"  # member account of an organization trail under a bucket prefix
ORG = "o-a1b2c3d4e5"

_counter = [0]


def event_id():
    _counter[0] += 1
    return f"00000000-0000-4000-8000-{_counter[0]:012d}"


def iam_user(account, name):
    return {
        "type": "IAMUser",
        "principalId": "AIDA" + name.upper().ljust(17, "X")[:17],
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": "AKIA" + name.upper().ljust(16, "Q")[:16],
        "userName": name,
    }


def role(account, role_name, session):
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLEROLEID:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}",
        "accountId": account,
        "accessKeyId": "ASIAEXAMPLESESSION01",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEROLEID",
                "arn": f"arn:aws:iam::{account}:role/{role_name}",
                "accountId": account,
                "userName": role_name,
            },
            "attributes": {"creationDate": "2026-11-20T08:00:00Z", "mfaAuthenticated": "false"},
        },
    }


def root(account):
    return {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root", "accountId": account}


def api(time, account, region, source, name, who, ip="198.51.100.20", read_only=False, params=None,
        response=None, error=None, agent="aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64", **extra):
    record = {
        "eventVersion": "1.09",
        "userIdentity": who,
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": params,
        "responseElements": response,
        "requestID": event_id().replace("00000000", "11111111"),
        "eventID": event_id(),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error:
        record["errorCode"], record["errorMessage"] = error
    record.update(extra)
    return record


def console_login(time, account, who, ip, success, mfa="No", message=None, agent="Mozilla/5.0 (X11; Linux x86_64)"):
    record = {
        "eventVersion": "1.09",
        "userIdentity": who,
        "eventTime": time,
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Success" if success else "Failure"},
        "additionalEventData": {
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No",
            "MFAUsed": mfa,
        },
        "eventID": event_id(),
        "readOnly": False,
        "eventType": "AwsConsoleSignIn",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if not success:
        record["errorMessage"] = message or "Failed authentication"
    return record


def write(path, records, compress=True, raw=None):
    full = os.path.join(ROOT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    data = raw if raw is not None else json.dumps({"Records": records}, separators=(",", ":")).encode()
    if compress:
        data = gzip.compress(data, mtime=0)
    with open(full, "wb") as f:
        f.write(data)


def key(account, region, stamp, suffix, org=None, prefix="", kind="CloudTrail"):
    y, m, d = stamp[0:4], stamp[4:6], stamp[6:8]
    base = f"{prefix}AWSLogs/" + (f"{org}/" if org else "") + f"{account}/{kind}/{region}/{y}/{m}/{d}/"
    return "trail/" + base + f"{account}_{kind}_{region}_{stamp}_{suffix}.json.gz"


def main():
    for folder in (TRAIL, BROKEN):
        shutil.rmtree(folder, ignore_errors=True)

    alice, bob, deploy = iam_user(A, "alice"), iam_user(A, "bob"), role(A, "deploy", "ci-pipeline")
    sso = role(A, "AWSReservedSSO_Admin_0123456789abcdef", "carol@example.com")

    # Account A, us-east-1, the evening before: a late file that crosses midnight.
    write(key(A, "us-east-1", "20261119T2355Z", "Late01"), [
        api("2026-11-19T23:57:12Z", A, "us-east-1", "cloudtrail.amazonaws.com", "DescribeTrails", alice, read_only=True),
        # fires: cloudtrail-changes (UpdateTrail), outside a 2026-11-20 window
        api("2026-11-19T23:58:40Z", A, "us-east-1", "cloudtrail.amazonaws.com", "UpdateTrail", alice,
            params={"name": "management-events", "isMultiRegionTrail": True}),
        # crosses midnight: inside a 2026-11-20 window although filed under the 19th
        api("2026-11-20T00:00:30Z", A, "us-east-1", "iam.amazonaws.com", "GetRole", deploy, read_only=True,
            params={"roleName": "deploy"}),
    ])

    # Account A, us-east-1, morning: sign-ins, brute force, MFA, root.
    logins = []
    # fires: brute-force-logins (6 failures from one address within 09:00-09:05)
    for i, user in enumerate(["alice", "bob", "admin", "alice", "root-admin", "bob"]):
        who = iam_user(A, user) if user in ("alice", "bob") else {
            "type": "IAMUser", "accountId": A, "accessKeyId": "", "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"}
        message = "Failed authentication" if user in ("alice", "bob") else "No username found in supplied account"
        logins.append(console_login(f"2026-11-20T09:0{i // 2}:{10 + i * 7:02d}Z", A, who, "203.0.113.10", False,
                                    message=message))
    # fires: brute-force-logins-by-user (5 failures for bob from 5 addresses within 09:10-09:15)
    for i in range(5):
        logins.append(console_login(f"2026-11-20T09:1{i}:05Z", A, bob, f"192.0.2.{40 + i}", False))
    # lookalike for brute-force-logins: 4 failures from one address, below the threshold
    for i in range(4):
        logins.append(console_login(f"2026-11-20T09:2{i}:30Z", A, alice, "198.51.100.7", False,
                                    agent="Mozilla/5.0 \u001b[31mEvil\u001b[0m"))
    # fires: console-login-no-mfa (IAM user, success, no MFA); lookalikes: with MFA, SSO role
    logins.append(console_login("2026-11-20T09:30:00Z", A, bob, "198.51.100.20", True, mfa="No"))
    logins.append(console_login("2026-11-20T09:31:00Z", A, alice, "198.51.100.21", True, mfa="Yes"))
    logins.append(console_login("2026-11-20T09:32:00Z", A, sso, "198.51.100.22", True, mfa="No"))
    # lookalike for failed-logins: errorMessage present but null
    ok = console_login("2026-11-20T09:33:00Z", A, alice, "198.51.100.21", True, mfa="Yes")
    ok["errorMessage"] = None
    logins.append(ok)
    # fires: root-usage and failed-logins' neighbour: a root console sign-in without MFA
    logins.append(console_login("2026-11-20T09:40:00Z", A, root(A), "203.0.113.99", True, mfa="No"))
    # fires: failed-logins with a CSV-formula user name (defused in CSV output)
    logins.append(console_login("2026-11-20T09:45:00Z", A, {
        "type": "IAMUser", "accountId": A, "userName": "=HYPERLINK(\"http://evil.example\",\"x\")"},
        "203.0.113.50", False, message="Failed authentication"))
    write(key(A, "us-east-1", "20261120T0905Z", "SignIn01"), logins)

    # Account A, us-east-1, midday: IAM, trails, KMS, S3, Config, root API call.
    write(key(A, "us-east-1", "20261120T1210Z", "Api00001"), [
        # fires: policy-changes + iam-policy-changes
        api("2026-11-20T12:01:00Z", A, "us-east-1", "iam.amazonaws.com", "PutRolePolicy", deploy,
            params={"roleName": "app", "policyName": "inline-admin", "policyDocument": "{\"Statement\":[]}"}),
        # fires: policy-changes + iam-policy-changes (readOnly as the string "false")
        api("2026-11-20T12:02:00Z", A, "us-east-1", "iam.amazonaws.com", "AttachUserPolicy", alice, read_only="false",
            params={"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        # lookalikes for policy-changes: reads mentioning Role or Policy
        api("2026-11-20T12:03:00Z", A, "us-east-1", "iam.amazonaws.com", "GetRole", alice, read_only=True,
            params={"roleName": "app"}),
        api("2026-11-20T12:03:30Z", A, "us-east-1", "sts.amazonaws.com", "AssumeRole", alice, read_only=True,
            params={"roleArn": f"arn:aws:iam::{A}:role/deploy", "roleSessionName": "s"}),
        api("2026-11-20T12:04:00Z", A, "us-east-1", "iam.amazonaws.com", "ListAttachedUserPolicies", alice,
            read_only="true", params={"userName": "bob"}),
        # fires: cloudtrail-changes (StopLogging)
        api("2026-11-20T12:05:00Z", A, "us-east-1", "cloudtrail.amazonaws.com", "StopLogging", bob, ip="203.0.113.66",
            params={"name": f"arn:aws:cloudtrail:us-east-1:{A}:trail/management-events"}),
        # lookalike for cloudtrail-changes
        api("2026-11-20T12:05:30Z", A, "us-east-1", "cloudtrail.amazonaws.com", "GetTrailStatus", bob, read_only=True,
            params={"name": "management-events"}),
        # fires: kms-key-deletion; lookalike: DisableKeyRotation
        api("2026-11-20T12:06:00Z", A, "us-east-1", "kms.amazonaws.com", "ScheduleKeyDeletion", bob,
            params={"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "pendingWindowInDays": 7}),
        api("2026-11-20T12:06:30Z", A, "us-east-1", "kms.amazonaws.com", "DisableKeyRotation", bob,
            params={"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
        # fires: s3-bucket-policy-changes (requestParameters as a JSON string, as Athena stores it)
        api("2026-11-20T12:07:00Z", A, "us-east-1", "s3.amazonaws.com", "PutBucketPolicy", deploy,
            params=json.dumps({"bucketName": "customer-data", "bucketPolicy": {"Statement": [{"Effect": "Allow", "Principal": "*"}]}})),
        api("2026-11-20T12:07:30Z", A, "us-east-1", "s3.amazonaws.com", "DeleteBucketCors", deploy,
            params={"bucketName": "customer-data"}),
        # lookalikes for s3-bucket-policy-changes
        api("2026-11-20T12:08:00Z", A, "us-east-1", "s3.amazonaws.com", "GetBucketPolicy", deploy, read_only=True,
            params={"bucketName": "customer-data"}),
        api("2026-11-20T12:08:30Z", A, "us-east-1", "s3.amazonaws.com", "PutBucketTagging", deploy,
            params={"bucketName": "customer-data"}),
        # fires: config-changes; lookalike: StartConfigurationRecorder
        api("2026-11-20T12:09:00Z", A, "us-east-1", "config.amazonaws.com", "StopConfigurationRecorder", bob,
            params={"configurationRecorderName": "default"}),
        api("2026-11-20T12:09:30Z", A, "us-east-1", "config.amazonaws.com", "StartConfigurationRecorder", bob,
            params={"configurationRecorderName": "default"}),
        # fires: root-usage (root API call); lookalike: root event invoked by a service
        api("2026-11-20T12:10:00Z", A, "us-east-1", "iam.amazonaws.com", "CreateAccessKey", root(A), ip="203.0.113.99",
            response={"accessKey": {"accessKeyId": "AKIAEXAMPLEROOTKEY01"}}),
        api("2026-11-20T12:10:30Z", A, "us-east-1", "iam.amazonaws.com", "GetAccountSummary",
            dict(root(A), invokedBy="support.amazonaws.com"), ip="support.amazonaws.com", read_only=True),
        # fires: unauthorized-calls (AccessDenied) with an escape sequence in the message
        api("2026-11-20T12:11:00Z", A, "us-east-1", "s3.amazonaws.com", "GetObject", bob, ip="203.0.113.66",
            read_only=True, params={"bucketName": "customer-data", "key": "export.csv"},
            error=("AccessDenied", "Access Denied \u001b]0;pwned\u0007")),
        # lookalikes for unauthorized-calls: log delivery, HeadBucket, throttling
        api("2026-11-20T12:11:30Z", A, "us-east-1", "s3.amazonaws.com", "PutObject",
            {"type": "AWSService", "invokedBy": "delivery.logs.amazonaws.com"}, ip="delivery.logs.amazonaws.com",
            params={"bucketName": "logs"}, error=("AccessDenied", "Access Denied")),
        api("2026-11-20T12:12:00Z", A, "us-east-1", "s3.amazonaws.com", "HeadBucket", bob, read_only=True,
            params={"bucketName": "other"}, error=("AccessDenied", "Access Denied")),
        api("2026-11-20T12:12:30Z", A, "us-east-1", "ec2.amazonaws.com", "DescribeInstances", deploy, read_only=True,
            error=("Client.RequestLimitExceeded", "Request limit exceeded.")),
        # a record in other case and with no usable eventTime: read, but dropped under a window
        {"eventversion": "1.09", "eventtime": "not-a-time", "eventname": "ListBuckets",
         "eventsource": "s3.amazonaws.com", "recipientAccountId": A, "awsRegion": "us-east-1", "readOnly": True},
    ])

    # Account A, eu-west-1: EC2 networking.
    write(key(A, "eu-west-1", "20261120T1415Z", "Net00001"), [
        # fires: security-group-changes (world-open SSH); lookalike: DescribeSecurityGroups
        api("2026-11-20T14:10:00Z", A, "eu-west-1", "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", deploy,
            params={"groupId": "sg-0123456789abcdef0", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22,
                    "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
        api("2026-11-20T14:10:30Z", A, "eu-west-1", "ec2.amazonaws.com", "DescribeSecurityGroups", deploy, read_only=True),
        # fires: nacl-changes; lookalike: DescribeNetworkAcls
        api("2026-11-20T14:11:00Z", A, "eu-west-1", "ec2.amazonaws.com", "CreateNetworkAclEntry", deploy,
            params={"networkAclId": "acl-0123456789abcdef0", "ruleNumber": 100, "egress": False, "ruleAction": "allow",
                    "cidrBlock": "0.0.0.0/0"}),
        api("2026-11-20T14:11:30Z", A, "eu-west-1", "ec2.amazonaws.com", "DescribeNetworkAcls", deploy, read_only=True),
        # fires: network-gateway-changes; lookalike: CreateNatGateway
        api("2026-11-20T14:12:00Z", A, "eu-west-1", "ec2.amazonaws.com", "AttachInternetGateway", deploy,
            params={"internetGatewayId": "igw-0123456789abcdef0", "vpcId": "vpc-0123456789abcdef0"}),
        api("2026-11-20T14:12:30Z", A, "eu-west-1", "ec2.amazonaws.com", "CreateNatGateway", deploy,
            params={"subnetId": "subnet-0123456789abcdef0"}),
        # fires: route-table-changes; lookalike: DescribeRouteTables
        api("2026-11-20T14:13:00Z", A, "eu-west-1", "ec2.amazonaws.com", "CreateRoute", deploy,
            params={"routeTableId": "rtb-0123456789abcdef0", "destinationCidrBlock": "0.0.0.0/0",
                    "gatewayId": "igw-0123456789abcdef0"}),
        api("2026-11-20T14:13:30Z", A, "eu-west-1", "ec2.amazonaws.com", "DescribeRouteTables", deploy, read_only=True),
        # fires: vpc-changes; lookalike: CreateVpcEndpoint
        api("2026-11-20T14:14:00Z", A, "eu-west-1", "ec2.amazonaws.com", "CreateVpcPeeringConnection", deploy,
            params={"vpcId": "vpc-0123456789abcdef0", "peerOwnerId": "999988887777"}),
        api("2026-11-20T14:14:30Z", A, "eu-west-1", "ec2.amazonaws.com", "CreateVpcEndpoint", deploy,
            params={"vpcId": "vpc-0123456789abcdef0"}),
        # fires: unauthorized-calls (Client.UnauthorizedOperation)
        api("2026-11-20T14:15:00Z", A, "eu-west-1", "ec2.amazonaws.com", "RunInstances", bob, ip="203.0.113.66",
            error=("Client.UnauthorizedOperation", "You are not authorized to perform this operation.")),
    ])

    # Account A, us-east-1, afternoon: the detections of the second catalogue.
    carol = iam_user(A, "carol")
    secret_reader = role(A, "app-runtime", "i-0abc")
    detections = [
        # fires: access-key-created-for-other-user (alice for bob); lookalike: bob for himself
        api("2026-11-20T15:00:00Z", A, "us-east-1", "iam.amazonaws.com", "CreateAccessKey", alice,
            params={"userName": "bob"}, response={"accessKey": {"accessKeyId": "AKIAEXAMPLENEWKEY001", "userName": "bob"}}),
        api("2026-11-20T15:00:30Z", A, "us-east-1", "iam.amazonaws.com", "CreateAccessKey", bob,
            params={"userName": "bob"}, response={"accessKey": {"accessKeyId": "AKIAEXAMPLENEWKEY002", "userName": "bob"}}),
        # fires: mfa-device-deactivated; lookalike: EnableMFADevice
        api("2026-11-20T15:01:00Z", A, "us-east-1", "iam.amazonaws.com", "DeactivateMFADevice", alice,
            params={"userName": "carol", "serialNumber": f"arn:aws:iam::{A}:mfa/carol"}),
        api("2026-11-20T15:01:30Z", A, "us-east-1", "iam.amazonaws.com", "EnableMFADevice", carol,
            params={"userName": "carol", "serialNumber": f"arn:aws:iam::{A}:mfa/carol"}),
        # fires: login-profile-changes; lookalike: GetLoginProfile
        api("2026-11-20T15:02:00Z", A, "us-east-1", "iam.amazonaws.com", "UpdateLoginProfile", alice,
            params={"userName": "carol", "passwordResetRequired": False}),
        api("2026-11-20T15:02:30Z", A, "us-east-1", "iam.amazonaws.com", "GetLoginProfile", alice, read_only=True,
            params={"userName": "carol"}),
        # fires: guardduty-detector-deleted; lookalike: UpdateDetector
        api("2026-11-20T15:03:00Z", A, "us-east-1", "guardduty.amazonaws.com", "DeleteDetector", bob,
            ip="2001:db8::66", params={"detectorId": "12abc34d567e8fa901bc2d34e56789f0"}),
        api("2026-11-20T15:03:30Z", A, "us-east-1", "guardduty.amazonaws.com", "UpdateDetector", alice,
            params={"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "enable": True}),
        # fires: vpc-flow-logs-deleted; lookalike: DescribeFlowLogs
        api("2026-11-20T15:04:00Z", A, "us-east-1", "ec2.amazonaws.com", "DeleteFlowLogs", bob, ip="2001:db8::66",
            params={"DeleteFlowLogsRequest": {"FlowLogId": {"tag": 1, "content": "fl-0123456789abcdef0"}}}),
        api("2026-11-20T15:04:30Z", A, "us-east-1", "ec2.amazonaws.com", "DescribeFlowLogs", bob, read_only=True),
        # fires: ebs-default-encryption-disabled; lookalike: EnableEbsEncryptionByDefault
        api("2026-11-20T15:05:00Z", A, "us-east-1", "ec2.amazonaws.com", "DisableEbsEncryptionByDefault", bob,
            ip="2001:db8::66", params={"DisableEbsEncryptionByDefaultRequest": ""}),
        api("2026-11-20T15:05:30Z", A, "us-east-1", "ec2.amazonaws.com", "EnableEbsEncryptionByDefault", alice),
        # fires: snapshot-or-ami-made-public (twice); lookalikes: shared with one account, made private
        api("2026-11-20T15:06:00Z", A, "us-east-1", "ec2.amazonaws.com", "ModifySnapshotAttribute", bob, ip="2001:db8::66",
            params={"snapshotId": "snap-0123456789abcdef0", "attributeType": "CREATE_VOLUME_PERMISSION",
                    "createVolumePermission": {"add": {"items": [{"group": "all"}]}}}),
        api("2026-11-20T15:06:10Z", A, "us-east-1", "ec2.amazonaws.com", "ModifyImageAttribute", bob, ip="2001:db8::66",
            params={"imageId": "ami-0123456789abcdef0", "attributeType": "launchPermission",
                    "launchPermission": {"add": {"items": [{"group": "all"}]}}}),
        api("2026-11-20T15:06:20Z", A, "us-east-1", "ec2.amazonaws.com", "ModifySnapshotAttribute", alice,
            params={"snapshotId": "snap-0123456789abcdef1", "attributeType": "CREATE_VOLUME_PERMISSION",
                    "createVolumePermission": {"add": {"items": [{"userId": "999988887777"}]}}}),
        api("2026-11-20T15:06:30Z", A, "us-east-1", "ec2.amazonaws.com", "ModifyImageAttribute", alice,
            params={"imageId": "ami-0123456789abcdef1", "attributeType": "launchPermission",
                    "launchPermission": {"remove": {"items": [{"group": "all"}]}}}),
        # fires: security-group-open-to-world (IPv6 ::/0); lookalikes: a private range, a revoke
        api("2026-11-20T15:07:00Z", A, "us-east-1", "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", deploy,
            params={"groupId": "sg-0fedcba9876543210", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 3389,
                    "toPort": 3389, "ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]}}]}}),
        api("2026-11-20T15:07:30Z", A, "us-east-1", "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", deploy,
            params={"groupId": "sg-0fedcba9876543210", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 5432,
                    "toPort": 5432, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}}]}}),
        api("2026-11-20T15:07:40Z", A, "us-east-1", "ec2.amazonaws.com", "RevokeSecurityGroupIngress", deploy,
            params={"groupId": "sg-0fedcba9876543210", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22,
                    "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
        # fires: trail-event-selectors-weakened; lookalike: selectors that log everything
        api("2026-11-20T15:08:00Z", A, "us-east-1", "cloudtrail.amazonaws.com", "PutEventSelectors", bob, ip="2001:db8::66",
            params={"trailName": "management-events", "eventSelectors": [{"readWriteType": "WriteOnly",
                    "includeManagementEvents": True, "dataResources": []}]}),
        api("2026-11-20T15:08:30Z", A, "us-east-1", "cloudtrail.amazonaws.com", "PutEventSelectors", alice,
            params={"trailName": "management-events", "eventSelectors": [{"readWriteType": "All",
                    "includeManagementEvents": True, "dataResources": []}]}),
        # fires: secretsmanager-changes; lookalike: GetSecretValue (read by the usual role)
        api("2026-11-20T15:09:00Z", A, "us-east-1", "secretsmanager.amazonaws.com", "DeleteSecret", bob, ip="2001:db8::66",
            params={"secretId": "prod/db-password", "recoveryWindowInDays": 7}),
        api("2026-11-20T15:09:30Z", A, "us-east-1", "secretsmanager.amazonaws.com", "GetSecretValue", secret_reader,
            read_only=True, params={"secretId": "prod/db-password"}),
    ]
    # suspicious-ips: one IPv6 address denied again and again, by several principals
    for i, who in enumerate([bob, carol, alice, bob, carol, alice, bob, carol, alice, bob]):
        detections.append(api(f"2026-11-20T15:1{i}:00Z", A, "us-east-1", "s3.amazonaws.com", "ListBuckets", who,
                              ip="2001:db8::66", read_only=True, error=("AccessDenied", "Access Denied")))
    # console-login-no-mfa-not-sso fires on the root and IAM-user sign-ins above; an SSO one stays out.
    write(key(A, "us-east-1", "20261120T1520Z", "Detect01"), detections)

    # A digest file: skipped, never parsed as events.
    write(key(A, "us-east-1", "20261120T1300Z", "Digest01", kind="CloudTrail-Digest"), [], raw=json.dumps({
        "awsAccountId": A, "digestStartTime": "2026-11-20T12:00:00Z", "digestEndTime": "2026-11-20T13:00:00Z",
        "digestS3Bucket": "trail-bucket", "logFiles": []}).encode())

    # Organization trail under a bucket prefix: account B.
    org_key = lambda region, stamp, suffix, kind="CloudTrail": key(B, region, stamp, suffix, org=ORG,
                                                                  prefix="security-prefix/", kind=kind)
    admin_b = role(B, "OrganizationAccountAccessRole", "platform-admin")
    write(org_key("us-east-1", "20261120T1605Z", "Org00001"), [
        # fires: organizations-changes; lookalikes: ListAccounts, iam CreatePolicy (fires iam-policy-changes instead)
        api("2026-11-20T16:01:00Z", B, "us-east-1", "organizations.amazonaws.com", "DetachPolicy", admin_b,
            params={"policyId": "p-examplescp", "targetId": "ou-exam-ple12345"}),
        api("2026-11-20T16:02:00Z", B, "us-east-1", "organizations.amazonaws.com", "ListAccounts", admin_b,
            read_only=True),
        api("2026-11-20T16:03:00Z", B, "us-east-1", "iam.amazonaws.com", "CreatePolicy", admin_b,
            params={"policyName": "ci-deploy"}),
        # fires: unauthorized-calls (AccessDeniedException from KMS)
        api("2026-11-20T16:04:00Z", B, "us-east-1", "kms.amazonaws.com", "Decrypt", admin_b, read_only=True,
            error=("AccessDeniedException", "User is not authorized to perform kms:Decrypt")),
    ])
    write(org_key("eu-west-1", "20261121T0010Z", "Org00002"), [
        # fires: kms-key-deletion (DisableKey), the next day: outside a 2026-11-20 window
        api("2026-11-21T00:05:00Z", B, "eu-west-1", "kms.amazonaws.com", "DisableKey", admin_b,
            params={"keyId": "abcd1234-12ab-34cd-56ef-1234567890ab"}),
    ])
    # An Insights file: skipped.
    write(org_key("us-east-1", "20261120T1700Z", "Insight1", kind="CloudTrail-Insight"), [{
        "eventVersion": "1.08", "eventTime": "2026-11-20T16:55:00Z", "awsRegion": "us-east-1",
        "eventID": event_id(), "eventType": "AwsCloudTrailInsight", "recipientAccountId": B,
        "insightDetails": {"state": "Start", "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances"}}])

    # Broken objects: each must be reported by name while the rest is scanned.
    good = gzip.compress(json.dumps({"Records": [api("2026-11-20T10:00:00Z", A, "us-east-1",
                         "cloudtrail.amazonaws.com", "DeleteTrail", bob, params={"name": "t"})]}).encode(), mtime=0)
    write("broken/truncated.json.gz", [], compress=False, raw=good[: len(good) // 2])
    write("broken/corrupt.json.gz", [], compress=False, raw=b"\x1f\x8b\x08\x00" + b"\x00not deflate data" * 4)
    write("broken/invalid.json", [], compress=False, raw=b'{"Records":[{"eventName":"StopLogging",}]}')
    write("broken/sns-notification.json", [], compress=False, raw=json.dumps({
        "Type": "Notification", "MessageId": "m-1", "Message": "{\"s3Bucket\":\"b\"}"}).encode())
    write("broken/empty-records.json.gz", [], raw=b'{"Records":[]}')
    lines = [json.dumps(api("2026-11-20T10:0%d:00Z" % i, A, "us-east-1", "cloudtrail.amazonaws.com",
                            "StopLogging", bob, params={"name": "t"})) for i in range(2)]
    write("broken/mixed.jsonl", [], compress=False,
          raw=(lines[0] + "\n{\"eventName\": \"DeleteTrail\", broken\n" + lines[1] + "\n").encode())


def behaviour():
    """fixtures/behaviour: three days of one account's activity for the baseline analyses.

    Outside the key layout on purpose (JSON Lines, gzipped): the analyses read any shape.
    Days 1 and 2 are the baseline; the last 24 hours hold a burst of CreateTags, an error
    spike on RunInstances, an API a principal never called before, a new reader of a secret
    and a burst of secret reads.
    """
    folder = os.path.join(ROOT, "behaviour")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    deploy, app = role(A, "deploy", "ci-pipeline"), role(A, "app-runtime", "i-0abc")
    alice = iam_user(A, "alice")
    events = []
    for hour in range(72):
        day, h = 18 + hour // 24, hour % 24
        stamp = lambda minute: f"2026-11-{day:02d}T{h:02d}:{minute:02d}:00Z"
        recent = hour >= 48
        # Steady writes: 2 or 3 CreateTags an hour; 40 in one recent hour.
        for m in range(40 if hour == 60 else 2 + hour % 2):
            events.append(api(stamp(m % 60), A, "us-east-1", "ec2.amazonaws.com", "CreateTags", deploy,
                              params={"resourcesSet": {"items": [{"resourceId": "i-0abc"}]}}))
        # RunInstances once an hour, failing 10 times in one recent hour.
        events.append(api(stamp(30), A, "us-east-1", "ec2.amazonaws.com", "RunInstances", deploy))
        if hour == 65:
            for m in range(10):
                events.append(api(stamp(31 + m), A, "us-east-1", "ec2.amazonaws.com", "RunInstances", deploy,
                                  error=("Client.UnauthorizedOperation", "You are not authorized")))
        # alice tags things in the baseline; in the recent period she attaches a role policy.
        if hour % 6 == 0:
            events.append(api(stamp(45), A, "us-east-1", "ec2.amazonaws.com", "CreateTags", alice))
        if hour == 62:
            events.append(api(stamp(46), A, "us-east-1", "iam.amazonaws.com", "AttachRolePolicy", alice,
                              params={"roleName": "app", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}))
        # The app reads its secret every hour; in the recent period alice reads it too.
        events.append(api(stamp(50), A, "us-east-1", "secretsmanager.amazonaws.com", "GetSecretValue", app,
                          read_only=True, params={"secretId": "prod/db-password"}))
        if hour == 63:
            events.append(api(stamp(51), A, "us-east-1", "secretsmanager.amazonaws.com", "GetSecretValue", alice,
                              read_only=True, ip="198.51.100.99", params={"secretId": "prod/db-password"}))
        # A burst: 25 different secrets read by one principal within two minutes.
        if hour == 66:
            for n in range(25):
                events.append(api(f"2026-11-{day:02d}T{h:02d}:{10 + n * 4 // 60:02d}:{n * 4 % 60:02d}Z", A, "us-east-1",
                                  "secretsmanager.amazonaws.com", "GetSecretValue", alice, read_only=True,
                                  ip="198.51.100.99", params={"secretId": f"prod/service-{n:02d}"}))
        del recent
    body = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)
    with open(os.path.join(folder, "account-111122223333.jsonl.gz"), "wb") as f:
        f.write(gzip.compress(body.encode(), mtime=0))


if __name__ == "__main__":
    main()
    behaviour()
