// A small CloudFormation resolver: just enough of the template language to turn the synthesized
// templates' IAM documents into the concrete policies IAM would hold after deployment.
//
// Supported: Parameters (given values or defaults, CommaDelimitedList), the pseudo parameters
// AWS::Partition, AWS::AccountId, AWS::Region, AWS::StackName, AWS::URLSuffix and AWS::NoValue,
// Conditions (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition), Ref, Fn::Sub (string and
// [string, vars] forms), Fn::GetAtt X.Arn for IAM roles and managed policies, Fn::If.
// Anything else that looks like an intrinsic throws: a policy must never be simulated with an
// unresolved piece silently left in it.
import { readFileSync } from 'node:fs'
import { parseDocument } from 'yaml'

const NO_VALUE = Symbol('AWS::NoValue')

// CloudFormation's YAML short forms (!Ref, !Sub, ...), mapped to their long forms. The resolver
// decides later whether it supports them.
const SHORT_FORMS = [
  'Base64', 'Cidr', 'FindInMap', 'GetAZs', 'GetAtt', 'If', 'ImportValue', 'Join', 'Select', 'Split',
  'Sub', 'Transform', 'Equals', 'Not', 'And', 'Or', 'Contains', 'EachMemberEquals', 'EachMemberIn',
  'RefAll', 'ValueOf', 'ValueOfAll', 'ToJsonString', 'Length',
]
const yamlTags = [
  { tag: '!Ref', resolve: (s) => ({ Ref: s }) },
  { tag: '!Condition', resolve: (s) => ({ Condition: s }) },
  ...SHORT_FORMS.flatMap((name) => {
    const key = `Fn::${name}`
    return [
      // !GetAtt A.B is the short form of Fn::GetAtt [A, B].
      { tag: `!${name}`, resolve: (s) => ({ [key]: name === 'GetAtt' ? s.split(/\.(.*)/s, 2) : s }) },
      { tag: `!${name}`, collection: 'seq', resolve: (seq) => ({ [key]: seq.toJSON() }) },
      { tag: `!${name}`, collection: 'map', resolve: (map) => ({ [key]: map.toJSON() }) },
    ]
  }),
]

/** Parses a template from text; JSON when it looks like JSON, CloudFormation YAML otherwise. */
export function parseTemplate(text) {
  if (text.trimStart().startsWith('{')) return JSON.parse(text)
  const doc = parseDocument(text, { customTags: yamlTags })
  const problems = [...doc.errors, ...doc.warnings]
  if (problems.length > 0) throw new Error(`template YAML: ${problems.map((p) => p.message).join('; ')}`)
  return doc.toJS()
}

/** Reads and parses a template file. */
export function loadTemplate(path) {
  return parseTemplate(readFileSync(path, 'utf8'))
}

/**
 * A template as one deployment would see it: fixed parameter values and pseudo parameters.
 *
 * @param template the parsed template
 * @param options.accountId the stack's account (AWS::AccountId), required
 * @param options.parameters parameter values; a parameter without one takes its Default
 * @param options.region AWS::Region, us-east-1 by default
 * @param options.partition AWS::Partition, aws by default
 */
export class Stack {
  constructor(template, { accountId, parameters = {}, region = 'us-east-1', partition = 'aws', stackName = 'test-stack' } = {}) {
    if (!/^\d{12}$/.test(accountId ?? '')) throw new Error(`accountId must be 12 digits, got ${accountId}`)
    this.template = template
    this.params = template.Parameters ?? {}
    for (const name of Object.keys(parameters)) {
      if (!(name in this.params)) throw new Error(`unknown parameter ${name}`)
    }
    this.values = parameters
    this.pseudo = {
      'AWS::AccountId': accountId,
      'AWS::Partition': partition,
      'AWS::Region': region,
      'AWS::StackName': stackName,
      'AWS::URLSuffix': partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
    }
    this.conditionCache = new Map()
  }

