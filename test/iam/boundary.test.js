// Guarantee 2's backstop: whatever the vendor attaches to (or writes into the policies of) its
// DoiT-Support role, the customer-owned boundary caps it. Worst case: the role holds
// AdministratorAccess.
import { describe, it } from 'node:test'
import { awsManagedPolicies, gatewayRole, management } from './fixtures.js'
import { SUPPORT_ROLE, expandActions, resourceFor } from './resources.js'
import { CUSTOMER, OTHER, expectDecision, simulate } from './sim.js'

const ssmAutomation = (doc) => `arn:aws:ssm:us-east-1:${CUSTOMER}:automation-definition/${doc}:$DEFAULT`

async function underBoundary(identity, { action, resource }) {
  return simulate({
    principal: SUPPORT_ROLE,
    action,
    resource: resource ?? (await resourceFor(action)),
    identity,
    boundary: management.boundary,
  })
}

const adminCases = [
  // Sensitive data reads the boundary's allow-list would admit: its own Deny removes them.
  ...['s3:GetObject', 'secretsmanager:GetSecretValue', 'ssm:GetParameter', 'ssm:GetParameters', 'dynamodb:GetItem', 'ec2:GetPasswordData', 'lambda:GetFunction', 'logs:GetLogEvents']
    .map((action) => ({ action, expect: 'ExplicitlyDenied', why: 'sensitive read, denied by the boundary' })),
  // Sensitive data reads outside the cap: its Deny NotAction removes them, so the sensitive-read Deny
  // need not repeat them (that keeps it within IAM's size limit).
  ...['kms:Decrypt', 'dynamodb:Query', 'sqs:ReceiveMessage']
    .map((action) => ({ action, expect: 'ExplicitlyDenied', why: 'sensitive read, outside the cap' })),
  // Writes: outside the cap, explicitly denied (so a resource policy cannot grant them either).
  ...['iam:CreateUser', 'iam:AttachRolePolicy', 'iam:CreateAccessKey', 'ec2:RunInstances', 'ec2:TerminateInstances', 's3:PutObject', 's3:DeleteBucket', 'rds:DeleteDBInstance', 'lambda:UpdateFunctionCode', 'kms:ScheduleKeyDeletion', 'cloudformation:DeleteStack', 'sts:AssumeRole']
    .map((action) => ({ action, expect: 'ExplicitlyDenied', why: 'write, outside the boundary' })),
  { action: 'ssm:StartAutomationExecution', resource: ssmAutomation('AWS-RestartEC2Instance'), expect: 'ExplicitlyDenied', why: 'runbook that is not AWSSupport-*' },
  { action: 'ssm:StopAutomationExecution', resource: `arn:aws:ssm:us-east-1:${CUSTOMER}:automation-execution/0a1b2c3d-4e5f-6789-abcd-ef0123456789`, expect: 'Allowed', why: 'stopping a runbook in this account' },
  { action: 'ssm:StopAutomationExecution', resource: `arn:aws:ssm:us-east-1:${OTHER}:automation-execution/0a1b2c3d-4e5f-6789-abcd-ef0123456789`, expect: 'ExplicitlyDenied', why: "another account's execution" },
  // What the boundary lets through.
  ...['support:CreateCase', 'support:AddCommunicationToCase', 'servicequotas:RequestServiceQuotaIncrease', 'servicequotas:GetServiceQuota', 'ec2:DescribeInstances', 's3:GetBucketPolicy', 'iam:GetRole']
    .map((action) => ({ action, expect: 'Allowed', why: 'inside the boundary' })),
  { action: 'ssm:StartAutomationExecution', resource: ssmAutomation('AWSSupport-TroubleshootSSH'), expect: 'Allowed', why: 'AWSSupport-* runbook' },
  // STS answers GetCallerIdentity for every authenticated caller, whatever the policies say (and
  // iam-simulate models that): this only documents it, it cannot fail on a policy change.
  { action: 'sts:GetCallerIdentity', expect: 'Allowed', why: 'always allowed by STS' },
]

