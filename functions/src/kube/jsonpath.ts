/**
 * Kubernetes JSONPath (the `kubectl get -o jsonpath=…` dialect) on top of `jsonpath-plus`:
 * templates like `{.status.loadBalancer.ingress[0].hostname}`, several actions with text between
 * them (`{.spec.host}:{.spec.port}`), a bare expression (`.status.phase`), filters
 * (`{.status.conditions[?(@.type=="Ready")].status}`), `[*]`, slices, `..`, and keys with dots
 * escaped the kubectl way (`{.metadata.annotations.eks\.amazonaws\.com/role-arn}`).
 */
import { JSONPath } from 'jsonpath-plus';
import { JsonPathError } from './errors';

type Part = { text: string } | { expression: string; source: string };

/** Splits a template into literal text and `{…}` actions (a template without braces is one action). */
function parseTemplate(template: string): Part[] {
  const t = template.trim();
  if (!t.includes('{')) return [{ expression: toJsonPathPlus(t), source: t }];
  const parts: Part[] = [];
  let i = 0;
  while (i < t.length) {
    const open = t.indexOf('{', i);
    if (open < 0) {
      parts.push({ text: t.slice(i) });
      break;
    }
    if (open > i) parts.push({ text: t.slice(i, open) });
    const close = matchingBrace(t, open);
    const inner = t.slice(open + 1, close).trim();
    if (/^(range|end)\b/.test(inner))
      throw new JsonPathError(`{${inner}}: range/end templates are not supported; use [*] to select every item`);
    if (/^"(.*)"$/.test(inner)) parts.push({ text: JSON.parse(inner) as string });
    else parts.push({ expression: toJsonPathPlus(inner), source: `{${inner}}` });
    i = close + 1;
  }
  return parts;
}

function matchingBrace(t: string, open: number): number {
  let quote: string | undefined;
  for (let i = open + 1; i < t.length; i++) {
    const c = t[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '}') return i;
  }
  throw new JsonPathError(`unclosed { at position ${open + 1}`);
}

/** `.metadata.annotations.a\.b/c[0]` → `$.metadata.annotations['a.b/c'][0]`. */
function toJsonPathPlus(expression: string): string {
  let e = expression.trim();
  if (e.startsWith('$')) e = e.slice(1);
  if (e === '' || e === '.') return '$';
  let out = '$';
  let i = 0;
  while (i < e.length) {
    if (e.startsWith('..', i)) {
      out += '..';
      i += 2;
      i = readName(e, i, (name) => (out += name === '*' ? '*' : bracket(name)));
    } else if (e[i] === '.') {
      i = readName(e, i + 1, (name) => (out += name === '*' ? '.*' : bracket(name)));
    } else if (e[i] === '[') {
      const end = matchingBracket(e, i);
      out += e.slice(i, end + 1);
      i = end + 1;
    } else if (i === 0) {
      // kubectl accepts `status.phase` without the leading dot.
      i = readName(e, 0, (name) => (out += bracket(name)));
    } else {
      throw new JsonPathError(`unexpected '${e[i]}' at position ${i + 1} of ${expression}`);
    }
  }
  return out;
}

function readName(e: string, start: number, emit: (name: string) => void): number {
  let name = '';
  let i = start;
  while (i < e.length && e[i] !== '.' && e[i] !== '[') {
    if (e[i] === '\\' && i + 1 < e.length) {
      name += e[i + 1];
      i += 2;
    } else {
      name += e[i++];
    }
  }
  if (name) emit(name);
  return i;
}

const bracket = (name: string) =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name).replace(/^"|"$/g, "'")}]`;

function matchingBracket(e: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < e.length; i++) {
    const c = e[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return i;
  }
  throw new JsonPathError(`unclosed [ at position ${open + 1}`);
}

const render = (v: unknown) =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);

/**
 * Checks a template without evaluating it.
 *
 * @throws JsonPathError saying what is wrong.
 */
export function checkJsonPath(template: string): void {
  parseTemplate(template);
}

/**
 * Evaluates a Kubernetes JSONPath template against an object. Returns `undefined` while any
 * action has no value (nothing matched, or only `null`/empty strings), else the text kubectl would
 * print: several matches of one action joined by spaces, maps and lists as JSON.
 *
 * @example
 * evaluateJsonPath('{.status.loadBalancer.ingress[0].hostname}', service); // 'a1b2.elb.amazonaws.com'
 * evaluateJsonPath('{.spec.ports[*].port}', service);                      // '80 443'
 */
export function evaluateJsonPath(template: string, json: unknown): string | undefined {
  let out = '';
  for (const part of parseTemplate(template)) {
    if ('text' in part) {
      out += part.text;
      continue;
    }
    const found = (
      JSONPath({ path: part.expression, json: json as object, wrap: true, eval: 'safe' }) as unknown[]
    ).filter((v) => v !== null && v !== undefined && v !== '');
    if (found.length === 0) return undefined;
    out += found.map(render).join(' ');
  }
  return out === '' ? undefined : out;
}
