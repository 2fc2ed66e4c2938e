#!/usr/bin/env python3
"""Writes fixtures/investigate: two accounts' CloudTrail, in the S3 key layout, for `trace`,
`summary` and `timeline` (tests/investigate.rs).

Deterministic (gzip mtime 0, fixed ids). The story, on 2026-11-22:

- alice's leaked access key AKIAALICELEAKED00001 (account A) calls GetSessionToken, assumes
  the `deploy` role of A as session `breach`, which chains into the `audit-xacct` role of
  account B as session `hop`; each does work (a data read, a bucket policy, a denied
  DeleteTrail in B). The cross-account AssumeRole is logged in both accounts (one
  sharedEventID).
- Unrelated: the CI user assumes the same `deploy` role as session `ci-1234` and works in the
  same region at the same time. A trace of alice's key must not contain any of it.
- bob signs in to the console from 198.51.100.7 and clicks around (a burst of Describe calls
  with one console session key), then creates an access key.
- A chain whose middle AssumeRole is missing: ASIAORPHANMIDDLE0001 (a `deploy` session whose
  issuing event is not in the logs) assumes audit-xacct in B.
- A cycle that only forged logs can make: two sessions that each issued the other.

Files are written so that issuing events sit in later files than the calls they enable:
the trace must not depend on file order.

Run: python3 tests/generate_investigate_fixtures.py
"""

import gzip
import json
import os
import shutil

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "investigate")

A = "111122223333"
B = "444455556666"
ATTACKER = "203.0.113.66"
CLI = "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64"
CONSOLE = "console.ec2.amazonaws.com"
DAY = "2026-11-22T"

_counter = [0]


def event_id():
    _counter[0] += 1
    return f"00000000-0000-4000-9000-{_counter[0]:012d}"


def user(account, name, key):
    who = {
        "type": "IAMUser",
        "principalId": "AIDA" + name.upper().ljust(17, "X")[:17],
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "userName": name,
    }
    if key:
        who["accessKeyId"] = key
    return who


def console_user(account, name, key, created):
    who = user(account, name, key)
    who["sessionContext"] = {"attributes": {"creationDate": created, "mfaAuthenticated": "false"}}
    who["sessionCredentialFromConsole"] = "true"
    return who


def session(account, role, name, key, created, source_identity=None):
    attributes = {"creationDate": created, "mfaAuthenticated": "false"}
    context = {
        "sessionIssuer": {
            "type": "Role",
            "principalId": "AROA" + role.upper().ljust(17, "X")[:17],
            "arn": f"arn:aws:iam::{account}:role/{role}",
            "accountId": account,
            "userName": role,
        },
        "attributes": attributes,
    }
    if source_identity:
        context["sourceIdentity"] = source_identity
    return {
        "type": "AssumedRole",
        "principalId": "AROA" + role.upper().ljust(17, "X")[:17] + ":" + name,
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{name}",
        "accountId": account,
        "accessKeyId": key,
        "sessionContext": context,
    }