describe('boundary: the DoiT-Support role holding AdministratorAccess is still capped', () => {
  for (const c of adminCases) {
    const name = `${c.expect === 'Allowed' ? 'allows' : 'denies'} ${c.action}${c.resource ? ` on ${c.resource.split(':').slice(5).join(':')}` : ''} (${c.why})`
    it(name, async () => {
      const sim = await underBoundary([{ name: 'AdministratorAccess', policy: awsManagedPolicies().AdministratorAccess }], c)
      expectDecision(name, sim, c.expect)
    })
  }
})

// The role as the provisioner builds it: SecurityAudit + AWSSupportAccess + DoiT-Support-Permissions.
// There is no template for DoiT-Support-Permissions; per the design it holds what the gateway role's
// base inline policy holds (service quotas + the sensitive-read deny), so that is used here.
function provisionedIdentity() {
  const aws = awsManagedPolicies()
  const base = gatewayRole().inline.find((p) => p.name === 'DoiT-Support-Base')
  if (!base) throw new Error('the gateway template has no DoiT-Support-Base inline policy')
  return [
    { name: 'SecurityAudit', policy: aws.SecurityAudit },
    { name: 'AWSSupportAccess', policy: aws.AWSSupportAccess },
    { name: 'DoiT-Support-Permissions', policy: base.policy },
  ]
}

describe('boundary: the DoiT-Support role as provisioned (SecurityAudit + AWSSupportAccess + DoiT-Support-Permissions)', () => {
  for (const c of [
    { action: 'ec2:DescribeInstances', expect: 'Allowed' },
    { action: 'iam:GetRole', expect: 'Allowed' },
    { action: 'support:CreateCase', expect: 'Allowed' },
    { action: 'servicequotas:RequestServiceQuotaIncrease', expect: 'Allowed' },
    { action: 's3:GetObject', expect: 'ExplicitlyDenied' },
    { action: 'secretsmanager:GetSecretValue', expect: 'ExplicitlyDenied' },
    { action: 'ec2:RunInstances', expect: 'Denied' },
  ]) {
    const name = `${c.expect === 'Allowed' ? 'allows' : 'denies'} ${c.action}`
    it(name, async () => expectDecision(name, await underBoundary(provisionedIdentity(), c), c.expect))
  }
})

// Every entry of the boundary's Deny, each wildcard expanded to the actions it names, is explicitly
// denied to a DoiT-Support role holding AdministratorAccess: the cap on what the vendor could write
// into its own role's policies. Among them the reads that checkov (cloudsplaining) and the audit of
// the allow-list found: registry tokens, session endpoints, presigned UI links, archived mail, ...
const boundaryDenies = await expandActions(management.boundary.Statement.filter((s) => s.Sid === 'DenySensitiveDataReads').flatMap((s) => s.Action))

describe('boundary: every sensitive read it names is denied, even to AdministratorAccess', () => {
  it('names the reads found by checkov and the allow-list audit', () => {
    for (const a of ['ecr:GetAuthorizationToken', 'elasticmapreduce:GetOnClusterAppUIPresignedURL', 'elasticmapreduce:GetPersistentAppUIPresignedURL',
      'glue:GetStatement', 'glue:GetDataPreviewStatement', 'ses:GetArchiveMessageContent', 'wafv2:GetDecryptedAPIKey',
      'cloudwatch:GetSpaceCredentialsForOrganization', 'lambda:GetDurableExecutionHistory', 'bedrock:GetInvoke', 'ssm:GetParametersByPath',
      // and the systematic review's (sensitive_reads.test.js)
      'autoscaling:DescribeLaunchConfigurations', 'ec2:DescribeSpotInstanceRequests', 'ec2:DescribeSpotFleetRequests', 'codepipeline:GetJobDetails',
      'codepipeline:GetThirdPartyJobDetails', 's3:GetDataAccess', 'ec2:DescribeVpnConnections', 'appsync:ListApiKeys', 'cognito-idp:ListUsers']) {
      if (!boundaryDenies.includes(a)) throw new Error(`the boundary does not deny ${a}`)
    }
  })
  for (const action of boundaryDenies) {
    it(`denies ${action}`, async () => {
      const sim = await underBoundary([{ name: 'AdministratorAccess', policy: awsManagedPolicies().AdministratorAccess }], { action })
      expectDecision(action, sim, 'ExplicitlyDenied')
    })
  }
})
