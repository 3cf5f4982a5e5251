"""A burst of GetStage calls with boto3, to see how Footlight's --aws-quotas rate limits look to
an SDK.

Run by quota_test.go with the server's environment (FOOTLIGHT_ENDPOINT, AWS_*) and a stage ARN
as the only argument. It calls get_stage with retries off until the first error or 200 calls,
then once more with boto3's default retries, and prints one JSON object.
"""

import json
import os
import sys

import boto3
import botocore.config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["FOOTLIGHT_ENDPOINT"]
MAX_CALLS = 200


def main():
    arn = sys.argv[1]
    no_retries = boto3.client(
        "ivs-realtime",
        endpoint_url=ENDPOINT,
        config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    out = {"succeeded": 0, "error": None}
    for _ in range(MAX_CALLS):
        try:
            no_retries.get_stage(arn=arn)
        except ClientError as e:
            out["error"] = {
                "code": e.response["Error"]["Code"],
                "message": e.response["Error"].get("Message", ""),
                "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                "class": type(e).__name__,
            }
            break
        out["succeeded"] += 1
    # boto3's default retry policy treats 429 as throttling and retries with backoff.
    retried = boto3.client("ivs-realtime", endpoint_url=ENDPOINT).get_stage(arn=arn)
    out["retriedArn"] = retried["stage"]["arn"]
    out["retryAttempts"] = retried["ResponseMetadata"]["RetryAttempts"]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
