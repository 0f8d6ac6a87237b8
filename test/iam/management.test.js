// Security model guarantees 1 and 2: who can assume the management role, and what the management
// role (the vendor's backend, possibly compromised) can do in the customer's account.
import { describe, it } from 'node:test'
import { awsManagedPolicies, gatewayRole, management, managementIdentity } from './fixtures.js'
import {
  BACKEND_ROLE, BOUNDARY, GATEWAY_ROLE, MGMT_ROLE, OTHER, PRIMARY_HOST, PROVIDERS, STANDBY_HOST, SUPPORT_POLICY,
  SUPPORT_ROLE, VENDOR, awsPolicy, providerArn, resourceFor,
} from './resources.js'
import { CUSTOMER, EXTERNAL_ID, expectDecision, simulate } from './sim.js'

const role = (path) => `arn:aws:iam::${CUSTOMER}:role/${path}`
const policy = (path) => `arn:aws:iam::${CUSTOMER}:policy/${path}`

// Request context as IAM sets it. iam:PermissionsBoundary is the boundary the request carries
// (CreateRole, PutRolePermissionsBoundary) or the role already has (AttachRolePolicy, PutRolePolicy,
// ...); undefined means "no boundary". iam:PolicyARN is the policy being attached.
const BOUNDARY_ACTIONS = new Set([
  'iam:CreateRole', 'iam:PutRolePermissionsBoundary', 'iam:AttachRolePolicy', 'iam:DetachRolePolicy',
  'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:DeleteRolePermissionsBoundary',
])
// tags: the tags a Tag*/Create* request carries ({ key: value }), or the keys an Untag* request
// removes ([key, ...]), as aws:TagKeys (and aws:RequestTag/<key>) carry them.
function iamContext(action, { boundary, policyArn, tags } = {}) {
  const context = {}
  if (boundary && BOUNDARY_ACTIONS.has(action)) context['iam:PermissionsBoundary'] = boundary
  if (policyArn) context['iam:PolicyARN'] = policyArn
  if (Array.isArray(tags)) context['aws:TagKeys'] = tags
  else if (tags) {
    context['aws:TagKeys'] = Object.keys(tags)
    for (const [k, v] of Object.entries(tags)) context[`aws:RequestTag/${k}`] = v
  }
  return context
}

/** The management role making one IAM request. */
async function asManagement({ action, resource, boundary, policyArn, tags, resourcePolicy }) {
  return simulate({
    principal: MGMT_ROLE,
    action,
    resource: resource ?? (await resourceFor(action)),
    context: iamContext(action, { boundary, policyArn, tags }),
    identity: managementIdentity,
    resourcePolicy,
  })
}

function table(title, cases) {
  describe(title, () => {
    for (const c of cases) {
      it(c.name, async () => expectDecision(c.name, await asManagement(c), c.expect))
    }
  })
}

const ALLOW_LISTED = [awsPolicy('SecurityAudit'), awsPolicy('AWSSupportAccess'), SUPPORT_POLICY]