def call(time, account, region, source, name, who, ip=ATTACKER, read_only=False, params=None,
         response=None, error=None, agent=CLI, **extra):
    record = {
        "eventVersion": "1.09",
        "userIdentity": who,
        "eventTime": DAY + time + "Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": params,
        "responseElements": response,
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


def assume_role(time, account, who, role_account, role, session_name, new_key, ip=ATTACKER, **extra):
    return call(
        time, account, "us-east-1", "sts.amazonaws.com", "AssumeRole", who, ip=ip, read_only=True,
        params={"roleArn": f"arn:aws:iam::{role_account}:role/{role}", "roleSessionName": session_name},
        response={
            "credentials": {"accessKeyId": new_key, "expiration": "Nov 22, 2026, 11:00:00 PM",
                            "sessionToken": "FwoGZXIvYXdzEXAMPLE"},
            "assumedRoleUser": {"assumedRoleId": "AROA" + role.upper()[:10] + ":" + session_name,
                                "arn": f"arn:aws:sts::{role_account}:assumed-role/{role}/{session_name}"},
        },
        **extra,
    )


ALICE = user(A, "alice", "AKIAALICELEAKED00001")
ALICE_STS = user(A, "alice", "ASIAALICESTS00000001")
BREACH = session(A, "deploy", "breach", "ASIADEPLOYBREACH0001", DAY + "10:03:00Z")
HOP = session(B, "audit-xacct", "hop", "ASIAXACCTHOP00000001", DAY + "10:05:00Z")
CI = user(A, "ci", "AKIACIUSER0000000001")
CI_SESSION = session(A, "deploy", "ci-1234", "ASIADEPLOYCI00000001", DAY + "09:30:00Z")
BOB_CONSOLE = console_user(A, "bob", "ASIABOBCONSOLE000001", DAY + "11:00:00Z")
ORPHAN = session(A, "deploy", "orphan", "ASIAORPHANMIDDLE0001", DAY + "12:00:00Z")
ORPHAN_HOP = session(B, "audit-xacct", "orphan-hop", "ASIAORPHANHOP0000001", DAY + "12:05:00Z")
LOOP_A = session(A, "loop", "a", "ASIALOOPA00000000001", DAY + "13:00:00Z")
LOOP_B = session(A, "loop", "b", "ASIALOOPB00000000001", DAY + "13:01:00Z")

SHARED = "5f0c1d2e-0000-4000-8000-00000000c0de"


def story():
    """The events, by (account, region, file stamp)."""
    files = {}

    def add(account, region, stamp, *records):
        files.setdefault((account, region, stamp), []).extend(records)

    # Account A, us-east-1: the calls of the leaked key and its STS session...
    add(A, "us-east-1", "1010",
        call("10:00:00", A, "us-east-1", "sts.amazonaws.com", "GetCallerIdentity", ALICE, read_only=True),
        call("10:02:00", A, "us-east-1", "s3.amazonaws.com", "ListBuckets", ALICE_STS, read_only=True),
        # The unrelated CI user, at the same time, in the same account.
        call("10:02:30", A, "us-east-1", "sts.amazonaws.com", "GetCallerIdentity", CI, ip="10.0.0.5",
             read_only=True, agent="Boto3/1.34.0"))
    # ...and, in a later file, the events that issued those sessions.
    add(A, "us-east-1", "1020",
        call("10:01:00", A, "us-east-1", "sts.amazonaws.com", "GetSessionToken", ALICE, read_only=True,
             params={"durationSeconds": 3600},
             response={"credentials": {"accessKeyId": "ASIAALICESTS00000001",
                                       "expiration": "Nov 22, 2026, 11:01:00 AM",
                                       "sessionToken": "FwoGZXIvYXdzEXAMPLE"}}),
        assume_role("10:03:00", A, ALICE, A, "deploy", "breach", "ASIADEPLOYBREACH0001"),
        assume_role("09:30:00", A, CI, A, "deploy", "ci-1234", "ASIADEPLOYCI00000001", ip="10.0.0.5"),
        # The chained, cross-account AssumeRole as the caller's account logs it.
        assume_role("10:05:00", A, BREACH, B, "audit-xacct", "hop", "ASIAXACCTHOP00000001",
                    sharedEventID=SHARED))
    # Account A, eu-west-1: the breach session and the CI session side by side.
    add(A, "eu-west-1", "1005",
        call("10:04:00", A, "eu-west-1", "ec2.amazonaws.com", "DescribeInstances", BREACH, read_only=True),
        call("10:04:30", A, "eu-west-1", "ec2.amazonaws.com", "DescribeInstances", CI_SESSION,
             ip="10.0.0.5", read_only=True, agent="Boto3/1.34.0"),
        call("10:05:30", A, "eu-west-1", "ec2.amazonaws.com", "RunInstances", CI_SESSION,
             ip="10.0.0.5", agent="Boto3/1.34.0", params={"instanceType": "t3.micro"}))
    # Account B, us-east-1: the role's account logs the same AssumeRole (the caller as an
    # AWSAccount), then the hop session's work.
    b_copy = assume_role("10:05:00", B, {"type": "AWSAccount", "principalId": BREACH["principalId"],
                                          "accountId": A},
                         B, "audit-xacct", "hop", "ASIAXACCTHOP00000001", sharedEventID=SHARED)
    add(B, "us-east-1", "1000",
        call("10:06:00", B, "us-east-1", "s3.amazonaws.com", "GetObject", HOP, read_only=True,
             params={"bucketName": "payroll-exports", "key": "2026/11.csv"},
             managementEvent=False, eventCategory="Data"),
        call("10:07:00", B, "us-east-1", "s3.amazonaws.com", "PutBucketPolicy", HOP,
             params={"bucketName": "payroll-exports", "policy": "{}"}),
        call("10:08:00", B, "us-east-1", "cloudtrail.amazonaws.com", "DeleteTrail", HOP,
             params={"name": "org-trail"},
             error=("AccessDenied", "User is not authorized to perform: cloudtrail:DeleteTrail")),
        b_copy)

    # bob's console session: the sign-in, a burst of clicks, then a write.
    add(A, "us-east-1", "1100",
        call("11:00:00", A, "us-east-1", "signin.amazonaws.com", "ConsoleLogin", user(A, "bob", None),
             ip="198.51.100.7", agent="Mozilla/5.0 (X11; Linux x86_64)",
             response={"ConsoleLogin": "Success"},
             additionalEventData={"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"},
             eventType="AwsConsoleSignIn"),
        *[call(f"11:00:0{second}", A, "us-east-1", "ec2.amazonaws.com", name, BOB_CONSOLE,
               ip="198.51.100.7", read_only=True, agent=CONSOLE)
          for second, name in [(5, "DescribeInstances"), (6, "DescribeVolumes"), (7, "DescribeSecurityGroups"),
                               (8, "DescribeVpcs"), (9, "DescribeSubnets")]],
        call("11:02:00", A, "us-east-1", "iam.amazonaws.com", "CreateAccessKey", BOB_CONSOLE,
             ip="198.51.100.7", agent="console.amazonaws.com", params={"userName": "bob"}))

    # The chain with a missing middle, and the forged cycle.
    add(A, "us-east-1", "1200",
        call("12:00:00", A, "us-east-1", "sts.amazonaws.com", "GetCallerIdentity",
             user(A, "carol", "AKIACAROL00000000001"), ip="192.0.2.44", read_only=True),
        call("12:01:00", A, "us-east-1", "s3.amazonaws.com", "ListBuckets", ORPHAN, ip="192.0.2.44",
             read_only=True),
        assume_role("12:05:00", A, ORPHAN, B, "audit-xacct", "orphan-hop", "ASIAORPHANHOP0000001",
                    ip="192.0.2.44"),
        assume_role("13:01:00", A, LOOP_A, A, "loop", "b", "ASIALOOPB00000000001", ip="192.0.2.99"),
        assume_role("13:02:00", A, LOOP_B, A, "loop", "a", "ASIALOOPA00000000001", ip="192.0.2.99"),
        call("13:03:00", A, "us-east-1", "s3.amazonaws.com", "ListBuckets", LOOP_B, ip="192.0.2.99",
             read_only=True))
    add(B, "us-east-1", "1210",
        call("12:06:00", B, "us-east-1", "s3.amazonaws.com", "ListBuckets", ORPHAN_HOP, ip="192.0.2.44",
             read_only=True))
    return files


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    for (account, region, stamp), records in sorted(story().items()):
        folder = os.path.join(ROOT, "AWSLogs", account, "CloudTrail", region, "2026", "11", "22")
        os.makedirs(folder, exist_ok=True)
        name = f"{account}_CloudTrail_{region}_20261122T{stamp}Z_Inv{stamp}.json.gz"
        data = json.dumps({"Records": records}, separators=(",", ":")).encode()
        with open(os.path.join(folder, name), "wb") as f:
            f.write(gzip.compress(data, mtime=0))


if __name__ == "__main__":
    main()
