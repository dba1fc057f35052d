import { redactEvent, redactString } from '../../../functions/src/runtime';
import { cfnEvent } from '../../helpers/events';

test('credentials in a URL never reach a log line (issue 13.8)', () => {
  const event = cfnEvent(
    'Update',
    'Custom::HelmRelease',
    { Repository: 'https://bot:s3cret@charts.example/stable', Values: { password: 'p' } },
    {
      ResponseURL:
        'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/stack%7CR%7Cid?X-Amz-Signature=abc',
      OldResourceProperties: { Repository: 'oci://u:p@registry.example/charts' },
    },
  );
  const logged = JSON.stringify(redactEvent(event, ['Values']));
  expect(logged).not.toMatch(/s3cret|bot:|u:p@|X-Amz-Signature=abc/);
  expect(logged).toContain('https://****@charts.example/stable');
  expect(logged).toContain('oci://****@registry.example/charts');
  expect(redactString('no credentials: https://charts.example/a@b')).toBe('no credentials: https://charts.example/a@b');
});

test('test events carry every scalar as a string, at every depth, as CloudFormation sends them (issue 9.1)', () => {
  const event = cfnEvent(
    'Update',
    'Custom::X',
    { Replicas: 2, Values: { enabled: false, ratio: 0.5, list: [1, true, null, 'a'] } },
    { ResponseURL: 'https://r', OldResourceProperties: { Replicas: 1 } },
  );
  expect(event.ResourceProperties).toMatchObject({
    Replicas: '2',
    Values: { enabled: 'false', ratio: '0.5', list: ['1', 'true', null, 'a'] },
  });
  expect(event.OldResourceProperties).toEqual({ Replicas: '1' });
});
