// Same-account resource-based policies. AWS: within one account, a resource policy's grant to a
// role session is not limited by the role's permissions boundary's implicit deny, and a grant to
// Principal "*" conditioned on aws:PrincipalAccount (or aws:PrincipalOrgID, or a principal tag)
// reaches every role of the account ("Policy evaluation logic", "Permissions boundaries for IAM
// entities", IAM User Guide). Only an explicit deny caps such grants. So the boundary is written as
// an Allow of "*" capped by Deny NotAction, and these cases check that a bucket, key or queue policy
// of the customer's own account cannot hand the vendor's roles a write or a sensitive read.
import { describe, it } from 'node:test'
import { awsManagedPolicies, gatewayRole, management, sessionPolicyDocument } from './fixtures.js'
import { SUPPORT_ROLE } from './resources.js'
import { CUSTOMER, expectDecision, simulate } from './sim.js'

const r = `us-east-1:${CUSTOMER}`
const KEY = `arn:aws:kms:${r}:key/1234abcd-12ab-34cd-56ef-1234567890ab`
// [action, resource the grant is on] — writes and data reads a customer's resource policy might
// grant account-wide.
const GRANTS = [
  ['s3:PutObject', 'arn:aws:s3:::customer-data/upload.csv'],
  ['s3:DeleteObject', 'arn:aws:s3:::customer-data/upload.csv'],
  ['s3:GetObject', 'arn:aws:s3:::customer-data/payroll.csv'],
  ['kms:Decrypt', KEY],
  ['kms:Encrypt', KEY],
  ['sqs:SendMessage', `arn:aws:sqs:${r}:orders`],
  ['sqs:ReceiveMessage', `arn:aws:sqs:${r}:orders`],
  ['sns:Publish', `arn:aws:sns:${r}:alerts`],
  ['lambda:InvokeFunction', `arn:aws:lambda:${r}:function:orders`],
  ['secretsmanager:GetSecretValue', `arn:aws:secretsmanager:${r}:secret:prod/db-AbCdEf`],
]
// How customers write account-wide grants: Principal "*" held to the account, to the organization,
// or to principals carrying a tag.
const CONDITIONS = [
  ['aws:PrincipalAccount', { StringEquals: { 'aws:PrincipalAccount': CUSTOMER } }, { 'aws:PrincipalAccount': CUSTOMER }],
  ['aws:PrincipalOrgID', { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } }, { 'aws:PrincipalAccount': CUSTOMER, 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' }],
  ['aws:PrincipalTag/team', { StringEquals: { 'aws:PrincipalTag/team': 'data-platform' } }, { 'aws:PrincipalAccount': CUSTOMER, 'aws:PrincipalTag/team': 'data-platform' }],
]
const grant = (action, resource, condition) => ({
  Version: '2012-10-17',
  Statement: [{ Sid: 'AccountWide', Effect: 'Allow', Principal: '*', Action: action, Resource: resource, Condition: condition }],
})
const admin = () => [{ name: 'AdministratorAccess', policy: awsManagedPolicies().AdministratorAccess }]

describe('resource policies: the boundary caps account-wide grants to the DoiT-Support role (no session policy: a compromised backend)', () => {
  for (const [action, resource] of GRANTS) {
    for (const [how, condition, context] of CONDITIONS) {
      for (const [who, identity] of [['holding nothing', () => []], ['holding AdministratorAccess', admin]]) {
        const name = `${action} granted to Principal * by ${how}, role ${who}: explicitly denied`
        it(name, async () => {
          const sim = await simulate({ principal: SUPPORT_ROLE, action, resource, context, identity: identity(), boundary: management.boundary,
            resourcePolicy: grant(action, resource, condition) })
          expectDecision(name, sim, 'ExplicitlyDenied')
        })
      }
    }
  }
  it('a read inside the cap that a resource policy grants stays allowed (the cap is not a blanket deny)', async () => {
    const sim = await simulate({ principal: SUPPORT_ROLE, action: 's3:GetBucketPolicy', resource: 'arn:aws:s3:::customer-data',
      context: CONDITIONS[0][2], identity: [], boundary: management.boundary, resourcePolicy: grant('s3:GetBucketPolicy', 'arn:aws:s3:::customer-data', CONDITIONS[0][1]) })
    expectDecision('s3:GetBucketPolicy by resource policy', sim, 'Allowed')
  })
})

describe('resource policies: a session on the gateway role is held to its session policy', () => {
  const session = `arn:aws:sts::${CUSTOMER}:assumed-role/DoiT-Support-Gateway/alice@doit.com-SUP-9`
  for (const [action, resource] of GRANTS) {
    const [how, condition, context] = CONDITIONS[0]
    const name = `${action} granted to Principal * by ${how}: denied to a broker session`
    it(name, async () => {
      const sim = await simulate({ principal: session, action, resource, context, identity: gatewayRole().identity,
        session: sessionPolicyDocument('default'), resourcePolicy: grant(action, resource, condition) })
      expectDecision(name, sim, 'Denied')
    })
  }
  // Known limit (docs/templates.md): the gateway role has no boundary (a customer stack's role, holding
  // SecurityAudit), so a session opened without the broker's session policy, which only a
  // compromised vendor backend could open, gets the writes an account-wide grant hands out.
  for (const [action, resource] of GRANTS.filter(([a]) => !/Get|Decrypt|Receive/.test(a))) {
    const [how, condition, context] = CONDITIONS[0]
    const name = `known limit: ${action} granted to Principal * by ${how} reaches a session opened without the session policy`
    it(name, async () => {
      const sim = await simulate({ principal: session, action, resource, context, identity: gatewayRole().identity,
        resourcePolicy: grant(action, resource, condition) })
      expectDecision(name, sim, 'Allowed')
    })
  }
})