  /** The resource's Properties with every intrinsic resolved. */
  properties(logicalId) {
    return this.resolve(this.#resource(logicalId).Properties ?? {})
  }

  /** Evaluates the named condition of the Conditions section. */
  condition(name) {
    if (!this.conditionCache.has(name)) {
      const expr = this.template.Conditions?.[name]
      if (expr === undefined) throw new Error(`unknown condition ${name}`)
      this.conditionCache.set(name, null) // cycle guard
      this.conditionCache.set(name, this.#evalCondition(expr))
    }
    const value = this.conditionCache.get(name)
    if (value === null) throw new Error(`condition ${name} refers to itself`)
    return value
  }

  /** Resolves every intrinsic function in value. */
  resolve(value) {
    const out = this.#resolve(value)
    if (out === NO_VALUE) throw new Error('AWS::NoValue used where a value is required')
    return out
  }

  #resource(logicalId) {
    const r = this.template.Resources?.[logicalId]
    if (!r) throw new Error(`unknown resource ${logicalId}`)
    return r
  }

  #resolve(value) {
    if (Array.isArray(value)) return value.map((v) => this.#resolve(v)).filter((v) => v !== NO_VALUE)
    if (value === null || typeof value !== 'object') return value
    const keys = Object.keys(value)
    if (keys.length === 1 && isIntrinsic(keys[0])) return this.#intrinsic(keys[0], value[keys[0]])
    const out = {}
    for (const k of keys) {
      if (isIntrinsic(k)) throw new Error(`intrinsic ${k} mixed with other keys: ${JSON.stringify(value)}`)
      const v = this.#resolve(value[k])
      if (v !== NO_VALUE) out[k] = v
    }
    return out
  }

  #intrinsic(fn, arg) {
    switch (fn) {
      case 'Ref':
        return this.#ref(arg)
      case 'Fn::Sub':
        return this.#sub(arg)
      case 'Fn::GetAtt':
        return this.#getAtt(arg)
      case 'Fn::If': {
        if (!Array.isArray(arg) || arg.length !== 3) throw new Error(`Fn::If needs [condition, then, else]: ${JSON.stringify(arg)}`)
        return this.#resolve(this.condition(arg[0]) ? arg[1] : arg[2])
      }
      default:
        throw new Error(`unsupported intrinsic ${fn}: ${JSON.stringify(arg)}`)
    }
  }

