/**
 * Chart values from the template: `ValuesUrl` (a YAML file in S3) first, then `Values`, as two
 * values files in that order, so helm's own merge decides and `Values` wins key by key, nested
 * maps included — exactly what `helm -f base.yaml -f override.yaml` does by hand.
 *
 * `Values` is written back as YAML 1.1 with every string double-quoted, so helm (go-yaml v2, YAML
 * 1.1) reads back exactly the types the properties hold: the string "NO" stays a string (unquoted
 * it would be false), "0440" stays "0440" (unquoted, octal 288).
 */
import { parse, stringify } from 'yaml';
import { ValuesError } from './errors';
import { awsSources, parseS3Url } from './aws-sources';
import { describeAwsError } from './chart-source';
import type { HelmSession } from './helm-session';

export interface ValuesProps {
  Values?: Record<string, unknown> | unknown[];
  ValuesUrl?: string;
}

/**
 * The text of a values file that helm reads back as exactly `values`.
 *
 * @example
 * valuesFileText({ country: 'NO', replicas: 3 }); // 'country: "NO"\nreplicas: 3\n'
 */
export const valuesFileText = (values: Record<string, unknown>): string =>
  stringify(values, { version: '1.1', defaultStringType: 'QUOTE_DOUBLE' });

/**
 * Writes the values files (0600: values often hold passwords) and returns their paths in order.
 *
 * @example
 * const files = await writeValuesFiles(props, session, ctx.signal);
 */
export async function writeValuesFiles(
  props: ValuesProps,
  session: HelmSession,
  signal?: AbortSignal,
): Promise<string[]> {
  const files: string[] = [];
  if (props.ValuesUrl) {
    const location = parseS3Url(props.ValuesUrl);
    if (!location)
      throw new ValuesError(
        'ValuesUrl',
        `ValuesUrl: expected s3://<bucket>/<key> of a YAML values file, got '${props.ValuesUrl}'`,
      );
    let text: string;
    try {
      text = Buffer.from(await (await awsSources.objects()).get(location, signal)).toString('utf8');
    } catch (error) {
      throw new ValuesError('ValuesUrl', `ValuesUrl: could not read ${props.ValuesUrl}: ${describeAwsError(error)}`, {
        cause: error,
      });
    }
    let parsed: unknown;
    try {
      parsed = parse(text, { prettyErrors: false });
    } catch (error) {
      throw new ValuesError(
        'ValuesUrl',
        `ValuesUrl: ${props.ValuesUrl} is not valid YAML: ${(error as Error).message.split('\n')[0]}`,
      );
    }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new ValuesError(
        'ValuesUrl',
        `ValuesUrl: expected ${props.ValuesUrl} to hold a YAML map of values, got a ${Array.isArray(parsed) ? 'list' : typeof parsed}`,
      );
    }
    files.push(await session.writeFile('values-url.yaml', text));
  }
  if (props.Values !== undefined) {
    if (Array.isArray(props.Values))
      throw new ValuesError('Values', 'Values: expected a map of chart values, got a list');
    files.push(await session.writeFile('values.yaml', valuesFileText(props.Values)));
  }
  return files;
}
