"""Prints AWS managed policy documents as one JSON object {name: document}.

The documents come from the moto package (its snapshot of AWS's managed policies), so the
simulations use the real SecurityAudit, AWSSupportAccess and AdministratorAccess rather than a
hand-written imitation. Usage: python3 managed_policies.py [NAME ...]
"""
import json
import sys

DEFAULT_NAMES = ["SecurityAudit", "AWSSupportAccess", "AdministratorAccess"]


def main(names):
    try:
        from moto.iam.aws_managed_policies import aws_managed_policies_data
    except ImportError as err:
        sys.exit(f"cannot import moto's AWS managed policies ({err}); install it: pip install -r requirements.txt (repository root) or pip install moto==5.2.1")
    data = json.loads(aws_managed_policies_data)
    missing = [n for n in names if n not in data]
    if missing:
        sys.exit(f"moto has no AWS managed policy named {', '.join(missing)}")
    out = {}
    for name in names:
        doc = data[name]["Document"]
        out[name] = json.loads(doc) if isinstance(doc, str) else doc
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT_NAMES)
