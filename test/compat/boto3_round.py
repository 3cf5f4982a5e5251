"""One round of the IVS Real-Time control plane with boto3 against Footlight.

Run by boto3_test.go with the server's environment: FOOTLIGHT_ENDPOINT, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION. It records what boto3 returned and prints one
JSON object; the Go test asserts on it. An unexpected error ends the script with a traceback
and a non-zero exit status.
"""

import json
import os
import sys

import boto3
import botocore
import botocore.config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["FOOTLIGHT_ENDPOINT"]


def client(**kw):
    return boto3.client("ivs-realtime", endpoint_url=ENDPOINT, **kw)


def error_of(call):
    """Runs call, which must raise ClientError; returns what a user reads off it."""
    try:
        call()
    except ClientError as e:
        return {
            "code": e.response["Error"]["Code"],
            "message": e.response["Error"].get("Message", ""),
            "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
            "class": type(e).__name__,
        }
    raise AssertionError("the call succeeded; an error was expected")


def token_of(t):
    exp = t.get("expirationTime")
    return {
        "participantId": t.get("participantId"),
        "userId": t.get("userId"),
        "duration": t.get("duration"),
        "capabilities": t.get("capabilities"),
        "attributes": t.get("attributes"),
        "token": t.get("token"),
        # boto3 parses the model's iso8601 timestamp into an aware datetime.
        "expirationTimeType": type(exp).__name__,
        "expirationTime": exp.isoformat() if hasattr(exp, "isoformat") else exp,
    }


def main():
    c = client()
    out = {"boto3": boto3.__version__, "botocore": botocore.__version__}

    created = c.create_stage(
        name="boto-stage",
        tags={"team": "video"},
        participantTokenConfigurations=[
            {"userId": "bob", "duration": 60, "capabilities": ["SUBSCRIBE"], "attributes": {"seat": "12"}}
        ],
    )
    arn = created["stage"]["arn"]
    out["create"] = {
        "arn": arn,
        "name": created["stage"]["name"],
        "tags": created["stage"]["tags"],
        "endpoints": created["stage"]["endpoints"],
        "tokens": [token_of(t) for t in created["participantTokens"]],
        "requestId": created["ResponseMetadata"]["RequestId"],
    }

    got = c.get_stage(arn=arn)["stage"]
    out["get"] = {"arn": got["arn"], "name": got["name"], "tags": got["tags"], "activeSessionId": got.get("activeSessionId")}

    storage = c.create_storage_configuration(name="boto-storage", s3={"bucketName": "boto-bucket"}, tags={"k": "v"})[
        "storageConfiguration"
    ]
    updated = c.update_stage(
        arn=arn,
        name="boto-renamed",
        autoParticipantRecordingConfiguration={"storageConfigurationArn": storage["arn"], "mediaTypes": ["AUDIO_ONLY"]},
    )["stage"]
    out["update"] = {
        "name": updated["name"],
        "storageConfigurationArn": updated["autoParticipantRecordingConfiguration"]["storageConfigurationArn"],
        "mediaTypes": updated["autoParticipantRecordingConfiguration"]["mediaTypes"],
    }
    out["deleteStorageInUse"] = error_of(lambda: c.delete_storage_configuration(arn=storage["arn"]))
    c.update_stage(arn=arn, autoParticipantRecordingConfiguration={"storageConfigurationArn": ""})

    out["listStages"] = [{"arn": s["arn"], "name": s["name"]} for s in c.list_stages()["stages"]]

    c.tag_resource(resourceArn=arn, tags={"env": "test", "a b": "c d", "x/y+z=ü": "1"})
    out["tagsAfterTag"] = c.list_tags_for_resource(resourceArn=arn)["tags"]
    c.untag_resource(resourceArn=arn, tagKeys=["team", "a b", "x/y+z=ü"])
    out["tagsAfterUntag"] = c.list_tags_for_resource(resourceArn=arn)["tags"]

    tok = c.create_participant_token(stageArn=arn, userId="carol", attributes={"role": "host"})["participantToken"]
    out["participantToken"] = token_of(tok)

    out["storage"] = {
        "created": storage,
        "got": c.get_storage_configuration(arn=storage["arn"])["storageConfiguration"],
        "listed": [s["arn"] for s in c.list_storage_configurations()["storageConfigurations"]],
    }
    c.delete_storage_configuration(arn=storage["arn"])
    out["storage"]["afterDelete"] = error_of(lambda: c.get_storage_configuration(arn=storage["arn"]))
    out["storage"]["listedAfterDelete"] = [s["arn"] for s in c.list_storage_configurations()["storageConfigurations"]]

    enc = c.create_encoder_configuration(
        name="boto-encoder", video={"width": 1080, "height": 1920, "framerate": 24.0, "bitrate": 4000000}
    )["encoderConfiguration"]
    out["encoder"] = {
        "created": enc,
        "got": c.get_encoder_configuration(arn=enc["arn"])["encoderConfiguration"],
        "listed": [e["arn"] for e in c.list_encoder_configurations()["encoderConfigurations"]],
    }
    c.delete_encoder_configuration(arn=enc["arn"])
    out["encoder"]["afterDelete"] = error_of(lambda: c.get_encoder_configuration(arn=enc["arn"]))
    out["encoder"]["listedAfterDelete"] = [e["arn"] for e in c.list_encoder_configurations()["encoderConfigurations"]]

    c.delete_stage(arn=arn)
    out["getAfterDelete"] = error_of(lambda: c.get_stage(arn=arn))
    try:
        c.get_stage(arn=arn)
        out["modeledNotFound"] = False
    except c.exceptions.ResourceNotFoundException:
        out["modeledNotFound"] = True

    wrong = client(aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key="not-the-secret")
    out["wrongSecret"] = error_of(lambda: wrong.list_stages())

    # botocore checks only required/type/min client-side; with validation off the server
    # gets even what breaks the minimum, and must answer with a ValidationException.
    raw = client(config=botocore.config.Config(parameter_validation=False))
    out["shortArn"] = error_of(lambda: raw.get_stage(arn="x"))

    json.dump(out, sys.stdout, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
