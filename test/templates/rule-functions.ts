// CloudFormation's Rules and Conditions as it evaluates them before it creates anything, for the
// launch tests: only the rule functions in Rules (anything else is refused, as CloudFormation refuses
// it), Fn::ValueOf / Fn::ValueOfAll answered from a small stand-in for the account (which subnets
// exist, their VPC and zone), and the condition functions in Conditions.
import { requiredParameterSamples, type ParameterValues, type Template } from './cfn-template';

/**
 * The functions CloudFormation accepts inside Rules (RuleCondition and Assert). Fn::If is left out on
 * purpose: CloudFormation refuses it there too (cloudformation-coverage-roadmap#921), though the
 * rules documentation once listed it.
 */
export const ruleFunctions = new Set([
  'Ref',
  'Fn::And',
  'Fn::Contains',
  'Fn::EachMemberEquals',
  'Fn::EachMemberIn',
  'Fn::Equals',
  'Fn::Not',
  'Fn::Or',
  'Fn::RefAll',
  'Fn::ValueOf',
  'Fn::ValueOfAll',
]);

/** Every function (an object key `Ref`, `Condition` or `Fn::...`) used inside the template's Rules, with where. */
export function functionsInRules(t: Template): { where: string; fn: string }[] {
  const out: { where: string; fn: string }[] = [];
  const visit = (node: unknown, path: string[]) => {
    if (Array.isArray(node)) node.forEach((v, i) => visit(v, [...path, String(i)]));
    else if (node && typeof node === 'object')
      for (const [k, v] of Object.entries(node)) {
        if (k === 'Ref' || k === 'Condition' || k.startsWith('Fn::')) out.push({ where: path.join('.'), fn: k });
        visit(v, [...path, k]);
      }
  };
  for (const [name, rule] of Object.entries(t.Rules ?? {})) {
    if (rule.RuleCondition !== undefined) visit(rule.RuleCondition, [name, 'RuleCondition']);
    rule.Assertions.forEach((a, i) => visit(a.Assert, [name, 'Assertions', String(i), 'Assert']));
  }
  return out;
}

/**
 * What Fn::ValueOf and Fn::ValueOfAll read from the account: AWS-typed parameter values (subnet ids,
 * VPC ids) and their attributes, e.g. `{ 'subnet-a': { VpcId: 'vpc-1', AvailabilityZone: 'us-east-1a' } }`.
 */
export type Account = Record<string, Record<string, string>>;

const isList = (type: string) => type === 'CommaDelimitedList' || type.startsWith('List<');

/** The value a parameter has for these values (the user's, else the default), a list for list types. */
function parameterValue(t: Template, name: string, values: ParameterValues): string | string[] {
  const p = t.Parameters?.[name];
  const raw = values[name] ?? (p?.Default === undefined ? undefined : String(p.Default));
  if (raw === undefined) throw new Error(`no value for ${name}`);
  return p && isList(p.Type) ? raw.split(',') : raw;
}

function attribute(account: Account, id: string, attr: string): string {
  const a = account[id]?.[attr];
  if (a === undefined) throw new Error(`the account has no ${attr} for ${id} (CloudFormation would refuse the value)`);
  return a;
}

/** Evaluates a Rules expression with the rule functions only; any other function throws. */
export function evaluateRuleExpression(
  t: Template,
  expr: unknown,
  values: ParameterValues,
  account: Account = {},
): unknown {
  const ev = (e: unknown) => evaluateRuleExpression(t, e, values, account);
  const bool = (e: unknown): boolean => {
    const v = ev(e);
    if (typeof v !== 'boolean') throw new Error(`expected a condition, got ${JSON.stringify(e)}`);
    return v;
  };
  const list = (e: unknown): string[] => {
    const v = ev(e);
    if (!Array.isArray(v)) throw new Error(`expected a list, got ${JSON.stringify(e)}`);
    return v.map(String);
  };
  if (typeof expr === 'string' || typeof expr === 'number' || typeof expr === 'boolean') return String(expr);
  if (Array.isArray(expr)) return expr.map(ev);
  if (!expr || typeof expr !== 'object') throw new Error(`cannot evaluate ${JSON.stringify(expr)}`);
  const entries = Object.entries(expr);
  if (entries.length !== 1) throw new Error(`not one function: ${JSON.stringify(expr)}`);
  const [fn, arg] = entries[0]!;
  if (!ruleFunctions.has(fn)) throw new Error(`${fn} is not a rule function: CloudFormation refuses it in Rules`);
  const args = Array.isArray(arg) ? arg : [arg];
  switch (fn) {
    case 'Ref':
      return parameterValue(t, String(arg), values);
    case 'Fn::Equals': {
      const [a, b] = args.map(ev);
      return JSON.stringify(a) === JSON.stringify(b);
    }
    case 'Fn::Not':
      return !bool(args[0]);
    case 'Fn::And':
      return args.map(bool).every(Boolean);
    case 'Fn::Or':
      return args.map(bool).some(Boolean);
    case 'Fn::Contains':
      return list(args[0]).includes(String(ev(args[1])));
    case 'Fn::EachMemberEquals': {
      const v = String(ev(args[1]));
      return list(args[0]).every((m) => m === v);
    }
    case 'Fn::EachMemberIn': {
      const allowed = list(args[1]);
      return list(args[0]).every((m) => allowed.includes(m));
    }
    case 'Fn::RefAll': {
      const type = String(args[0]);
      return Object.entries(t.Parameters ?? {})
        .filter(([, p]) => p.Type === type)
        .flatMap(([name]) => [parameterValue(t, name, values)].flat());
    }
    case 'Fn::ValueOf': {
      const v = parameterValue(t, String(args[0]), values);
      const attr = String(args[1]);
      return Array.isArray(v) ? v.map((id) => attribute(account, id, attr)) : attribute(account, v, attr);
    }
    case 'Fn::ValueOfAll': {
      const [type, attr] = [String(args[0]), String(args[1])];
      return Object.entries(t.Parameters ?? {})
        .filter(([, p]) => p.Type === type)
        .flatMap(([name]) => [parameterValue(t, name, values)].flat())
        .map((id) => attribute(account, id, attr));
    }
    default:
      throw new Error(`${fn} is not evaluated here`);
  }
}

