// `npm run deploy`: create the stack, or update it through a change set, then watch it settle.
// An update that changes nothing is success ("no changes"), as with `aws cloudformation deploy`.
import {
  CreateChangeSetCommand,
  CreateStackCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  ExecuteChangeSetCommand,
  GetTemplateSummaryCommand,
  type Change,
  type CloudFormationClient,
  type Parameter,
} from '@aws-sdk/client-cloudformation';
import { randomUUID } from 'node:crypto';
import { describeError } from './aws';
import { capabilities } from './s3-layout';
import {
  sleepReal,
  snapshotStackTree,
  watchAndReport,
  type StackApi,
  type StackSummary,
  type WatchOptions,
} from './stack-progress';

/** Options for {@link deployStack}. */
/** Progress display settings, as the watcher takes them. */
export interface DeployOptions extends Pick<
  WatchOptions,
  'print' | 'color' | 'pollIntervalMs' | 'timeoutMs' | 'sleep'
> {
  /** For the writes (CreateStack, change sets). */
  cfn: Pick<CloudFormationClient, 'send'>;
  /** For the reads the progress display makes. */
  api: StackApi;
  stackName: string;
  /** The stack as it is now (undefined when it does not exist). */
  existing: StackSummary | undefined;
  /** https URL of the root template. */
  templateUrl: string;
  /** Parameter values to set; other parameters keep their current value (update) or default (create). */
  parameters: Record<string, string>;
  /** Stack tags; on update, omitted means "keep the current tags". */
  tags?: Record<string, string>;
  /** Keep what was created when the operation fails, for debugging. Default false. */
  disableRollback?: boolean;
}

// CloudFormation's two ways of saying an update would change nothing.
const noChanges = /didn't contain changes|No updates are to be performed/i;

