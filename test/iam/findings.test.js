// Findings of the first review of the templates, kept as tests. The fixed ones guard their fix; the
// known limits assert today's answer under a name that says so, so that a change in either
// direction is noticed (see docs/templates.md, "Findings").
import { describe, it } from 'node:test'
import { awsManagedPolicies, gatewayRole, management } from './fixtures.js'
import { ENGINEER_SUB, GATEWAY_ROLE, PRIMARY_HOST, SUPPORT_ROLE, audience, issuerPath, providerArn } from './resources.js'
import { CUSTOMER, expectDecision, simulate, simulateWebIdentity } from './sim.js'

const r = `us-east-1:${CUSTOMER}`

// Data reads the deny set misses. Every one is inside the boundary's service-wide Get*/Describe*,
// so the DoiT-Support role (whose DoiT-Support-Permissions the vendor writes) can be given them.
const BOUNDARY_LEAKS = [
  ['athena:GetQueryResultsStream', `arn:aws:athena:${r}:workgroup/primary`, 'query results, the same data as the denied athena:GetQueryResults'],
  ['elasticmapreduce:GetClusterSessionCredentials', `arn:aws:elasticmapreduce:${r}:cluster/j-ABCDEFGHIJKLM`, 'credentials for an EMR cluster'],
  ['logs:GetLogEvents', `arn:aws:logs:${r}:log-group:/app/orders:log-stream:web-1`, 'application log content'],
  ['logs:GetQueryResults', '*', 'Logs Insights results (log content)'],
  ['ssm:GetCommandInvocation', '*', 'Run Command output'],
  ['states:DescribeExecution', `arn:aws:states:${r}:execution:orders:run-1`, 'Step Functions execution input and output'],
]

// Configuration reads that carry secrets (SecurityAudit grants them): denied where support loses
// little (user data, IdP client secrets) ...
const CONFIG_LEAKS = [
  ['ec2:DescribeLaunchTemplateVersions', '*', 'launch-template user data, the same data as the denied ec2:GetLaunchTemplateData'],
  ['ec2:DescribeInstanceAttribute', `arn:aws:ec2:${r}:instance/i-0123456789abcdef0`, 'instance user data (attribute userData)'],
  ['cognito-idp:DescribeIdentityProvider', `arn:aws:cognito-idp:${r}:userpool/us-east-1_ABCdef123`, 'federated IdP client secrets (ProviderDetails)'],
]

// ... and kept where troubleshooting needs them: a known limit, documented in docs/templates.md (secrets
// belong in Secrets Manager or SecureString parameters, which stay denied). lambda:ListFunctions
// returns the same environment variables, so denying GetFunctionConfiguration alone would not help.
const KNOWN_CONFIG_LIMITS = [
  ['lambda:GetFunctionConfiguration', `arn:aws:lambda:${r}:function:orders`, 'Lambda environment variables'],
  ['ecs:DescribeTaskDefinition', '*', 'container environment variables'],
  ['elasticbeanstalk:DescribeConfigurationSettings', `arn:aws:elasticbeanstalk:${r}:environment/app/prod`, 'Beanstalk environment properties'],
]

describe('fixed finding: the boundary denies these data reads (DoiT-Support role holding AdministratorAccess)', () => {
  for (const [action, resource, what] of [...BOUNDARY_LEAKS, ...CONFIG_LEAKS]) {
    const name = `boundary denies ${action} (${what})`
    it(name, async () => {
      const sim = await simulate({ principal: SUPPORT_ROLE, action, resource, identity: [{ name: 'AdministratorAccess', policy: awsManagedPolicies().AdministratorAccess }], boundary: management.boundary })
      expectDecision(name, sim, 'Denied')
    })
  }
})

describe('fixed finding: the gateway role does not read these (SecurityAudit grants them)', () => {
  for (const [action, resource, what] of [...BOUNDARY_LEAKS, ...CONFIG_LEAKS]) {
    const name = `gateway role is denied ${action} (${what})`
    it(name, async () => {
      const role = gatewayRole()
      expectDecision(name, await simulate({ principal: role.arn, action, resource, identity: role.identity }), 'Denied')
    })
  }
})

describe('known limit (docs/templates.md): configuration reads that can show plain-text secrets stay allowed', () => {
  for (const [action, resource, what] of KNOWN_CONFIG_LIMITS) {
    const name = `known limit: gateway role may ${action} (${what})`
    it(name, async () => {
      const role = gatewayRole()
      expectDecision(name, await simulate({ principal: role.arn, action, resource, identity: role.identity }), 'Allowed')
    })
  }
})

describe('fixed finding: gateway trust lets a token set only the DoiTEnvironment session tag', () => {
  // The design: "sts:TagSession lets the broker set the DoiTEnvironment session tag". The trust limits
  // aws:TagKeys to that one key, so a token cannot carry tags the customer's own ABAC policies may
  // trust (aws:PrincipalTag/Team = platform-admins).
  const path = issuerPath(PRIMARY_HOST)
  const cases = [
    [['DoiTEnvironment'], { 'aws:RequestTag/DoiTEnvironment': 'support' }, 'Allowed'],
    [['Team'], { 'aws:RequestTag/Team': 'platform-admins' }, 'Denied'],
    [['DoiTEnvironment', 'Team'], { 'aws:RequestTag/DoiTEnvironment': 'support', 'aws:RequestTag/Team': 'platform-admins' }, 'Denied'],
  ]
  for (const [keys, tags, expected] of cases) {
    const name = `sts:TagSession with tag keys ${keys.join('+')}: ${expected}`
    it(name, async () => {
      const sim = await simulateWebIdentity({
        provider: providerArn(PRIMARY_HOST),
        action: 'sts:TagSession',
        role: GATEWAY_ROLE,
        claims: {
          [`${path}:aud`]: audience(),
          [`${path}:sub`]: ENGINEER_SUB,
          'aws:TagKeys': keys,
          ...tags,
        },
        resourcePolicy: gatewayRole().trust,
      })
      expectDecision(name, sim, expected)
    })
  }
})
