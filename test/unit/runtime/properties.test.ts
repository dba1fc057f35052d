import * as z from 'zod';
import { documentsForm, parseProperties, prop, resolvePlainScalar } from '../../../functions/src/runtime/properties';
import { PropertyError } from '../../../functions/src/runtime';

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
      'Manifest[0]: expected each document to be a map, got a number; Manifest[1]: expected each document to be a map, got a number; Groups[0]: expected a non-empty string',
    );
  });

  test('a document that is not valid YAML is named by its position', () => {
    expect(errorOf({ Manifest: 'a: 1\n---\nb: [\n' })).toMatch(/^Manifest: document 2 is not valid YAML\/JSON: /);
  });

  test('an empty manifest is rejected', () => {
    expect(errorOf({ Manifest: '---\n' })).toBe('Manifest: expected at least one document');
  });

  test('YAML text is read as YAML 1.1, as helm and kubectl read it (issue 13.3)', () => {
    const p = parseProperties(schema, {
      Manifest: 'country: "NO"\nssl: "on"\nmode: 0440\nbare: NO\nswitch: on\nwhen: 2001-12-14\nclock: 12:30:00\n',
    });
    expect(p.Manifest).toEqual([
      { country: 'NO', ssl: 'on', mode: 288, bare: false, switch: true, when: '2001-12-14', clock: '12:30:00' },
    ]);
  });

  test('documents tell whether they came as text or as a map or list', () => {
    expect(documentsForm(parseProperties(schema, { Manifest: 'a: 1' }).Manifest)).toBe('text');
    expect(documentsForm(parseProperties(schema, { Manifest: { a: '1' } }).Manifest)).toBe('native');
    expect(documentsForm(parseProperties(schema, { Manifest: [{ a: '1' }] }).Manifest)).toBe('native');
  });

  test('list text keeps its items strings, as CloudFormation sends a list: the item schema types them', () => {
    const ints = z.strictObject({ Ports: prop.list(prop.integer()) });
    expect(parseProperties(ints, { Ports: '[80, "443"]' }).Ports).toEqual([80, 443]);
    expect(parseProperties(schema, { Manifest: 'a: 1', Groups: '- y\n- "on"' }).Groups).toEqual(['y', 'on']);
  });

  test('no message quotes the value given, only its shape (issue 13.8)', () => {
    const secretive = z.strictObject({
      Values: prop.document(),
      Count: prop.integer(),
      Flag: prop.boolean(),
      Mode: prop.enum(['a', 'b']),
      Name: prop.string({ pattern: /^[a-z]+$/ }),
      Nested: prop.object({ Key: prop.string() }),
      Items: prop.list(prop.integer()),
    });
    const secret = 'adminPassword=Hunter2-SuperSecret';
    let message = '';
    try {
      parseProperties(secretive, {
        Values: `${secret}: x: y`,
        Count: secret,
        Flag: secret,
        Mode: secret,
        Name: secret,
        Nested: secret,
        Items: [secret],
      });
    } catch (e) {
      expect(e).toBeInstanceOf(PropertyError);
      message = (e as Error).message;
    }
    expect(message).not.toMatch(/Hunter2|adminPassword/);
    expect(message).toBe(
      'Values: expected a YAML or JSON document: Nested mappings are not allowed in compact mappings (line 1, column 36); ' +
        'Count: expected a whole number, got text; Flag: expected "true" or "false", got text; Mode: expected one of a | b; ' +
        'Name: expected to match /^[a-z]+$/; Nested: expected a map, got text; Items[0]: expected a whole number, got text',
    );
    const alias = z.strictObject({ Values: prop.document() });
    expect(() => parseProperties(alias, { Values: 'a: *Hunter2' })).toThrow(
      /^Values: expected a YAML or JSON document: Unresolved alias \(the anchor must be set before the alias\)$/,
    );
  });
});

describe('resolvePlainScalar: a string as a YAML 1.1 values file reads it unquoted', () => {
  test.each([
    ['false', false],
    ['true', true],
    ['NO', false],
    ['on', true],
    ['y', true],
    ['3', 3],
    ['-7', -7],
    ['0440', 288],
    ['0x1F', 31],
    ['1_000', 1000],
    ['0.5', 0.5],
    ['1.0', 1],
    ['1e3', 1000],
    ['.inf', Infinity],
    ['~', null],
    ['null', null],
  ])('%j → %p', (text, value) => expect(resolvePlainScalar(text)).toBe(value));

  test.each([
    '',
    ' 3',
    '3 ',
    'v1.2',
    '1.2.3',
    'a b',
    '"3"',
    "'3'",
    '3 # c',
    '&a 3',
    '!!str 3',
    '[1]',
    '{a: 1}',
    'a: 1',
    '2001-12-14',
    '12:30:00',
    'a\nb',
    'http://x:80',
  ])('%j stays a string', (text) => expect(resolvePlainScalar(text)).toBe(text));
});
