// Sessions: what an engineer's session can do is the role's policies ∩ its boundary ∩ the session
// policy the broker passes. The session policy is the one internal/policy builds (rendered to
// internal/policy/testdata/session-policy.json, kept current by a Go golden test): the managed policies
// it names by ARN and its inline document together, which is how STS combines them.
import { describe, it } from 'node:test'
import { awsManagedPolicies, gatewayRole, management, sessionPolicyDocument } from './fixtures.js'
import { SUPPORT_ROLE, actionPattern, expandActions, resourceFor } from './resources.js'
import { CUSTOMER, expectDecision, simulate } from './sim.js'

const sessionDocument = sessionPolicyDocument

// Every sensitive read the vendor's policies deny (both Go lists), each wildcard entry expanded to the
// actions it names. The session's own deny names only those SecurityAudit's reads could reach; the
// others (policy.CapSensitiveReads) must be outside SecurityAudit and AWSSupportAccess altogether.
const sensitive = await expandActions(gatewayRole().inline.find((p) => p.name === 'DoiT-Support-Base').policy.Statement
  .filter((s) => s.Effect === 'Deny').flatMap((s) => s.Action))
const writes = ['iam:CreateUser', 'iam:AttachRolePolicy', 'iam:PutRolePolicy', 'ec2:RunInstances', 'ec2:TerminateInstances',
  's3:PutObject', 's3:DeleteBucket', 'rds:DeleteDBInstance', 'lambda:UpdateFunctionCode', 'kms:ScheduleKeyDeletion',
  'cloudformation:DeleteStack', 'sts:AssumeRole', 'dynamodb:PutItem', 'sns:Publish', 'ssm:SendCommand']
const allowed = ['support:CreateCase', 'support:AddCommunicationToCase', 'servicequotas:RequestServiceQuotaIncrease',
  'servicequotas:GetServiceQuota', 'ec2:DescribeInstances', 'iam:GetRole', 's3:GetBucketPolicy']

const admin = () => [{ name: 'AdministratorAccess', policy: awsManagedPolicies().AdministratorAccess }]

// The reads the boundary leaves to the role policies for room (README, known limits; each reviewed in
// sensitive_reads.test.js): inside its cap, not in its own Deny. Under the boundary with
// AdministratorAccess in place of the vendor's policy, they are allowed.
const cap = management.boundary.Statement.find((s) => s.Effect === 'Deny' && s.NotAction).NotAction.map(actionPattern)
const boundaryDenies = new Set(await expandActions(management.boundary.Statement.filter((s) => s.Sid === 'DenySensitiveDataReads').flatMap((s) => s.Action)))
const boundaryOmits = sensitive.filter((a) => cap.some((re) => re.test(a)) && !boundaryDenies.has(a))
// ... which a session then gets only where its session policy (SecurityAudit) grants them.
const sessionGrants = new Set(await expandActions(sessionDocument('default').Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat())))

// Who the session is for: the gateway role as the template makes it; the same role after a customer
// gave it AdministratorAccess (seed 002: customers may grant it anything); the vendor's DoiT-Support
// role under the customer's boundary, also holding AdministratorAccess.
const principals = [
  { what: 'gateway role as deployed', principal: () => gatewayRole().arn, identity: () => gatewayRole().identity },
  { what: 'gateway role given AdministratorAccess', principal: () => gatewayRole().arn, identity: () => [...gatewayRole().identity, ...admin()] },
  { what: 'DoiT-Support under the boundary, given AdministratorAccess', principal: () => SUPPORT_ROLE, identity: admin, boundary: () => management.boundary, omits: boundaryOmits },
]

for (const p of principals) {
  describe(`session on the ${p.what}: read-only, support cases and quota requests`, () => {
    const run = async (action, expected, variant = 'default', resource) => {
      const name = `${action}: ${expected}`
      const sim = await simulate({
        principal: p.principal(), action, resource: resource ?? (await resourceFor(action)), identity: p.identity(),
        boundary: p.boundary?.(), session: sessionDocument(variant),
      })
      expectDecision(name, sim, expected)
    }
    for (const action of allowed) it(`allows ${action}`, () => run(action, 'Allowed'))
    for (const action of sensitive) {
      if (p.omits?.includes(action) && sessionGrants.has(action)) it(`known limit: the boundary leaves ${action} to the role's own policy`, () => run(action, 'Allowed'))
      else it(`denies the sensitive read ${action}`, () => run(action, 'Denied'))
    }
    for (const action of writes) it(`denies the write ${action}`, () => run(action, 'Denied'))
    it('runbooks: starting an AWSSupport-* runbook needs the feature', async () => {
      const doc = `arn:aws:ssm:us-east-1:${CUSTOMER}:automation-definition/AWSSupport-TroubleshootSSH:$DEFAULT`
      await run('ssm:StartAutomationExecution', 'Denied', 'default', doc)
    })
  })
}

describe('session with every feature on the gateway role with every feature', () => {
  const role = () => gatewayRole({ AllowSupportRunbooksExecutions: 'true', GrantDiagnosticToolAccess: 'true' })
  const run = async (action, expected, resource) => {
    const sim = await simulate({ principal: role().arn, action, resource: resource ?? (await resourceFor(action)),
      identity: role().identity, session: sessionDocument('all') })
    expectDecision(`${action}: ${expected}`, sim, expected)
  }
  it('allows starting an AWSSupport-* runbook', () => run('ssm:StartAutomationExecution', 'Allowed',
    `arn:aws:ssm:us-east-1:${CUSTOMER}:automation-definition/AWSSupport-TroubleshootSSH:$DEFAULT`))
  it('denies starting any other runbook', () => run('ssm:StartAutomationExecution', 'Denied',
    `arn:aws:ssm:us-east-1:${CUSTOMER}:automation-definition/AWS-RestartEC2Instance:$DEFAULT`))
  it('allows the diagnostic tool\'s cost reads', () => run('ce:GetCostAndUsage', 'Allowed'))
  it('allows the diagnostic tool\'s right-sizing reads', () => run('compute-optimizer:GetEC2InstanceRecommendations', 'Allowed'))
  for (const action of sensitive) it(`still denies ${action}`, () => run(action, 'Denied'))
})
