// Thin wrappers around @cloud-copilot/iam-simulate: run one request, refuse any simulation the
// library could not evaluate faithfully, and compare its decision with the expected one.
import assert from 'node:assert/strict'
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'
import { createValidatedPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy'

export const CUSTOMER = '111122223333'
export const VENDOR = '999988887777'
export const OTHER = '444455556666' // another customer of the vendor
export const EXTERNAL_ID = 'ext-0123456789abcdef'

const DECISIONS = ['Allowed', 'ExplicitlyDenied', 'ImplicitlyDenied']

/**
 * Runs one request through iam-simulate (with full validation of policies, action, resource
 * type and context keys) and returns { decision, why, raw }.
 *
 * Fails (throws) when the library returns resultType 'error', and when it silently drops a
 * context key we supplied: a dropped iam:PermissionsBoundary or sts:ExternalId would make a
 * "denied" case pass for the wrong reason.
 *
 * @param r.principal the caller's ARN
 * @param r.action e.g. 'iam:CreateRole'
 * @param r.resource the resource ARN ('*' for actions without resource types)
 * @param r.context context keys as IAM would set them
 * @param r.identity identity policies: [{ name, policy }]
 * @param r.boundary the principal's permissions boundary document, if any
 * @param r.resourcePolicy the resource's policy (a role's trust policy for sts:* on a role)
 */
export async function simulate({ principal, action, resource, context = {}, identity = [], boundary, resourcePolicy, session, resourceAccount = CUSTOMER }) {
  const simulation = buildSimulation({ principal, action, resource, context, identity, boundary, resourcePolicy, resourceAccount })
  if (session) simulation.sessionPolicy = session
  const raw = await runSimulation(simulation, {})
  if (raw.resultType === 'error') {
    assert.fail(`iam-simulate could not evaluate ${action} on ${resource}: ${JSON.stringify(raw.errors, null, 2)}`)
  }
  const results = raw.resultType === 'single' ? [raw.result] : raw.results
  const ignored = [...new Set(results.flatMap((r) => r.ignoredContextKeys ?? []))]
  if (ignored.length > 0) {
    assert.fail(`iam-simulate ignored context keys ${ignored.join(', ')} for ${action}: the case would not test what it claims`)
  }
  return { decision: raw.overallResult, why: explain(results.map((r) => r.analysis)), raw }
}

/**
 * A web-identity request (sts:AssumeRoleWithWebIdentity or sts:TagSession) against a role's trust
 * policy, with the token's claims as OIDC context keys ("<issuer host/path>:aud", ":sub").
 *
 * iam-simulate 0.1.173 cannot evaluate this through runSimulation: before evaluating, it keeps
 * only the context keys the action's service reference lists (for AssumeRoleWithWebIdentity:
 * accounts.google.com:aud, cognito-identity.amazonaws.com:sub, some GitHub/GitLab keys, ...) plus
 * the global keys. The keys of a customer-registered OIDC provider, "<host>/<path>:aud" and
 * ":sub", are not among them, so they are dropped (reported as ignoredContextKeys) and every such
 * request comes out ImplicitlyDenied whatever the token says.
 *
 * So: runSimulation first (it validates the policy, the action, the role ARN and every other
 * context key, and must drop nothing but the provider's claim keys), then the library's own
 * runUnsafeSimulation on the same input, which skips only the context-key filter and evaluates
 * the trust policy with the claims in place. The trust policy is handed to it as a
 * ValidatedPolicy (validateTrustPolicy, which must find no error) because runUnsafeSimulation
 * crashes on a plain resource policy without a name.
 */
export async function simulateWebIdentity({ provider, action, role, claims, resourcePolicy }) {
  const simulation = buildSimulation({ principal: provider, action, resource: role, context: claims, identity: [], resourcePolicy, resourceAccount: CUSTOMER })
  const checked = await runSimulation(simulation, {})
  if (checked.resultType !== 'single') {
    assert.fail(`iam-simulate could not evaluate ${action} on ${role}: ${JSON.stringify(checked.errors ?? checked.resultType, null, 2)}`)
  }
  const notClaims = (checked.result.ignoredContextKeys ?? []).filter((k) => !/^[a-z0-9.-]+(\/[^:]+)?:(aud|sub)$/.test(k))
  if (notClaims.length > 0) assert.fail(`iam-simulate ignored context keys ${notClaims.join(', ')} that are not token claims`)

  const trust = createValidatedPolicy(resourcePolicy, validateTrustPolicy, { name: 'TrustPolicy' })
  if (trust.errors.length > 0) assert.fail(`trust policy is invalid: ${JSON.stringify(trust.errors)}`)
  const decision = runUnsafeSimulation({ ...simulation, resourcePolicy: trust }, {}) // returns the decision only
  const dropped = checked.result.ignoredContextKeys ?? []
  if (dropped.length === 0 && decision !== checked.overallResult) {
    assert.fail(`runSimulation (${checked.overallResult}) and runUnsafeSimulation (${decision}) disagree on the same input`)
  }
  const why = `context ${JSON.stringify(claims)}; runSimulation, which drops ${dropped.join(', ') || 'nothing'}, says ${checked.overallResult} (${explain([checked.result.analysis])})`
  return { decision, why, validatedDecision: checked.overallResult }
}

function buildSimulation({ principal, action, resource, context, identity, boundary, resourcePolicy, resourceAccount }) {
  const simulation = {
    request: { principal, action, resource: { resource, accountId: resourceAccount }, contextVariables: context },
    identityPolicies: identity,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }
  if (boundary) simulation.permissionBoundaryPolicies = [{ name: 'PermissionsBoundary', policy: boundary }]
  if (resourcePolicy) simulation.resourcePolicy = resourcePolicy
  return simulation
}

// Which statements decided: "identity deny DenyPassingOrAssumingRoles; boundary allow ...".
function explain(analyses) {
  const parts = []
  for (const a of analyses) {
    if (!a) continue
    for (const [label, part] of [['identity', a.identityAnalysis], ['boundary', a.permissionBoundaryAnalysis], ['resource', a.resourceAnalysis]]) {
      if (!part) continue
      for (const [kind, list] of [['deny', part.denyStatements], ['allow', part.allowStatements]]) {
        for (const s of list ?? []) parts.push(`${label} ${kind} ${s.policyId ?? ''}:${s.statement?.sid?.() ?? s.statement?.index?.() ?? '?'}`)
      }
    }
    if (a.blockedBy) parts.push(`blocked by ${a.blockedBy.join(',')}`)
  }
  return parts.length > 0 ? [...new Set(parts)].join('; ') : 'no statement applied'
}

/**
 * Asserts the simulator's decision. expected is one of 'Allowed', 'ExplicitlyDenied',
 * 'ImplicitlyDenied', or 'Denied' (either denial: for cases whose guarantee is "not allowed",
 * not "denied by a particular Deny statement").
 */
export function expectDecision(name, sim, expected) {
  assert.ok([...DECISIONS, 'Denied'].includes(expected), `bad expectation ${expected}`)
  assert.ok(DECISIONS.includes(sim.decision), `${name}: unexpected decision ${sim.decision}`)
  const ok = expected === 'Denied' ? sim.decision !== 'Allowed' : sim.decision === expected
  assert.ok(ok, `${name}: expected ${expected}, iam-simulate says ${sim.decision} (${sim.why})`)
}
