// Resolving a template value as CloudFormation would for one set of parameter values: Fn::If by the
// template's conditions, Ref and Fn::Sub from the values (resource references and GetAtts become
// placeholders such as <JenkinsLoadBalancer.Value>), Fn::FindInMap from the Mappings, Fn::Split and
// Fn::Select.
import type { ParameterValues, Template } from './cfn-template';
import { evaluateCondition } from './rule-functions';

/** The value with every intrinsic function resolved for these parameter values (defaults fill the rest). */
export function resolveValue(t: Template, value: unknown, values: ParameterValues): unknown {
  const param = (name: string): string => {
    if (name in values) return values[name]!;
    const p = t.Parameters?.[name];
    if (p?.Default !== undefined) return String(p.Default);
    return `<${name}>`;
  };
  const sub = (text: string, vars: Record<string, unknown>) =>
    text.replace(/\$\{([^!}][^}]*)\}/g, (_m, v: string) =>
      v in vars ? String(resolveValue(t, vars[v], values)) : v.includes('.') ? `<${v}>` : param(v),
    );
  const r = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(r);
    if (!v || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [fn] = keys as [string];
      const arg = o[fn];
      if (fn === 'Ref') return param(String(arg));
      if (fn === 'Fn::If') {
        const [cond, yes, no] = arg as [string, unknown, unknown];
        return r(evaluateCondition(t, cond, values) ? yes : no);
      }
      if (fn === 'Fn::Sub')
        return typeof arg === 'string'
          ? sub(arg, {})
          : sub(String((arg as unknown[])[0]), ((arg as unknown[])[1] ?? {}) as Record<string, unknown>);
      if (fn === 'Fn::GetAtt') return `<${(arg as string[]).join('.')}>`;
      if (fn === 'Fn::Split') {
        const [delimiter, text] = arg as [string, unknown];
        return String(r(text)).split(delimiter);
      }
      if (fn === 'Fn::Select') {
        const [index, list] = arg as [unknown, unknown];
        return (r(list) as unknown[])[Number(r(index))];
      }
      if (fn === 'Fn::FindInMap') {
        const [map, key, attr] = (arg as unknown[]).map((a) => String(r(a)));
        const m = (t.Mappings?.[map!] as Record<string, Record<string, unknown>> | undefined)?.[key!]?.[attr!];
        if (m === undefined) throw new Error(`no mapping ${map}.${key}.${attr}`);
        return m;
      }
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, r(x)]));
  };
  return r(value);
}
