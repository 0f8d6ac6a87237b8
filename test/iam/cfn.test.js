// The CloudFormation resolver the suite relies on, and what it reads from the three templates.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseTemplate, policyDocument, Stack } from './cfn.js'
import { gatewayRole, management, templates } from './fixtures.js'
import { BOUNDARY, GATEWAY_ROLE, MGMT_ROLE, PROVIDERS, audience } from './resources.js'
import { CUSTOMER } from './sim.js'

const sample = {
  Parameters: {
    Flag: { Type: 'String', Default: 'false', AllowedValues: ['true', 'false'] },
    Name: { Type: 'String' },
    Ous: { Type: 'CommaDelimitedList', Default: 'ou-a,ou-b' },
  },
  Conditions: {
    On: { 'Fn::Equals': [{ Ref: 'Flag' }, 'true'] },
    Off: { 'Fn::Not': [{ Condition: 'On' }] },
    Both: { 'Fn::And': [{ Condition: 'On' }, { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] }] },
    Either: { 'Fn::Or': [{ Condition: 'On' }, { 'Fn::Equals': [{ Ref: 'Name' }, 'x'] }] },
  },
  Resources: {
    Role: { Type: 'AWS::IAM::Role', Properties: { RoleName: { 'Fn::Sub': '${Name}-role' }, Path: '/team/' } },
    Policy: { Type: 'AWS::IAM::ManagedPolicy', Properties: { ManagedPolicyName: 'Cap' } },
    Thing: {
      Type: 'AWS::Test::Thing',
      Properties: {
        Arn: { 'Fn::GetAtt': ['Role', 'Arn'] },
        ArnDotted: { 'Fn::GetAtt': 'Role.Arn' },
        PolicyRef: { Ref: 'Policy' },
        RoleRef: { Ref: 'Role' },
        Sub: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${Name}-${AWS::AccountId}-${AWS::Region}/${!Literal}' },
        SubVars: { 'Fn::Sub': ['${Greeting}, ${Role.Arn}', { Greeting: { Ref: 'Name' } }] },
        Pick: { 'Fn::If': ['On', 'yes', 'no'] },
        List: ['a', { 'Fn::If': ['On', 'b', { Ref: 'AWS::NoValue' }] }, 'c'],
        Maybe: { 'Fn::If': ['On', { Ref: 'AWS::NoValue' }, 'present'] },
        Ous: { Ref: 'Ous' },
        Policy: { Condition: { StringEquals: { 'aws:username': 'x' } }, Effect: 'Allow' },
      },
    },
    Bad: { Type: 'AWS::Test::Thing', Properties: { Joined: { 'Fn::Join': ['', ['a', 'b']] } } },
    BadAtt: { Type: 'AWS::Test::Thing', Properties: { Id: { 'Fn::GetAtt': ['Role', 'RoleId'] } } },
  },
}
const stack = (parameters) => new Stack(sample, { accountId: CUSTOMER, parameters: { Name: 'x', ...parameters } })

