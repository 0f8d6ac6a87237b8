"""checkov on the customer templates, with every finding either fixed or explained here.

Run by `make lint-templates` in the pinned checkov environment (requirements-checkov.txt). checkov's
IAM checks come from cloudsplaining, which reads a policy's Allow statements only. Two findings are
expected, and only for what this script can account for action by action:

- CKV_AWS_111 ("write access without constraints") on the boundary and on the gateway role:
  servicequotas:RequestServiceQuotaIncrease is the one write the vendor documents promise (quota
  requests on the customer's behalf); every other action cloudsplaining names must be denied by a
  Deny statement of the same document (the sensitive-read deny: cluster credentials, presigned UI
  links, ...).
- CKV_AWS_107 ("credentials exposure"): likewise, every action it names must be denied in the same
  document.

The customer's boundary is written as an Allow of "*" capped by explicit denies (Deny NotAction of its
read list, Deny of other runbooks by NotResource, Deny of the sensitive reads), because only an explicit
deny also caps same-account resource-policy grants. cloudsplaining reads Allow statements only, so it
sees "*"; for such a document this script analyses the equivalent allow-list (capped(): the NotAction
list allowed on "*", each NotResource-denied action allowed only on its resources, the other denies
kept) and accounts for a finding of CKV_AWS_107/109/110/111 only if the equivalent document has none
left over. cdk-nag's suppression for the boundary says the same.

The vendor's backend stack (cdk/backend.go, synthesized into .cache/backend.template.json by `make
lint-templates`) has findings of other kinds, each kept for the reason written in BACKEND below, for the
resources named there only, and only in that template.

Anything else checkov reports fails the run, as does an expected finding with an action left over.
"""
import fnmatch
import json
import subprocess
import sys

from checkov.cloudformation.parser import parse
from cloudsplaining.scan.policy_document import PolicyDocument

INTENDED = {
    "CKV_AWS_111": {"servicequotas:requestservicequotaincrease"},
    "CKV_AWS_107": set(),
    "CKV_AWS_109": set(),
    "CKV_AWS_110": set(),
}
# The backend template's findings that are kept, by check and logical ID (a glob: CDK appends a hash
# to some IDs), each with its reason. cdk/backend_test.go's nag suppressions say the same where
# cdk-nag has a matching rule.
BACKEND_TEMPLATE = "backend.template.json"
BACKEND = {
    ("CKV_AWS_18", "AccessLogsBucket*"):
        "the access-log bucket is where every other bucket's and CloudFront's access logs go; logging its own "
        "access into itself would log the log deliveries",
    ("CKV_AWS_119", "RegistryTable"):
        "encrypted with the AWS managed key aws/dynamodb, whose every use is in CloudTrail; a customer managed "
        "key would exclude no principal the roles' policies do not already exclude",
    ("CKV_AWS_119", "BrokerTable"):
        "as the registry table: the AWS managed key aws/dynamodb",
    ("CKV_AWS_7", "SubjectKey"):
        "an HMAC_256 key: KMS rotates only symmetric encryption keys automatically, and a new subject key would "
        "give every engineer a new pairwise sub in every account (internal/issuer/subject.go)",
    ("CKV_AWS_68", "Issuer*Distribution"):
        "the issuer hosts serve static, public JSON documents (discovery and JWKS) by GET/HEAD from a private "
        "bucket (origin access control); no request reaches code or data, and Shield Standard covers the edge. "
        "A web ACL would add a rule set with nothing to inspect",
    ("CKV_AWS_174", "Issuer*Distribution"):
        "without supportGateway:backend:issuerCertificateArn (the linted default) a distribution uses CloudFront's "
        "default certificate, whose protocol floor CloudFront fixes; with the certificate, which the issuer hosts "
        "need anyway, the stack sets TLSv1.2_2021 (cdk/backend_issuer.go)",
    ("CKV_AWS_26", "HookTopic"):
        "the hook topic receives custom-resource requests from principals of every customer account; with SSE-KMS "
        "each of them (console users, CloudFormation service roles, StackSets execution roles) would need "
        "kms:GenerateDataKey on a vendor key in its own IAM policy, which the customer templates cannot grant. "
        "Publishing requires TLS (the topic policy's EnforceSSL deny)",
    ("CKV_AWS_117", "HookFunction"):
        "the hook calls only AWS APIs (STS, IAM, KMS, DynamoDB, S3) and CloudFormation's response bucket over "
        "HTTPS; a VPC would add NAT and endpoints to reach the same, and no private resource",
    ("CKV_AWS_117", "ApiFunction"):
        "as the hook: only AWS APIs over HTTPS, no private resource to reach",
    ("CKV_AWS_173", "HookFunction"):
        "the environment holds table, bucket and host names, the account and the signer role's ARN: no secret; "
        "Lambda encrypts it at rest with its AWS managed key",
    ("CKV_AWS_173", "ApiFunction"):
        "as the hook: names and ARNs only",
    ("CKV_AWS_54", "TemplateBucket"):
        "the published templates must be readable by anyone (customers review them, and CloudFormation takes "
        "TemplateURL from S3): the bucket policy grants s3:GetObject on v*/ and latest/ only; public ACLs stay blocked",
    ("CKV_AWS_56", "TemplateBucket"):
        "as CKV_AWS_54: the public read of the published prefixes is the bucket's purpose",
    ("CKV_AWS_116", "ApiFunction"):
        "API Gateway invokes the API function synchronously; a dead-letter queue only receives failed "
        "asynchronous invocations",
}