table('management role: attaching policies to the support role', [
  ...[
    ['AdministratorAccess', awsPolicy('AdministratorAccess')],
    ['ReadOnlyAccess', awsPolicy('ReadOnlyAccess')],
    ['IAMFullAccess', awsPolicy('IAMFullAccess')],
    ['a customer policy policy/Admin', policy('Admin')],
    ['the look-alike policy/doit-support/DoiT-Support-PermissionsX', policy('doit-support/DoiT-Support-PermissionsX')],
    ['DoiT-Support-Permissions without its path', policy('DoiT-Support-Permissions')],
    ['DoiT-Support-Permissions under another path', policy('other/DoiT-Support-Permissions')],
    ['the boundary policy itself', BOUNDARY],
  ].map(([what, arn]) => ({
    name: `cannot attach ${what} to the support role, even with the boundary (explicit deny)`,
    action: 'iam:AttachRolePolicy', resource: SUPPORT_ROLE, boundary: BOUNDARY, policyArn: arn, expect: 'ExplicitlyDenied',
  })),
  ...ALLOW_LISTED.map((arn) => ({
    name: `can attach allow-listed ${arn.split('/').pop()} to the support role that has the boundary`,
    action: 'iam:AttachRolePolicy', resource: SUPPORT_ROLE, boundary: BOUNDARY, policyArn: arn, expect: 'Allowed',
  })),
  ...ALLOW_LISTED.map((arn) => ({
    name: `cannot attach allow-listed ${arn.split('/').pop()} to the support role when it has no boundary (explicit deny)`,
    action: 'iam:AttachRolePolicy', resource: SUPPORT_ROLE, policyArn: arn, expect: 'ExplicitlyDenied',
  })),
  {
    name: 'cannot attach SecurityAudit to the support role when it has another boundary (explicit deny)',
    action: 'iam:AttachRolePolicy', resource: SUPPORT_ROLE, boundary: awsPolicy('AdministratorAccess'), policyArn: awsPolicy('SecurityAudit'), expect: 'ExplicitlyDenied',
  },
  {
    name: 'can detach a policy from the support role',
    action: 'iam:DetachRolePolicy', resource: SUPPORT_ROLE, boundary: BOUNDARY, policyArn: awsPolicy('SecurityAudit'), expect: 'Allowed',
  },
])

table('management role: creating the support role and its boundary', [
  { name: 'can create the support role with the customer boundary', action: 'iam:CreateRole', resource: SUPPORT_ROLE, boundary: BOUNDARY, expect: 'Allowed' },
  { name: 'cannot create the support role without a boundary (explicit deny)', action: 'iam:CreateRole', resource: SUPPORT_ROLE, expect: 'ExplicitlyDenied' },
  { name: 'cannot create the support role with AdministratorAccess as its boundary (explicit deny)', action: 'iam:CreateRole', resource: SUPPORT_ROLE, boundary: awsPolicy('AdministratorAccess'), expect: 'ExplicitlyDenied' },
  { name: 'cannot create the support role with its own DoiT-Support-Permissions as boundary (explicit deny)', action: 'iam:CreateRole', resource: SUPPORT_ROLE, boundary: SUPPORT_POLICY, expect: 'ExplicitlyDenied' },
  { name: 'cannot create the support role with a look-alike boundary name (explicit deny)', action: 'iam:CreateRole', resource: SUPPORT_ROLE, boundary: policy('doit-support/DoiT_Support_Boundary_DO-NOT-DELETE'), expect: 'ExplicitlyDenied' },
  { name: 'can re-apply the same boundary to the support role', action: 'iam:PutRolePermissionsBoundary', resource: SUPPORT_ROLE, boundary: BOUNDARY, expect: 'Allowed' },
  { name: 'cannot replace the support role boundary with AdministratorAccess (explicit deny)', action: 'iam:PutRolePermissionsBoundary', resource: SUPPORT_ROLE, boundary: awsPolicy('AdministratorAccess'), expect: 'ExplicitlyDenied' },
  { name: 'cannot replace the support role boundary with DoiT-Support-Permissions (explicit deny)', action: 'iam:PutRolePermissionsBoundary', resource: SUPPORT_ROLE, boundary: SUPPORT_POLICY, expect: 'ExplicitlyDenied' },
  { name: 'cannot remove the support role boundary (explicit deny)', action: 'iam:DeleteRolePermissionsBoundary', resource: SUPPORT_ROLE, boundary: BOUNDARY, expect: 'ExplicitlyDenied' },
  { name: 'cannot put an inline policy on the support role without a boundary (explicit deny)', action: 'iam:PutRolePolicy', resource: SUPPORT_ROLE, expect: 'ExplicitlyDenied' },
  { name: 'cannot put an inline policy on the support role even with the boundary (explicit deny)', action: 'iam:PutRolePolicy', resource: SUPPORT_ROLE, boundary: BOUNDARY, expect: 'ExplicitlyDenied' },
])

