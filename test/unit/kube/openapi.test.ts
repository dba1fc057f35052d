import { typeBySchema, type JsonSchema } from '../../../functions/src/kube/openapi';

const doc = {
  components: {
    schemas: {
      IntOrString: { format: 'int-or-string', oneOf: [{ type: 'integer' }, { type: 'string' }] } as JsonSchema,
      Quantity: { oneOf: [{ type: 'string' }, { type: 'number' }] } as JsonSchema,
      Spec: {
        type: 'object',
        properties: {
          replicas: { type: 'integer' },
          mode: { type: 'integer' },
          ratio: { type: 'number' },
          paused: { type: 'boolean' },
          port: { allOf: [{ $ref: '#/components/schemas/IntOrString' }] },
          cpu: { $ref: '#/components/schemas/Quantity' },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          list: { type: 'array', items: { type: 'integer' } },
        },
      } as JsonSchema,
    },
  },
};

test('strings typed where the schema wants another type; everything else kept', () => {
  const given = {
    replicas: '2',
    mode: '0440',
    ratio: '0.5',
    paused: 'false',
    port: '6379',
    cpu: '500m',
    labels: { tier: '1' },
    free: { n: '7' },
    list: ['1', 'x'],
    unknown: '3',
  };
  expect(typeBySchema(given, { $ref: '#/components/schemas/Spec' }, doc)).toEqual({
    replicas: 2,
    mode: 0o440,
    ratio: 0.5,
    paused: false,
    port: 6379,
    cpu: '500m',
    labels: { tier: '1' },
    free: { n: '7' },
    list: [1, 'x'],
    unknown: '3',
  });
  expect(typeBySchema({ port: 'http', replicas: 'two', paused: 'yes' }, doc.components.schemas.Spec, doc)).toEqual({
    port: 'http',
    replicas: 'two',
    paused: 'yes',
  });
  expect(given.replicas).toBe('2'); // the input is left as it is
});

test("a CRD's int-or-string (anyOf with x-kubernetes-int-or-string)", () => {
  const schema: JsonSchema = {
    type: 'object',
    properties: { port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] } },
  };
  expect(typeBySchema({ port: '8080' }, schema)).toEqual({ port: 8080 });
  expect(typeBySchema({ port: '25%' }, schema)).toEqual({ port: '25%' });
});