/** Stack states an update cannot start from, with what to do instead. */
function blockedReason(stack: StackSummary): string | undefined {
  const { status, stackName } = stack;
  if (['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'CREATE_FAILED', 'DELETE_FAILED'].includes(status)) {
    return `stack ${stackName} is ${status} and cannot be updated; delete it first: npm run destroy -- --stack-name ${stackName}`;
  }
  if (status === 'UPDATE_ROLLBACK_FAILED') {
    return `stack ${stackName} is UPDATE_ROLLBACK_FAILED; finish the rollback first: aws cloudformation continue-update-rollback --stack-name ${stackName}`;
  }
  if (status === 'REVIEW_IN_PROGRESS') {
    return `stack ${stackName} is REVIEW_IN_PROGRESS (a change set was created but never executed); delete it first: npm run destroy -- --stack-name ${stackName}`;
  }
  if (status.endsWith('_IN_PROGRESS')) return `stack ${stackName} is busy (${status}); wait until it settles`;
  return undefined;
}

function describeChange(c: Change): string {
  const r = c.ResourceChange;
  if (!r) return `  ${c.Type ?? 'change'}`;
  const replacement =
    r.Action === 'Modify' && r.Replacement && r.Replacement !== 'False' ? ` (replacement: ${r.Replacement})` : '';
  return `  ${(r.Action ?? '?').padEnd(7)} ${(r.LogicalResourceId ?? '').padEnd(28)} ${r.ResourceType ?? ''}${replacement}`;
}

/**
 * Creates the stack, or updates it through a change set, and prints live progress for it and every
 * nested stack until it settles. Returns the exit code: 0 on CREATE_COMPLETE / UPDATE_COMPLETE or
 * when there is nothing to change, 1 on failure or rollback (after printing the root causes).
 * Throws when CloudFormation refuses the request itself (bad template, unknown parameter, ...).
 *
 * @example
 * const cfn = cloudFormationClient('us-east-1');
 * const api = cloudFormationStackApi(cfn);
 * const code = await deployStack({
 *   cfn, api, stackName: 'kubecfn', existing: await api.describeStack('kubecfn'),
 *   templateUrl: 'https://my-bucket.s3.us-east-1.amazonaws.com/kubecfn/templates/kubecfn-entrypoint-new-vpc.template.yaml',
 *   parameters: { QSS3BucketName: 'my-bucket', QSS3KeyPrefix: 'kubecfn/', QSS3BucketRegion: 'us-east-1' },
 *   print: console.log,
 * });
 */
export async function deployStack(opts: DeployOptions): Promise<number> {
  const { cfn, api, stackName, existing, templateUrl, print } = opts;
  const sleep = opts.sleep ?? sleepReal;
  if (existing) {
    const blocked = blockedReason(existing);
    if (blocked) throw new Error(blocked);
  }

  let summary;
  try {
    summary = await cfn.send(new GetTemplateSummaryCommand({ TemplateURL: templateUrl }));
  } catch (err) {
    throw new Error(
      `cannot read the template at ${templateUrl} (${describeError(err)}); was it published there with npm run publish?`,
    );
  }
  const declared = (summary.Parameters ?? []).map((p) => p.ParameterKey ?? '');
  const noEcho = new Set((summary.Parameters ?? []).filter((p) => p.NoEcho).map((p) => p.ParameterKey));
  const unknown = Object.keys(opts.parameters).filter((k) => !declared.includes(k));
  if (unknown.length) {
    throw new Error(
      `the template declares no parameter ${unknown.join(', ')} (it declares: ${declared.join(', ') || 'none'})`,
    );
  }

  const parameters: Parameter[] = [];
  for (const key of declared) {
    if (key in opts.parameters) parameters.push({ ParameterKey: key, ParameterValue: opts.parameters[key] });
    // As `aws cloudformation deploy`: what the command line leaves out keeps its current value.
    else if (existing && key in existing.parameters) parameters.push({ ParameterKey: key, UsePreviousValue: true });
  }
  const tags = opts.tags && Object.entries(opts.tags).map(([Key, Value]) => ({ Key, Value }));
  print(`Template: ${templateUrl}`);
  for (const p of parameters) {
    const value = p.UsePreviousValue ? '(unchanged)' : noEcho.has(p.ParameterKey) ? '****' : p.ParameterValue;
    print(`  ${p.ParameterKey} = ${value}`);
  }

  // One token for this run's request: the SDK retries a request after a throttle or a server
  // error, and CloudFormation recognises the retry by it instead of refusing a second create.
  const clientRequestToken = `kubecfn-deploy-${randomUUID()}`;
  const watch = {
    rootName: stackName,
    print,
    color: opts.color,
    pollIntervalMs: opts.pollIntervalMs,
    timeoutMs: opts.timeoutMs,
    sleep: opts.sleep,
  };

  if (!existing) {
    let stackId: string | undefined;
    try {
      stackId = (
        await cfn.send(
          new CreateStackCommand({
            StackName: stackName,
            TemplateURL: templateUrl,
            Parameters: parameters,
            Capabilities: [...capabilities],
            DisableRollback: opts.disableRollback,
            Tags: tags,
            ClientRequestToken: clientRequestToken,
          }),
        )
      ).StackId;
    } catch (err) {
      const retried = ((err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) > 1;
      const hint =
        retried && /AlreadyExists/.test(describeError(err))
          ? ` (it did not exist when deploy started: the first attempt of this request failed on the server after creating it; look at its events, then npm run destroy -- --stack-name ${stackName})`
          : '';
      throw new Error(`CloudFormation refused to create stack ${stackName}: ${describeError(err)}${hint}`);
    }
    if (!stackId) throw new Error(`CreateStack for ${stackName} returned no stack id`);
    print(`\nCreating stack ${stackName} (${stackId})\n`);
    return watchAndReport(api, { ...watch, rootStackId: stackId, expected: 'CREATE_COMPLETE' });
  }

  const snapshot = await snapshotStackTree(api, existing.stackId);
  const changeSetName = `kubecfn-deploy-${new Date().toISOString().replace(/[-:.]/g, '').replace(/Z$/, 'z')}`;
  let changeSetId: string;
  try {
    const created = await cfn.send(
      new CreateChangeSetCommand({
        StackName: stackName,
        ChangeSetName: changeSetName,
        ChangeSetType: 'UPDATE',
        TemplateURL: templateUrl,
        Parameters: parameters,
        Capabilities: [...capabilities],
        Tags: tags,
        Description: 'npm run deploy',
        ClientToken: clientRequestToken,
      }),
    );
    changeSetId = created.Id ?? changeSetName;
  } catch (err) {
    if (noChanges.test(describeError(err))) {
      print(`\nNo changes: stack ${stackName} is already up to date.`);
      return 0;
    }
    throw new Error(`CloudFormation refused the change set for ${stackName}: ${describeError(err)}`);
  }

  // Wait for the change set to be computed.
  let described;
  for (let attempt = 0; ; attempt++) {
    described = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: changeSetId, StackName: stackName }));
    if (described.Status !== 'CREATE_PENDING' && described.Status !== 'CREATE_IN_PROGRESS') break;
    await sleep(Math.min(5_000, 500 * 2 ** attempt));
  }
  if (described.Status === 'FAILED') {
    await cfn
      .send(new DeleteChangeSetCommand({ ChangeSetName: changeSetId, StackName: stackName }))
      .catch(() => undefined);
    if (noChanges.test(described.StatusReason ?? '')) {
      print(`\nNo changes: stack ${stackName} is already up to date.`);
      return 0;
    }
    throw new Error(`the change set for ${stackName} failed: ${described.StatusReason ?? 'no reason given'}`);
  }

  const changes: Change[] = [...(described.Changes ?? [])];
  for (let token = described.NextToken; token;) {
    const page = await cfn.send(
      new DescribeChangeSetCommand({ ChangeSetName: changeSetId, StackName: stackName, NextToken: token }),
    );
    changes.push(...(page.Changes ?? []));
    token = page.NextToken;
  }
  print(
    `\nUpdating stack ${stackName} through change set ${changeSetName}: ${changes.length ? `${changes.length} resource change(s)` : 'parameter changes only'}`,
  );
  for (const c of changes) print(describeChange(c));
  print('');
  try {
    await cfn.send(
      new ExecuteChangeSetCommand({
        ChangeSetName: changeSetId,
        StackName: stackName,
        DisableRollback: opts.disableRollback,
        ClientRequestToken: clientRequestToken,
      }),
    );
  } catch (err) {
    throw new Error(`CloudFormation refused to execute change set ${changeSetName}: ${describeError(err)}`);
  }
  return watchAndReport(api, { ...watch, rootStackId: existing.stackId, snapshot, expected: 'UPDATE_COMPLETE' });
}