table('management role: what the provisioner needs on its own role', [
  ...['iam:GetRole', 'iam:DeleteRole', 'iam:UpdateAssumeRolePolicy', 'iam:TagRole', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies', 'iam:DeleteRolePolicy', 'iam:UpdateRole'].map((action) => ({
    name: `can ${action} on the support role`, action, resource: SUPPORT_ROLE, boundary: BOUNDARY, expect: 'Allowed',
  })),
])

// A role's tags are its sessions' aws:PrincipalTag, which the customer's ABAC policies may trust: the
// vendor may set and remove its own two keys (DoiTManagedBy, DoiTTemplateVersion) and no other, on
// each of its resources and when it creates them.
const VENDOR_TAGS = { DoiTManagedBy: 'doit-support-gateway', DoiTTemplateVersion: '2026.11.1' }
const TAGGABLE = [
  ['the support role', SUPPORT_ROLE, 'iam:TagRole', 'iam:UntagRole', 'iam:CreateRole'],
  ['DoiT-Support-Permissions', SUPPORT_POLICY, 'iam:TagPolicy', 'iam:UntagPolicy', 'iam:CreatePolicy'],
  ['the primary identity provider', PROVIDERS[0], 'iam:TagOpenIDConnectProvider', 'iam:UntagOpenIDConnectProvider', 'iam:CreateOpenIDConnectProvider'],
]
table('management role: tags on its own resources, the vendor\'s keys only', TAGGABLE.flatMap(([what, arn, tag, untag, create]) => [
  { name: `can ${tag} ${what} with the vendor's keys`, action: tag, resource: arn, tags: VENDOR_TAGS, expect: 'Allowed' },
  { name: `can ${untag} ${what}: the vendor's keys`, action: untag, resource: arn, tags: Object.keys(VENDOR_TAGS), expect: 'Allowed' },
  { name: `can ${create} ${what} with the vendor's tags`, action: create, resource: arn, boundary: BOUNDARY, tags: VENDOR_TAGS, expect: 'Allowed' },
  { name: `cannot ${tag} ${what} team=data-platform (explicit deny)`, action: tag, resource: arn, tags: { team: 'data-platform' }, expect: 'ExplicitlyDenied' },
  { name: `cannot ${tag} ${what} with a vendor key and team=data-platform (explicit deny)`, action: tag, resource: arn, tags: { ...VENDOR_TAGS, team: 'data-platform' }, expect: 'ExplicitlyDenied' },
  { name: `cannot ${tag} ${what} with the generic key ManagedBy (explicit deny)`, action: tag, resource: arn, tags: { ManagedBy: 'platform-team' }, expect: 'ExplicitlyDenied' },
  { name: `cannot ${tag} ${what} DoiTEnvironment, the session tag's key (explicit deny)`, action: tag, resource: arn, tags: { DoiTEnvironment: 'prod' }, expect: 'ExplicitlyDenied' },
  { name: `cannot ${untag} ${what}: a key of the customer's (explicit deny)`, action: untag, resource: arn, tags: ['CostCenter'], expect: 'ExplicitlyDenied' },
  { name: `cannot ${create} ${what} tagged team=data-platform (explicit deny)`, action: create, resource: arn, boundary: BOUNDARY, tags: { team: 'data-platform' }, expect: 'ExplicitlyDenied' },
]))
table('management role: tags on anything else', [
  { name: 'cannot iam:TagRole a customer role, even with the vendor\'s keys', action: 'iam:TagRole', resource: role('Admin'), tags: VENDOR_TAGS, expect: 'Denied' },
  { name: 'cannot iam:TagRole the gateway role', action: 'iam:TagRole', resource: GATEWAY_ROLE, tags: VENDOR_TAGS, expect: 'Denied' },
  { name: 'cannot iam:TagPolicy the boundary (explicit deny)', action: 'iam:TagPolicy', resource: BOUNDARY, tags: VENDOR_TAGS, expect: 'ExplicitlyDenied' },
])