# The cloudsplaining analysis behind each check.
ANALYSIS = {
    "CKV_AWS_111": lambda pd: pd.write_actions_without_constraints,
    "CKV_AWS_107": lambda pd: pd.credentials_exposure,
    "CKV_AWS_109": lambda pd: pd.permissions_management_without_constraints,
    "CKV_AWS_110": lambda pd: [a for f in pd.allows_privilege_escalation for a in f.get("actions", [])],
}


def documents(props):
    """The policy documents of a resource's properties: a managed policy's, a role's inline ones
    (both branches of an Fn::If), as plain JSON."""
    docs = []
    if isinstance(props.get("PolicyDocument"), dict):
        docs.append(props["PolicyDocument"])
    for p in props.get("Policies", []):
        if isinstance(p, dict) and "Fn::If" in p:
            p = p["Fn::If"][1]
        if isinstance(p, dict) and isinstance(p.get("PolicyDocument"), dict):
            docs.append(p["PolicyDocument"])
    return [json.loads(json.dumps(d, default=str)) for d in docs]


def as_list(v):
    return v if isinstance(v, list) else [v]


def capped(doc):
    """doc as an allow-list, if it is an Allow of "*" capped by an unconditional Deny NotAction on "*";
    else doc unchanged. Each unconditional Deny of actions by NotResource becomes an Allow of those
    actions on those resources (and leaves the "*" allow); the other statements stay."""
    st = doc["Statement"]
    star = [s for s in st if s["Effect"] == "Allow" and as_list(s.get("Action")) == ["*"] and as_list(s.get("Resource")) == ["*"]]
    caps = [s for s in st if s["Effect"] == "Deny" and "NotAction" in s and "Condition" not in s and as_list(s.get("Resource")) == ["*"]]
    if len(star) != 1 or len(caps) != 1:
        return doc
    by_resource = [s for s in st if s["Effect"] == "Deny" and "NotResource" in s and "Condition" not in s]
    narrowed = {a for s in by_resource for a in as_list(s["Action"])}
    rest = [s for s in st if s is not star[0] and s is not caps[0] and s not in by_resource]
    allows = [{"Effect": "Allow", "Action": [a for a in as_list(caps[0]["NotAction"]) if a not in narrowed], "Resource": "*"}]
    allows += [{"Effect": "Allow", "Action": as_list(s["Action"]), "Resource": as_list(s["NotResource"])} for s in by_resource]
    return {"Version": doc.get("Version", "2012-10-17"), "Statement": allows + rest}


def left_over(check_id, doc):
    """What cloudsplaining flags in doc (as an allow-list: capped()) for check_id that no Deny of
    doc covers and that is not intended."""
    doc = capped(doc)
    pd = PolicyDocument(doc)
    flagged = ANALYSIS[check_id](pd)
    denies = [a.lower() for s in doc["Statement"] if s["Effect"] == "Deny" and "Condition" not in s
              for a in as_list(s.get("Action", []))]
    return sorted(a for a in flagged
                  if a.lower() not in INTENDED[check_id]
                  and not any(fnmatch.fnmatchcase(a.lower(), d) for d in denies))


def main(templates):
    out = subprocess.run(
        [sys.executable, "-m", "checkov.main", "--quiet", "--compact", "--skip-download",
         "--framework", "cloudformation", "-o", "json"] + [a for t in templates for a in ("-f", t)],
        capture_output=True, text=True)
    if not out.stdout.strip():
        sys.exit(f"checkov printed no report (exit {out.returncode}): {out.stderr[-2000:]}")
    report = json.loads(out.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [c for r in reports for c in r["results"].get("failed_checks", [])]
    passed = sum(r["summary"]["passed"] for r in reports)
    problems, explained, kept = [], 0, []
    for c in failed:
        where = f'{c["check_id"]} on {c["resource"]} ({c["file_path"]})'
        logical_id = c["resource"].split(".", 1)[1]
        if c["file_path"].endswith(BACKEND_TEMPLATE) and any(
                check == c["check_id"] and fnmatch.fnmatchcase(logical_id, pattern) for check, pattern in BACKEND):
            kept.append(f'{c["check_id"]} {logical_id}')
            continue
        if c["check_id"] not in INTENDED:
            problems.append(f'{where}: {c["check_name"]}')
            continue
        template, _ = parse(c["file_abs_path"])
        docs = documents(template["Resources"][logical_id]["Properties"])
        if not docs:
            problems.append(f"{where}: no policy document found to account for the finding")
            continue
        rest = sorted({a for d in docs for a in left_over(c["check_id"], d)})
        if rest:
            problems.append(f"{where}: neither intended nor denied: {', '.join(rest)}")
        else:
            explained += 1
    if problems:
        print("checkov findings to fix:", *problems, sep="\n  ", file=sys.stderr)
        sys.exit(1)
    print(f"checkov: {passed} checks passed; {explained} findings accounted for action by action "
          f"(the quota-request write, and reads the documents' own Deny removes)"
          + (f"; {len(kept)} backend findings kept for the reasons in test/checkov/check.py ({', '.join(sorted(kept))})" if kept else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
