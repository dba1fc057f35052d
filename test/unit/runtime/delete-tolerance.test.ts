/**
 * Delete after a provider upgrade (issue 13.11): an old stack's properties were valid for the old
 * schema; a stricter schema must not turn its Delete into DELETE_FAILED. Create and Update stay
 * strict; a required property that fails still fails.
 */
import * as z from 'zod';
import {
  createProvider,
  defineResource,
  done,
  outbound,
  parseProperties,
  prop,
  PropertyError,
  type ResponseBody,
} from '../../../functions/src/runtime';
import { cfnEvent, lambdaContext } from '../../helpers/events';

process.env.KUBECFN_LOG_LEVEL = 'SILENT';

/** The schema of today's provider: tighter than the one the stack was created with. */
const schema = z.strictObject({
  Name: prop.string({ minLength: 1, maxLength: 10 }),
  TimeoutSeconds: prop.integer({ min: 1, max: 600 }).default(300),
  Mode: prop.enum(['fast', 'safe']).default('safe'),
  Note: prop.string({ pattern: /^[a-z]+$/ }).optional(),
});

let deleted: Array<z.infer<typeof schema>> = [];
const resource = defineResource({
  type: 'Custom::Tight',
  schema,
  create: async () => done(),
  update: async () => done(),
  delete: async (props) => {
    deleted.push(props);
    return done();
  },
});
const handler = createProvider({
  name: 'TightProvider',
  resources: { 'Custom::Tight': async () => ({ default: resource }) },
});

const real = { ...outbound };
let answers: ResponseBody[];
beforeEach(() => {
  answers = [];
  deleted = [];
  outbound.putResponse = async (_url, body) => (answers.push(JSON.parse(body) as ResponseBody), 200);
});
afterEach(() => Object.assign(outbound, real));

/** Properties an older provider accepted: a property since removed, values since out of bounds. */
const old = { Name: 'web', TimeoutSeconds: 3_000, Mode: 'legacy', Note: 'Has Capitals', Retired: 'yes' };

const send = (requestType: 'Create' | 'Delete', properties: Record<string, unknown>) =>
  handler(
    cfnEvent(requestType, 'Custom::Tight', properties, {
      ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/stack%7CR%7Cid',
    }),
    lambdaContext('TightProvider', 'r1'),
  );

test('Delete of an old stack succeeds: what no longer parses falls back to its default', async () => {
  await send('Delete', old);
  expect(answers).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
  expect(deleted).toEqual([{ Name: 'web', TimeoutSeconds: 300, Mode: 'safe' }]);
});

test('Create stays strict and names every property', async () => {
  await send('Create', old);
  expect(answers).toHaveLength(1);
  expect(answers[0]!.Status).toBe('FAILED');
  expect(answers[0]!.Reason).toMatch(/^Invalid properties for Custom::Tight: .*Retired: unknown property/);
});

test('a required property that fails still fails a Delete', () => {
  expect(() => parseProperties(schema, { Name: 'far-too-long-a-name' }, { lenient: true })).toThrow(PropertyError);
  const ignored: string[][] = [];
  expect(parseProperties(schema, old, { lenient: true, onIgnored: (p) => ignored.push(p) })).toEqual({
    Name: 'web',
    TimeoutSeconds: 300,
    Mode: 'safe',
  });
  expect(ignored[0]).toEqual(
    expect.arrayContaining(['TimeoutSeconds: expected a whole number ≤ 600', 'Mode: expected one of fast | safe']),
  );
});
