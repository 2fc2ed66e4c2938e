#!/usr/bin/env python3
"""Generates a deterministic CloudTrail corpus in the S3 key layout, for benchmarks.

    python3 benches/gen_corpus.py OUT_DIR [--records N] [--per-file N]

Events follow the mix of a busy account: mostly reads (Describe*, Get*, List*, AssumeRole,
Decrypt), some writes, console sign-ins with a few failures, and errors. Record sizes and
fields (userIdentity with sessionContext, requestParameters, responseElements, tlsDetails) are
those of real deliveries, about 1.1 KB per event. Same arguments, same bytes.
"""

import argparse
import gzip
import json
import os
import random
from datetime import datetime, timedelta, timezone

ACCOUNTS = ["111122223333", "444455556666"]
REGIONS = ["us-east-1", "eu-west-1"]
READS = [
    ("ec2.amazonaws.com", "DescribeInstances"), ("ec2.amazonaws.com", "DescribeSecurityGroups"),
    ("s3.amazonaws.com", "GetBucketAcl"), ("s3.amazonaws.com", "ListBuckets"),
    ("sts.amazonaws.com", "AssumeRole"), ("kms.amazonaws.com", "Decrypt"),
    ("kms.amazonaws.com", "GenerateDataKey"), ("iam.amazonaws.com", "GetRole"),
    ("iam.amazonaws.com", "ListPolicies"), ("lambda.amazonaws.com", "GetFunction"),
    ("logs.amazonaws.com", "DescribeLogGroups"), ("cloudtrail.amazonaws.com", "DescribeTrails"),
]
WRITES = [
    ("ec2.amazonaws.com", "RunInstances"), ("ec2.amazonaws.com", "CreateTags"),
    ("s3.amazonaws.com", "PutBucketPolicy"), ("iam.amazonaws.com", "PutRolePolicy"),
    ("iam.amazonaws.com", "AttachRolePolicy"), ("lambda.amazonaws.com", "UpdateFunctionCode"),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress"), ("kms.amazonaws.com", "ScheduleKeyDeletion"),
    ("cloudtrail.amazonaws.com", "StopLogging"), ("ec2.amazonaws.com", "CreateRoute"),
]
AGENTS = [
    "aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/ec2.describe-instances",
    "Boto3/1.34.11 md/Botocore#1.34.11 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.6 cfg/retry-mode#legacy",
    "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/sts#1.26.6",
    "console.amazonaws.com",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0 Safari/537.36",
]


def identity(rng, account):
    if rng.random() < 0.7:
        role = rng.choice(["deploy", "app-runtime", "ReadOnlyAuditor", "AWSReservedSSO_Admin_0123456789abcdef"])
        session = f"session-{rng.randrange(10_000):04d}"
        return {
            "type": "AssumedRole",
            "principalId": f"AROA{rng.randrange(10**16):016d}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
            "accountId": account,
            "accessKeyId": f"ASIA{rng.randrange(10**16):016d}",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": f"AROA{rng.randrange(10**16):016d}",
                                  "arn": f"arn:aws:iam::{account}:role/{role}", "accountId": account,
                                  "userName": role},
                "webIdFederationData": {},
                "attributes": {"creationDate": "2026-11-01T00:00:00Z", "mfaAuthenticated": "false"},
            },
        }
    user = f"user{rng.randrange(50):02d}"
    return {"type": "IAMUser", "principalId": f"AIDA{rng.randrange(10**16):016d}",
            "arn": f"arn:aws:iam::{account}:user/{user}", "accountId": account,
            "accessKeyId": f"AKIA{rng.randrange(10**16):016d}", "userName": user}


def event(rng, account, region, when, serial):
    roll = rng.random()
    ip = f"{rng.choice([198, 203, 192])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    if roll < 0.02:
        failed = rng.random() < 0.3
        record = {
            "eventVersion": "1.09", "userIdentity": identity(rng, account), "eventTime": when,
            "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "awsRegion": "us-east-1",
            "sourceIPAddress": ip, "userAgent": AGENTS[4], "requestParameters": None,
            "responseElements": {"ConsoleLogin": "Failure" if failed else "Success"},
            "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home",
                                    "MobileVersion": "No", "MFAUsed": rng.choice(["Yes", "No"])},
            "eventID": f"{serial:08x}-0000-4000-8000-{rng.randrange(16**12):012x}", "readOnly": False,
            "eventType": "AwsConsoleSignIn", "managementEvent": True, "recipientAccountId": account,
            "eventCategory": "Management",
        }
        if failed:
            record["errorMessage"] = "Failed authentication"
        return record
    source, name = rng.choice(WRITES) if roll < 0.1 else rng.choice(READS)
    record = {
        "eventVersion": "1.09", "userIdentity": identity(rng, account), "eventTime": when,
        "eventSource": source, "eventName": name, "awsRegion": region, "sourceIPAddress": ip,
        "userAgent": rng.choice(AGENTS[:4]),
        "requestParameters": {"resourceId": f"r-{rng.randrange(16**10):010x}", "maxResults": 100,
                              "filterSet": {"items": [{"name": "tag:team", "valueSet": {"items": [{"value": "platform"}]}}]}},
        "responseElements": None if roll > 0.1 else {"requestId": f"{rng.randrange(16**12):012x}"},
        "requestID": f"{rng.randrange(16**8):08x}-{rng.randrange(16**4):04x}-4{rng.randrange(16**3):03x}-8{rng.randrange(16**3):03x}-{rng.randrange(16**12):012x}",
        "eventID": f"{serial:08x}-0000-4000-8000-{rng.randrange(16**12):012x}",
        "readOnly": roll >= 0.1, "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": account, "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": f"{source.split('.')[0]}.{region}.amazonaws.com"},
    }
    if rng.random() < 0.03:
        record["errorCode"] = rng.choice(["AccessDenied", "Client.UnauthorizedOperation", "ThrottlingException"])
        record["errorMessage"] = "User is not authorized to perform this operation"
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--per-file", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(20261121)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    files = max(1, args.records // args.per_file)
    serial = 0
    total = 0
    for i in range(files):
        account = ACCOUNTS[i % len(ACCOUNTS)]
        region = REGIONS[(i // len(ACCOUNTS)) % len(REGIONS)]
        slot = start + timedelta(minutes=5 * (i // (len(ACCOUNTS) * len(REGIONS))))
        records = []
        for _ in range(args.per_file):
            when = (slot + timedelta(seconds=rng.randrange(300))).strftime("%Y-%m-%dT%H:%M:%SZ")
            records.append(event(rng, account, region, when, serial))
            serial += 1
        stamp = slot.strftime("%Y%m%dT%H%MZ")
        folder = os.path.join(args.out, "AWSLogs", account, "CloudTrail", region, slot.strftime("%Y/%m/%d"))
        os.makedirs(folder, exist_ok=True)
        data = json.dumps({"Records": records}, separators=(",", ":")).encode()
        total += len(data)
        name = f"{account}_CloudTrail_{region}_{stamp}_{i:06d}.json.gz"
        with open(os.path.join(folder, name), "wb") as f:
            f.write(gzip.compress(data, compresslevel=6, mtime=0))
    print(f"{files} files, {serial} records, {total / 1e6:.0f} MB uncompressed in {args.out}")


if __name__ == "__main__":
    main()