/** The rules (and their assertion texts) CloudFormation refuses these values with; none: accepted. */
export function refusingRules(
  t: Template,
  values: ParameterValues,
  account: Account = {},
): { rule: string; description: string }[] {
  const out: { rule: string; description: string }[] = [];
  for (const [rule, body] of Object.entries(t.Rules ?? {})) {
    if (body.RuleCondition !== undefined && evaluateRuleExpression(t, body.RuleCondition, values, account) !== true)
      continue;
    for (const a of body.Assertions) {
      const held = evaluateRuleExpression(t, a.Assert, values, account);
      if (typeof held !== 'boolean') throw new Error(`${rule}: an Assert that is not a condition`);
      if (!held) out.push({ rule, description: a.AssertDescription });
    }
  }
  return out;
}

/**
 * The value of a named Condition for these values: Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition,
 * and inside them Ref, Fn::Join, Fn::Select and Fn::If (what the templates' conditions use).
 */
export function evaluateCondition(t: Template, name: string, values: ParameterValues): boolean {
  const cond = t.Conditions?.[name];
  if (cond === undefined) throw new Error(`no condition ${name}`);
  const ev = (e: unknown): unknown => {
    if (typeof e === 'string' || typeof e === 'number' || typeof e === 'boolean') return String(e);
    if (Array.isArray(e)) return e.map(ev);
    const [fn, arg] = Object.entries(e as Record<string, unknown>)[0]!;
    const args = Array.isArray(arg) ? arg : [arg];
    switch (fn) {
      case 'Ref':
        return parameterValue(t, String(arg), values);
      case 'Condition':
        return evaluateCondition(t, String(arg), values);
      case 'Fn::Equals': {
        const [a, b] = args.map(ev);
        return JSON.stringify(a) === JSON.stringify(b);
      }
      case 'Fn::Not':
        return !ev(args[0]);
      case 'Fn::And':
        return args.every((a) => ev(a) === true);
      case 'Fn::Or':
        return args.some((a) => ev(a) === true);
      case 'Fn::Join':
        return ([ev(args[1])].flat() as string[]).join(String(args[0]));
      case 'Fn::Select':
        return (ev(args[1]) as string[])[Number(ev(args[0]))];
      case 'Fn::If':
        return evaluateCondition(t, String(args[0]), values) ? ev(args[1]) : ev(args[2]);
      default:
        throw new Error(`${fn} is not evaluated in conditions here`);
    }
  };
  const v = ev(cond);
  if (typeof v !== 'boolean') throw new Error(`condition ${name} is not a boolean`);
  return v;
}

/**
 * A stand-in account in which every subnet a subnet-typed parameter names exists, in the VPC the
 * values name (VPCID, else a sample VPC) and in a zone of its own.
 */
export function accountFor(t: Template, values: Record<string, string>): Account {
  const account: Account = {};
  const vpc = values.VPCID ?? 'vpc-0123456789abcdef0';
  for (const [name, p] of Object.entries(t.Parameters ?? {})) {
    if (p.Type !== 'AWS::EC2::Subnet::Id') continue;
    const id = values[name] ?? 'sample';
    account[id] = { VpcId: vpc, AvailabilityZone: `${values['AWS::Region'] ?? 'us-east-1'}-${name}` };
  }
  return account;
}

/** The rules refusing these values on top of the template's defaults (and samples for what has none). */
export function refusedBy(t: Template, values: Record<string, string>, region = 'us-east-1'): string[] {
  // One subnet per subnet-typed parameter (the samples would name the same one twice).
  const subnets = Object.fromEntries(
    Object.entries(t.Parameters ?? {})
      .filter(([, p]) => p.Type === 'AWS::EC2::Subnet::Id')
      .map(([name]) => [name, `subnet-${name.toLowerCase()}`]),
  );
  const all = { 'AWS::Region': region, ...requiredParameterSamples(t), ...subnets, ...values };
  return refusingRules(t, all, accountFor(t, all)).map((r) => r.rule);
}