  #ref(name) {
    if (typeof name !== 'string') throw new Error(`Ref needs a name: ${JSON.stringify(name)}`)
    if (name === 'AWS::NoValue') return NO_VALUE
    if (name in this.pseudo) return this.pseudo[name]
    if (name.startsWith('AWS::')) throw new Error(`unsupported pseudo parameter ${name}`)
    if (name in this.params) return this.#parameter(name)
    const r = this.#resource(name)
    const p = r.Properties ?? {}
    switch (r.Type) {
      case 'AWS::IAM::Role':
        return this.#resolveString(p.RoleName, `${name}.RoleName`)
      case 'AWS::IAM::ManagedPolicy':
      case 'AWS::IAM::OIDCProvider':
        return this.#getAtt([name, 'Arn'])
      default:
        throw new Error(`Ref to ${name} of type ${r.Type} is not supported`)
    }
  }

  #parameter(name) {
    const def = this.params[name]
    const raw = name in this.values ? this.values[name] : def.Default
    if (raw === undefined) throw new Error(`parameter ${name} has no value and no default`)
    const value = String(raw)
    if (def.AllowedValues && !def.AllowedValues.map(String).includes(value)) {
      throw new Error(`parameter ${name}=${value} is not one of ${def.AllowedValues.join(', ')}`)
    }
    if (def.AllowedPattern && !new RegExp(def.AllowedPattern).test(value)) {
      throw new Error(`parameter ${name}=${value} does not match ${def.AllowedPattern}`)
    }
    return def.Type === 'CommaDelimitedList' ? value.split(',') : value
  }

  #getAtt(arg) {
    const [id, attr] = typeof arg === 'string' ? arg.split(/\.(.*)/s, 2) : arg ?? []
    if (typeof id !== 'string' || typeof attr !== 'string') throw new Error(`Fn::GetAtt needs [resource, attribute]: ${JSON.stringify(arg)}`)
    const r = this.#resource(id)
    const p = r.Properties ?? {}
    const { 'AWS::Partition': partition, 'AWS::AccountId': account } = this.pseudo
    const path = p.Path === undefined ? '/' : this.#resolveString(p.Path, `${id}.Path`)
    if (attr === 'Arn' && r.Type === 'AWS::IAM::Role') {
      return `arn:${partition}:iam::${account}:role${path}${this.#resolveString(p.RoleName, `${id}.RoleName`)}`
    }
    if (attr === 'Arn' && r.Type === 'AWS::IAM::ManagedPolicy') {
      return `arn:${partition}:iam::${account}:policy${path}${this.#resolveString(p.ManagedPolicyName, `${id}.ManagedPolicyName`)}`
    }
    if (attr === 'Arn' && r.Type === 'AWS::IAM::OIDCProvider') {
      const url = this.#resolveString(p.Url, `${id}.Url`)
      return `arn:${partition}:iam::${account}:oidc-provider/${url.replace(/^https:\/\//, '')}`
    }
    throw new Error(`Fn::GetAtt ${id}.${attr} (${r.Type}) is not supported`)
  }

  #resolveString(value, what) {
    // A generated name would make the ARN unknowable; the templates name every IAM entity.
    if (value === undefined) throw new Error(`${what} is not set`)
    const out = this.resolve(value)
    if (typeof out !== 'string') throw new Error(`${what} did not resolve to a string: ${JSON.stringify(out)}`)
    return out
  }

  #sub(arg) {
    let text
    let vars = {}
    if (typeof arg === 'string') text = arg
    else if (Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string' && arg[1] && typeof arg[1] === 'object') {
      ;[text, vars] = arg
    } else throw new Error(`Fn::Sub needs a string or [string, variables]: ${JSON.stringify(arg)}`)
    return text.replace(/\$\{([^}]*)\}/g, (whole, name) => {
      if (name.startsWith('!')) return '${' + name.slice(1) + '}' // ${!Literal}
      name = name.trim()
      let v
      if (name in vars) v = this.resolve(vars[name])
      else if (name.includes('.') && !name.startsWith('AWS::')) v = this.#getAtt(name)
      else v = this.#ref(name)
      if (typeof v !== 'string') throw new Error(`Fn::Sub variable ${name} is not a string: ${JSON.stringify(v)}`)
      return v
    })
  }

  #evalCondition(expr) {
    if (typeof expr === 'boolean') return expr
    if (expr === null || typeof expr !== 'object' || Array.isArray(expr) || Object.keys(expr).length !== 1) {
      throw new Error(`not a condition: ${JSON.stringify(expr)}`)
    }
    const [fn, arg] = Object.entries(expr)[0]
    const list = (n) => {
      if (!Array.isArray(arg) || (n !== undefined && arg.length !== n)) throw new Error(`${fn} needs a list: ${JSON.stringify(arg)}`)
      return arg
    }
    switch (fn) {
      case 'Condition':
        return this.condition(arg)
      case 'Fn::Equals': {
        const [a, b] = list(2).map((v) => this.resolve(v))
        return JSON.stringify(a) === JSON.stringify(b) || String(a) === String(b)
      }
      case 'Fn::Not':
        return !this.#evalCondition(list(1)[0])
      case 'Fn::And':
        return list().map((c) => this.#evalCondition(c)).every(Boolean)
      case 'Fn::Or':
        return list().map((c) => this.#evalCondition(c)).some(Boolean)
      default:
        throw new Error(`unsupported condition function ${fn}`)
    }
  }
}

// "Condition" is an intrinsic only inside the Conditions section (and Fn::If names a condition),
// so a policy statement's Condition element is plain data here.
function isIntrinsic(key) {
  return key === 'Ref' || key.startsWith('Fn::')
}

/**
 * A resolved policy document: either an object, or a string (a whole document rendered through
 * Fn::Sub, as the gateway role's trust policy is). Checks it has the shape of an IAM document.
 */
export function policyDocument(value) {
  const doc = typeof value === 'string' ? JSON.parse(value) : value
  if (doc?.Version !== '2012-10-17' || !Array.isArray(doc.Statement) || doc.Statement.length === 0) {
    throw new Error(`not an IAM policy document: ${JSON.stringify(value).slice(0, 200)}`)
  }
  const text = JSON.stringify(doc)
  // ${AWS::AccountId}, ${Param} or ${Res.Attr} left over; IAM policy variables (${aws:username})
  // are legitimate and stay.
  const leftover = text.match(/\$\{(AWS::[A-Za-z]+|[A-Za-z0-9]+(\.[A-Za-z0-9.]+)?)\}|"Ref"|"Fn::[A-Za-z]+"/)
  if (leftover) throw new Error(`policy still holds an unresolved ${leftover[0]}`)
  return doc
}