table('management role: its own policy DoiT-Support-Permissions, and the boundary it must not touch', [
  ...['iam:CreatePolicy', 'iam:CreatePolicyVersion', 'iam:SetDefaultPolicyVersion', 'iam:DeletePolicyVersion', 'iam:ListPolicyVersions', 'iam:DeletePolicy', 'iam:GetPolicy', 'iam:TagPolicy'].map((action) => ({
    name: `can ${action} on DoiT-Support-Permissions`, action, resource: SUPPORT_POLICY, expect: 'Allowed',
  })),
  ...['iam:CreatePolicyVersion', 'iam:SetDefaultPolicyVersion', 'iam:DeletePolicy', 'iam:DeletePolicyVersion', 'iam:TagPolicy', 'iam:UntagPolicy'].map((action) => ({
    name: `cannot ${action} on the customer boundary (explicit deny)`, action, resource: BOUNDARY, expect: 'ExplicitlyDenied',
  })),
  { name: 'cannot create a policy that is not DoiT\'s (policy/Admin)', action: 'iam:CreatePolicy', resource: policy('Admin'), expect: 'Denied' },
  { name: 'cannot create DoiT-Support-Permissions outside its path', action: 'iam:CreatePolicy', resource: policy('DoiT-Support-Permissions'), expect: 'Denied' },
  { name: 'cannot create a new version of a customer policy', action: 'iam:CreatePolicyVersion', resource: policy('Admin'), expect: 'Denied' },
  // IAM refuses every write to AWS managed policies whatever the caller's policies say, and
  // iam-simulate models that too; this only shows the management policy grants nothing here.
  { name: 'cannot delete the AWS managed policy SecurityAudit', action: 'iam:DeletePolicy', resource: awsPolicy('SecurityAudit'), expect: 'Denied' },
])

table('management role: its two identity providers, and no other', [
  ...PROVIDERS.flatMap((arn) =>
    ['iam:CreateOpenIDConnectProvider', 'iam:GetOpenIDConnectProvider', 'iam:DeleteOpenIDConnectProvider', 'iam:UpdateOpenIDConnectProviderThumbprint', 'iam:TagOpenIDConnectProvider'].map((action) => ({
      name: `can ${action} on ${arn.split('oidc-provider/')[1]}`, action, resource: arn, expect: 'Allowed',
    })),
  ),
  // The reconciler repairs wrong client IDs by recreating the provider: it needs neither of these.
  ...PROVIDERS.flatMap((arn) =>
    ['iam:AddClientIDToOpenIDConnectProvider', 'iam:RemoveClientIDFromOpenIDConnectProvider'].map((action) => ({
      name: `cannot ${action} even on ${arn.split('oidc-provider/')[1]} (not needed)`, action, resource: arn, expect: 'Denied',
    })),
  ),
  ...[
    ['another issuer', `arn:aws:iam::${CUSTOMER}:oidc-provider/attacker.example.com`],
    ['the issuer path of another account', providerArn(PRIMARY_HOST, OTHER, CUSTOMER)],
    ['the standby issuer path of another account', providerArn(STANDBY_HOST, OTHER, CUSTOMER)],
    ['a sub-path of its own issuer', `${PROVIDERS[0]}/x`],
    ['GitHub Actions', `arn:aws:iam::${CUSTOMER}:oidc-provider/token.actions.githubusercontent.com`],
  ].flatMap(([what, arn]) => ['iam:CreateOpenIDConnectProvider', 'iam:DeleteOpenIDConnectProvider', 'iam:AddClientIDToOpenIDConnectProvider'].map((action) => ({
    name: `cannot ${action} for ${what}`, action, resource: arn, expect: 'Denied',
  }))),
])

