// The documents under test, read from the committed, synthesized templates (never from the Go
// source), and the AWS managed policies, read from moto's snapshot of them.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadTemplate, policyDocument, Stack } from './cfn.js'
import { CUSTOMER, EXTERNAL_ID, VENDOR } from './sim.js'

const repo = (path) => fileURLToPath(new URL(`../../${path}`, import.meta.url))

export const templates = {
  management: loadTemplate(repo('templates/management-role.yaml')),
  gateway: loadTemplate(repo('templates/support-gateway.json')),
  stackSet: loadTemplate(repo('stacksets/support-gateway-stackset.yaml')),
}

// ---- management-role.yaml, deployed by customer CUSTOMER for vendor VENDOR ----

export const managementStack = new Stack(templates.management, {
  accountId: CUSTOMER,
  parameters: {
    AccountNumberParameter: VENDOR,
    ExternalId: EXTERNAL_ID,
    ServiceToken: `arn:aws:sns:us-east-1:${VENDOR}:doit-support-gateway-hook`,
  },
})
const customerPolicyProps = managementStack.properties('CustomerPolicy')
export const management = {
  roleArn: managementStack.resolve({ 'Fn::GetAtt': ['AssumeableRole', 'Arn'] }),
  roleName: managementStack.resolve({ Ref: 'AssumeableRole' }),
  trust: policyDocument(managementStack.properties('AssumeableRole').AssumeRolePolicyDocument),
  policy: policyDocument(customerPolicyProps.PolicyDocument),
  policyName: customerPolicyProps.PolicyName,
  policyRoles: customerPolicyProps.Roles,
  boundaryArn: managementStack.resolve({ Ref: 'SupportBoundary' }),
  boundary: policyDocument(managementStack.properties('SupportBoundary').PolicyDocument),
}
/** The management role's identity policies, as IAM holds them. */
export const managementIdentity = [{ name: management.policyName, policy: management.policy }]

// ---- support-gateway.json (also what the StackSet deploys to every member account) ----

/** The gateway role as deployed with the given parameter values (defaults when omitted). */
export function gatewayRole(parameters = {}) {
  const stack = new Stack(templates.gateway, { accountId: CUSTOMER, parameters })
  const props = stack.properties('SupportGatewayRole')
  const managed = (props.ManagedPolicyArns ?? []).map((arn) => {
    const m = /^arn:aws:iam::aws:policy\/([A-Za-z0-9+=,.@_-]+)$/.exec(arn)
    if (!m) throw new Error(`gateway role attaches ${arn}, which is not an AWS managed policy this suite knows`)
    return m[1]
  })
  const aws = awsManagedPolicies()
  return {
    arn: stack.resolve({ 'Fn::GetAtt': ['SupportGatewayRole', 'Arn'] }),
    trust: policyDocument(props.AssumeRolePolicyDocument),
    inline: (props.Policies ?? []).map((p) => ({ name: p.PolicyName, policy: policyDocument(p.PolicyDocument) })),
    managedNames: managed,
    /** Identity policies: the AWS managed policies it attaches plus its inline policies. */
    identity: [
      ...managed.map((name) => ({ name, policy: aws[name] ?? missingManaged(name) })),
      ...(props.Policies ?? []).map((p) => ({ name: p.PolicyName, policy: policyDocument(p.PolicyDocument) })),
    ],
    providerArns: [stack.resolve({ Ref: 'PrimaryIdentityProvider' }), stack.resolve({ Ref: 'StandbyIdentityProvider' })],
    providerUrls: ['PrimaryIdentityProvider', 'StandbyIdentityProvider'].map((id) => stack.properties(id).Url),
    audience: stack.properties('PrimaryIdentityProvider').ClientIdList,
  }
}

// ---- AWS managed policies, from moto ----

const MANAGED = ['SecurityAudit', 'AWSSupportAccess', 'AdministratorAccess']
let managedCache
let managedError // a failure is remembered too: every test that needs the policies fails the same way

/**
 * SecurityAudit, AWSSupportAccess and AdministratorAccess as AWS publishes them (moto's copy).
 * Throws, failing every test that needs them, when python3 or moto is missing: the suite never
 * falls back to hand-written stand-ins.
 */
export function awsManagedPolicies() {
  if (managedCache) return managedCache
  if (managedError) throw managedError
  const python = process.env.PYTHON ?? 'python3'
  const script = fileURLToPath(new URL('./managed_policies.py', import.meta.url))
  const run = spawnSync(python, [script, ...MANAGED], { encoding: 'utf8' })
  if (run.error || run.status !== 0) {
    managedError = new Error(
      `cannot read AWS managed policies with ${python} ${script}: ${run.error?.message ?? run.stderr.trim()}\n` +
        'The IAM suite needs Python 3 with moto (pip install -r requirements.txt at the repository root, moto==5.2.1).',
    )
    throw managedError
  }
  managedCache = JSON.parse(run.stdout)
  return managedCache
}

function missingManaged(name) {
  throw new Error(`moto has no copy of the AWS managed policy ${name}`)
}

// ---- the broker's session policy, as internal/policy renders it (testdata/session-policy.json,
// kept current by a Go golden test) ----

const renderedSessionPolicies = JSON.parse(readFileSync(new URL('../../internal/policy/testdata/session-policy.json', import.meta.url)))

/**
 * The session policy of a variant ('default', 'all', ...) as one document: its managed policies
 * (by ARN) and its inline policy merged, as STS combines them (the allows a union, every deny applies).
 */
export function sessionPolicyDocument(variant) {
  const aws = awsManagedPolicies()
  const { ManagedArns, Inline } = renderedSessionPolicies[variant]
  const statements = ManagedArns.flatMap((arn) => {
    const name = /^arn:aws:iam::aws:policy\/(.+)$/.exec(arn)?.[1]
    if (!name || !aws[name]) throw new Error(`session policy names ${arn}, which this suite cannot load`)
    const st = aws[name].Statement
    return Array.isArray(st) ? st : [st]
  })
  return { Version: '2012-10-17', Statement: [...statements, ...Inline.Statement] }
}
