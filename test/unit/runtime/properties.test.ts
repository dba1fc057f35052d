import * as z from 'zod';
import { parseProperties, PropertyError, prop } from '../../../functions/src/runtime';

const schema = z.strictObject({
  Manifest: prop.documents(),
  Groups: prop.list(prop.string({ minLength: 1 })).default([]),
  Nested: prop.object({ Enabled: prop.boolean(), Count: prop.integer({ max: 5 }).default(1) }).optional(),
});

const errorOf = (raw: Record<string, unknown>) => {
  try {
    parseProperties(schema, raw);
  } catch (e) {
    if (e instanceof PropertyError) return e.message;
    throw e;
  }
  throw new Error('expected a PropertyError');
};

describe('parseProperties', () => {
  test('multi-document YAML yields one map per non-empty document', () => {
    const p = parseProperties(schema, {
      Manifest: 'a: 1\n---\n---\nb: 2\n',
      ServiceToken: 'arn',
      ServiceTimeout: '60',
    });
    expect(p.Manifest).toEqual([{ a: 1 }, { b: 2 }]);
  });

  test('a single map and a list of maps are accepted as they are', () => {
    expect(parseProperties(schema, { Manifest: { a: 1 } }).Manifest).toEqual([{ a: 1 }]);
    expect(parseProperties(schema, { Manifest: [{ a: 1 }, { b: 2 }] }).Manifest).toHaveLength(2);
  });

  test('lists arrive as JSON arrays, YAML text or comma-separated strings', () => {
    expect(parseProperties(schema, { Manifest: 'a: 1', Groups: 'x, y' }).Groups).toEqual(['x', 'y']);
    expect(parseProperties(schema, { Manifest: 'a: 1', Groups: '["x"]' }).Groups).toEqual(['x']);
    expect(parseProperties(schema, { Manifest: 'a: 1', Groups: '- x\n- y' }).Groups).toEqual(['x', 'y']);
    expect(parseProperties(schema, { Manifest: 'a: 1', Groups: '' }).Groups).toEqual([]);
  });

  test('nested objects given as JSON text are parsed and validated with their path', () => {
    expect(parseProperties(schema, { Manifest: 'a: 1', Nested: '{"Enabled": "true"}' }).Nested).toEqual({
      Enabled: true,
      Count: 1,
    });
    expect(errorOf({ Manifest: 'a: 1', Nested: { Enabled: 'true', Count: '9' } })).toBe(
      'Nested.Count: expected a whole number ≤ 5',
    );
    expect(errorOf({ Manifest: 'a: 1', Nested: { Enabled: 'true', Extra: 1 } })).toBe(
      'Nested.Extra: unknown property; expected one of Enabled, Count',
    );
  });

  test('every failing property is reported, not only the first', () => {
    expect(errorOf({ Manifest: '- 1\n- 2', Groups: [''] })).toBe(
      'Manifest[0]: expected each document to be a map, got 1; Manifest[1]: expected each document to be a map, got 2; Groups[0]: expected a non-empty string',
    );
  });

  test('a document that is not valid YAML is named by its position', () => {
    expect(errorOf({ Manifest: 'a: 1\n---\nb: [\n' })).toMatch(/^Manifest: document 2 is not valid YAML\/JSON: /);
  });

  test('an empty manifest is rejected', () => {
    expect(errorOf({ Manifest: '---\n' })).toBe('Manifest: expected at least one document');
  });
});