table('management role: cannot pass or assume roles', [
  ...[SUPPORT_ROLE, GATEWAY_ROLE, MGMT_ROLE, '*', role('*'), role('doit-support/*')].map((arn) => ({
    name: `cannot iam:PassRole ${arn} (explicit deny)`, action: 'iam:PassRole', resource: arn, expect: 'ExplicitlyDenied',
  })),
  { name: 'cannot sts:AssumeRole the support role (explicit deny)', action: 'sts:AssumeRole', resource: SUPPORT_ROLE, expect: 'ExplicitlyDenied' },
  { name: 'cannot sts:AssumeRole the customer role/Admin (explicit deny)', action: 'sts:AssumeRole', resource: role('Admin'), expect: 'ExplicitlyDenied' },
])

describe('management role: cannot sts:AssumeRole the gateway role (with its real trust policy)', () => {
  it('cannot sts:AssumeRole DoiT-Support-Gateway (explicit deny)', async () => {
    const sim = await asManagement({ action: 'sts:AssumeRole', resource: GATEWAY_ROLE, resourcePolicy: gatewayRole().trust })
    expectDecision('assume gateway role', sim, 'ExplicitlyDenied')
  })
})

const CUSTOMER_ROLES = [
  ['role/Admin', role('Admin')],
  ['role/DoiT-SupportX', role('DoiT-SupportX')],
  ['role/DoiT-Support (no path)', role('DoiT-Support')],
  ['role/DoiT-Support-x/Admin', role('DoiT-Support-x/Admin')],
  ['role/doit-support/DoiT-Support2', role('doit-support/DoiT-Support2')],
  ['role/doit-support/DoiT-Support/Admin', role('doit-support/DoiT-Support/Admin')],
  ['role/other/doit-support/DoiT-Support', role('other/doit-support/DoiT-Support')],
  ['the gateway role DoiT-Support-Gateway', GATEWAY_ROLE],
]
table('management role: cannot touch any other role of the customer', CUSTOMER_ROLES.flatMap(([what, arn]) => [
  { name: `cannot iam:GetRole ${what}`, action: 'iam:GetRole', resource: arn, expect: 'Denied' },
  { name: `cannot iam:DeleteRole ${what}`, action: 'iam:DeleteRole', resource: arn, expect: 'Denied' },
  { name: `cannot iam:UpdateAssumeRolePolicy ${what}`, action: 'iam:UpdateAssumeRolePolicy', resource: arn, expect: 'Denied' },
  { name: `cannot iam:DetachRolePolicy from ${what}`, action: 'iam:DetachRolePolicy', resource: arn, boundary: BOUNDARY, policyArn: awsPolicy('SecurityAudit'), expect: 'Denied' },
  { name: `cannot attach allow-listed SecurityAudit to ${what}, even with the boundary`, action: 'iam:AttachRolePolicy', resource: arn, boundary: BOUNDARY, policyArn: awsPolicy('SecurityAudit'), expect: 'Denied' },
  { name: `cannot create ${what}, even with the boundary`, action: 'iam:CreateRole', resource: arn, boundary: BOUNDARY, expect: 'Denied' },
  { name: `cannot re-bound ${what}, even with the customer boundary`, action: 'iam:PutRolePermissionsBoundary', resource: arn, boundary: BOUNDARY, expect: 'Denied' },
]))

table('management role: cannot change itself (explicit deny)', [
  ['iam:UpdateAssumeRolePolicy'], ['iam:PutRolePolicy'], ['iam:DeleteRolePolicy'], ['iam:DeleteRole'], ['iam:UpdateRole'], ['iam:TagRole'],
  ['iam:DetachRolePolicy', awsPolicy('SecurityAudit')], ['iam:AttachRolePolicy', awsPolicy('SecurityAudit')], ['iam:PutRolePermissionsBoundary'],
].map(([action, policyArn]) => ({
  name: `cannot ${action} on the management role itself`, action, resource: MGMT_ROLE, boundary: BOUNDARY, policyArn, expect: 'ExplicitlyDenied',
})))