describe('cfn.js resolver', () => {
  it('resolves Ref, Fn::Sub (both forms, ${!Literal}), Fn::GetAtt Arn, Fn::If and AWS::NoValue', () => {
    const p = stack().properties('Thing')
    assert.equal(p.Arn, 'arn:aws:iam::111122223333:role/team/x-role')
    assert.equal(p.ArnDotted, p.Arn)
    assert.equal(p.PolicyRef, 'arn:aws:iam::111122223333:policy/Cap')
    assert.equal(p.RoleRef, 'x-role')
    assert.equal(p.Sub, 'arn:aws:s3:::x-111122223333-us-east-1/${Literal}')
    assert.equal(p.SubVars, 'x, arn:aws:iam::111122223333:role/team/x-role')
    assert.equal(p.Pick, 'no')
    assert.deepEqual(p.List, ['a', 'c'])
    assert.equal(p.Maybe, 'present')
    assert.deepEqual(p.Ous, ['ou-a', 'ou-b'])
    // A policy statement's Condition element is data, not the Condition intrinsic.
    assert.deepEqual(p.Policy, { Condition: { StringEquals: { 'aws:username': 'x' } }, Effect: 'Allow' })
  })

  it('evaluates Fn::Equals, Fn::Not, Fn::And, Fn::Or and Condition with given parameter values', () => {
    const on = stack({ Flag: 'true' })
    assert.deepEqual(['On', 'Off', 'Both', 'Either'].map((c) => on.condition(c)), [true, false, true, true])
    const off = stack({ Name: 'y' })
    assert.deepEqual(['On', 'Off', 'Both', 'Either'].map((c) => off.condition(c)), [false, true, false, false])
    assert.equal(on.properties('Thing').Pick, 'yes')
    assert.deepEqual(on.properties('Thing').List, ['a', 'b', 'c'])
    assert.equal('Maybe' in on.properties('Thing'), false, 'AWS::NoValue removes the property')
  })

  it('throws on unsupported intrinsics and attributes instead of passing them through', () => {
    assert.throws(() => stack().properties('Bad'), /unsupported intrinsic Fn::Join/)
    assert.throws(() => stack().properties('BadAtt'), /Fn::GetAtt Role.RoleId/)
    assert.throws(() => stack().resolve({ Ref: 'Nope' }), /unknown resource Nope/)
    assert.throws(() => stack().resolve({ Ref: 'AWS::StackId' }), /unsupported pseudo parameter/)
    assert.throws(() => stack().resolve({ 'Fn::Sub': '${Missing}' }), /unknown resource Missing/)
  })

  it('rejects missing, unknown and disallowed parameter values', () => {
    assert.throws(() => new Stack(sample, { accountId: CUSTOMER }).properties('Thing'), /Name has no value/)
    assert.throws(() => stack({ Flag: 'maybe' }).properties('Thing'), /not one of/)
    assert.throws(() => stack({ Typo: '1' }), /unknown parameter Typo/)
  })

  it('parses YAML short forms and refuses unknown tags', () => {
    const t = parseTemplate('Resources:\n  A:\n    Type: X\n    Properties:\n      V: !Sub "${AWS::Region}"\n      W: !GetAtt R.Arn\n      Z: !If [C, !Ref P, b]\n')
    assert.deepEqual(t.Resources.A.Properties, { V: { 'Fn::Sub': '${AWS::Region}' }, W: { 'Fn::GetAtt': ['R', 'Arn'] }, Z: { 'Fn::If': ['C', { Ref: 'P' }, 'b'] } })
    assert.throws(() => parseTemplate('A: !Bogus x\n'), /Unresolved tag/)
  })

  it('policyDocument parses a document rendered as one Fn::Sub string and refuses leftovers', () => {
    assert.deepEqual(policyDocument('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}').Statement.length, 1)
    assert.throws(() => policyDocument({ Version: '2012-10-17', Statement: [{ Resource: '${AWS::AccountId}' }] }), /unresolved/)
    assert.throws(() => policyDocument({ Version: '2012-10-17', Statement: [{ Resource: '${Bucket}' }] }), /unresolved/)
    assert.throws(() => policyDocument({ Version: '2012-10-17', Statement: [{ Resource: { 'Fn::GetAtt': ['A', 'Arn'] } }] }), /unresolved/)
    assert.equal(policyDocument({ Version: '2012-10-17', Statement: [{ Resource: 'arn:aws:s3:::b/${aws:username}/*' }] }).Statement.length, 1, 'IAM policy variables stay')
    assert.throws(() => policyDocument({ Statement: [] }), /not an IAM policy document/)
  })
})

describe('what the suite reads from the templates', () => {
  it('the management role, its policy and the boundary have the names the design promises', () => {
    assert.equal(management.roleArn, MGMT_ROLE)
    assert.equal(management.boundaryArn, BOUNDARY)
    assert.equal(management.policyName, 'DoiT_Customer_Policy_DO-NOT-DELETE')
    assert.deepEqual(management.policyRoles, ['DoiT_Management_Role_DO-NOT-DELETE'], 'CustomerPolicy must be attached to the management role')
  })

  it('the gateway role trust policy is a whole document rendered by Fn::Sub and parses to JSON', () => {
    assert.equal(typeof templates.gateway.Resources.SupportGatewayRole.Properties.AssumeRolePolicyDocument['Fn::Sub'], 'string')
    const g = gatewayRole()
    assert.equal(g.arn, GATEWAY_ROLE)
    assert.deepEqual(g.trust.Statement.map((s) => s.Principal.Federated), PROVIDERS)
    assert.deepEqual(g.providerArns, PROVIDERS)
    assert.deepEqual(g.audience, [audience()])
  })

  it('gateway inline policies follow the two parameters (defaults: base only)', () => {
    assert.deepEqual(gatewayRole().inline.map((p) => p.name), ['DoiT-Support-Base'])
    assert.deepEqual(gatewayRole({ AllowSupportRunbooksExecutions: 'true', GrantDiagnosticToolAccess: 'true' }).inline.map((p) => p.name), ['DoiT-Support-Base', 'DoiT-Support-Runbooks', 'DoiT-Support-Diagnostics'])
    assert.deepEqual(gatewayRole().managedNames, ['SecurityAudit', 'AWSSupportAccess'])
  })

  it('the StackSet passes only parameters the gateway template declares, and deploys it to us-east-1 only', () => {
    const set = new Stack(templates.stackSet, { accountId: CUSTOMER, parameters: { OrganizationalUnitIds: 'r-abcd' } })
    const member = set.properties('StackSetMember')
    const params = Object.fromEntries(member.Parameters.map((p) => [p.ParameterKey, p.ParameterValue]))
    assert.deepEqual(Object.keys(params).sort(), ['AllowSupportRunbooksExecutions', 'GrantDiagnosticToolAccess', 'TenantToken'])
    assert.doesNotThrow(() => gatewayRole(params))
    assert.deepEqual(member.StackInstancesGroup.map((g) => g.Regions), [['us-east-1']])
  })
})
