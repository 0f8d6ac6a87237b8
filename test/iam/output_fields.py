"""Finds the IAM actions whose API responses carry sensitive fields, from botocore's service models.

Reads a JSON list of IAM actions ("service:Action") on stdin and prints one JSON object:

    {"botocore": "<version>",
     "actions": {"<action>": {"operation": "<model>.<Operation>", "fields": [["<kind>", "<path>"], ...]}},
     "unmodelled": ["<action>", ...]}

"actions" holds only the actions with at least one finding; "unmodelled" the actions with no
operation of that name in any model whose signing name, endpoint prefix or model name is the
action's service prefix (permission-only actions such as iam:PassRole, and services botocore does
not model). A path is the output shape walked from the top: "Reservations[].Instances[].UserData".

Kinds (the issue's "user data, credentials, environment variables, secrets or personal data"):

  user-data    a member named UserData (EC2 and Auto Scaling launch specifications)
  credentials  passwords, secrets, pre-shared, private and BGP auth keys, session tokens, API and auth keys,
               credential objects (names ending so, except metadata such as ...Arn, ...Id,
               ...LastUsed, ...Enabled, ...KmsKeyId)
  environment  environment variables and job/step arguments (Environment, EnvironmentVariables,
               Variables, StageVariables, DefaultArguments, Arguments, Args)
  personal     e-mail addresses, phone numbers, user attributes
  parameters   CloudFormation-style parameter values, template bodies and resolved resource properties
  content      log samples, payloads and bodies, trace segments, and (presigned) URLs that open data
  sensitive    a member whose shape carries Smithy's @sensitive trait ("sensitive": true in
               botocore), AWS's own mark for data that must not be logged, unless the member is
               plainly a name, description, identifier or tag

Only botocore is needed (pinned in requirements.txt through boto3/botocore). Usage:
    echo '["ec2:DescribeInstances"]' | python3 output_fields.py
"""
import json
import re
import sys

KINDS = [
    ("user-data", re.compile(r"^UserData$", re.I)),
    ("environment", re.compile(r"^(environment|environmentVariables|variables|stageVariables|defaultArguments|arguments|args)$", re.I)),
    ("credentials", re.compile(
        r"(password|secret|passphrase|privateKey|privateKeys|secretAccessKey|sessionToken|credentials?|apiKey|apiKeys"
        r"|authToken|accessToken|refreshToken|preSharedKey|sharedSecret|clientSecret|signingKey|keyMaterial|authKey)$", re.I)),
    ("personal", re.compile(r"^(email|emails|emailAddress|emailAddresses|phoneNumber|phoneNumbers|userAttributes|attributes)$", re.I)),
    ("parameters", re.compile(r"^(parameters|templateBody|parameterValue|resourceProperties|expectedProperties|actualProperties)$", re.I)),
    ("content", re.compile(r"^(logSamples|payload|body|messageBody|segments|s3Url|dashboardUrl|presignedUrl|signedUrl|downloadUrl)$", re.I)),
]
# Names that end like a credential but hold metadata about one.
METADATA = re.compile(
    r"(Arn|ARN|Arns|Id|ID|Ids|Name|Names|Type|Types|Enabled|Status|State|Date|Time|Timestamp|LastUsed|Field|Count"
    r"|Config|Configuration|Policy|Version|Source|Length|Mode|Format|Location|KeyId|KmsKey|Rotation\w*|Expir\w*|Age"
    r"|Options|Settings|Required|Reference|References|Provider|Method|Size|Url|URL|Uri|Ref)$")
# Members the @sensitive trait marks that name or describe things rather than hold their content.
PLAIN = re.compile(r"^(name|names|displayName|description|comment|title|id|ids|arn|tags|tagList|key|nextToken|label|alias)$", re.I)
MAX_DEPTH = 14


def load_models():
    import botocore
    import botocore.session

    loader = botocore.session.get_session().get_component("data_loader")
    by_prefix, models = {}, {}
    for name in loader.list_available_services("service-2"):
        model = loader.load_service_model(name, "service-2")
        models[name] = model
        meta = model["metadata"]
        for key in {meta.get("signingName"), meta.get("endpointPrefix"), name}:
            if key:
                by_prefix.setdefault(key.lower(), set()).add(name)
    return botocore.__version__, by_prefix, models


def walk(model, shape_name, path, seen, found, depth=0):
    shapes = model["shapes"]
    if shape_name in seen or depth > MAX_DEPTH:
        return
    seen = seen | {shape_name}
    shape = shapes[shape_name]
    children = []
    if shape["type"] == "structure":
        children = [(m, v["shape"], path + ("." if path else "") + m) for m, v in shape.get("members", {}).items()]
    elif shape["type"] == "list":
        children = [(None, shape["member"]["shape"], path + "[]")]
    elif shape["type"] == "map":
        children = [(None, shape["value"]["shape"], path + "{}")]
    for member, child, child_path in children:
        if member:
            for kind, pattern in KINDS:
                if pattern.search(member) and not (kind == "credentials" and METADATA.search(member)):
                    found.append((kind, child_path))
            if shapes[child].get("sensitive") and not PLAIN.match(member):
                found.append(("sensitive", child_path))
        walk(model, child, child_path, seen, found, depth + 1)


def scan(actions, by_prefix, models):
    flagged, unmodelled = {}, []
    for action in actions:
        service, name = action.split(":", 1)
        hit = False
        for model_name in sorted(by_prefix.get(service.lower(), ())):
            model = models[model_name]
            operations = {op.lower(): op for op in model["operations"]}
            op = operations.get(name.lower())
            if not op:
                continue
            hit = True
            found = []
            output = model["operations"][op].get("output")
            if output:
                walk(model, output["shape"], "", frozenset(), found)
            if found:
                entry = flagged.setdefault(action, {"operation": f"{model_name}.{op}", "fields": []})
                for f in found:
                    if list(f) not in entry["fields"]:
                        entry["fields"].append(list(f))
            break
        if not hit:
            unmodelled.append(action)
    return flagged, unmodelled


def main():
    try:
        version, by_prefix, models = load_models()
    except ImportError as err:
        sys.exit(f"cannot import botocore ({err}): pip install -r requirements.txt (repository root)")
    actions = json.load(sys.stdin)
    flagged, unmodelled = scan(actions, by_prefix, models)
    json.dump({"botocore": version, "actions": flagged, "unmodelled": unmodelled}, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