table('management role: nothing outside IAM roles, policies and providers', [
  { name: 'cannot s3:PutObject', action: 's3:PutObject', expect: 'Denied' },
  { name: 'cannot iam:CreateUser', action: 'iam:CreateUser', expect: 'Denied' },
  { name: 'cannot iam:CreateAccessKey for a customer user', action: 'iam:CreateAccessKey', expect: 'Denied' },
  { name: 'cannot ec2:RunInstances', action: 'ec2:RunInstances', expect: 'Denied' },
  { name: 'cannot read secrets', action: 'secretsmanager:GetSecretValue', expect: 'Denied' },
])

// ---- Guarantee 1: the management role's trust policy ----

// The vendor's backend role may assume any role as far as its own account is concerned, so the
// trust policy alone decides (a cross-account AssumeRole needs both sides to allow).
const vendorIdentity = [{
  name: 'VendorBackendMayAssumeRoles',
  policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] },
}]
const trustCases = [
  { name: 'the vendor backend role with this customer\'s ExternalId can assume the management role', principal: BACKEND_ROLE, externalId: EXTERNAL_ID, expect: 'Allowed' },
  { name: 'a session of the vendor backend role (the Lambda) with the ExternalId can assume it', principal: `arn:aws:sts::${VENDOR}:assumed-role/DoiT-Support-Gateway-Backend/provisioner`, externalId: EXTERNAL_ID, expect: 'Allowed' },
  { name: 'the vendor backend role without an ExternalId cannot', principal: BACKEND_ROLE, expect: 'Denied' },
  { name: 'the vendor backend role with a wrong ExternalId cannot', principal: BACKEND_ROLE, externalId: 'ext-fedcba9876543210', expect: 'Denied' },
  { name: 'the vendor backend role with the ExternalId in another case cannot (StringEquals is exact)', principal: BACKEND_ROLE, externalId: EXTERNAL_ID.toUpperCase(), expect: 'Denied' },
  { name: 'another role in the vendor account with the ExternalId cannot', principal: `arn:aws:iam::${VENDOR}:role/Admin`, externalId: EXTERNAL_ID, expect: 'Denied' },
  { name: 'a look-alike role in the vendor account with the ExternalId cannot', principal: `arn:aws:iam::${VENDOR}:role/DoiT-Support-Gateway-Backend-Staging`, externalId: EXTERNAL_ID, expect: 'Denied' },
  { name: 'the vendor account root with the ExternalId cannot', principal: `arn:aws:iam::${VENDOR}:root`, externalId: EXTERNAL_ID, expect: 'Denied' },
  { name: 'a role named DoiT-Support-Gateway-Backend in another account with the ExternalId cannot', principal: `arn:aws:iam::${OTHER}:role/DoiT-Support-Gateway-Backend`, externalId: EXTERNAL_ID, expect: 'Denied' },
  { name: 'an administrator of the customer account with the ExternalId cannot (the trust policy must name it)', principal: `arn:aws:iam::${CUSTOMER}:role/Admin`, externalId: EXTERNAL_ID, admin: true, expect: 'Denied' },
]
describe('management role trust (AssumeRolePolicyDocument, AccountNumberParameter=999988887777)', () => {
  for (const c of trustCases) {
    it(c.name, async () => {
      const sim = await simulate({
        principal: c.principal,
        action: 'sts:AssumeRole',
        resource: MGMT_ROLE,
        context: c.externalId === undefined ? {} : { 'sts:ExternalId': c.externalId },
        identity: c.admin ? [{ name: 'AdministratorAccess', policy: awsManagedPolicies().AdministratorAccess }] : vendorIdentity,
        resourcePolicy: management.trust,
      })
      expectDecision(c.name, sim, c.expect)
    })
  }
})
