// The preview `npm run deploy` shows before it changes anything: a change set with
// IncludeNestedStacks, for a new stack (type CREATE) as for an update, read back level by level so
// a replacement deep in a nested stack (the cluster in EKSStack) is as visible as one at the root.
import {
  CreateChangeSetCommand,
  DescribeChangeSetCommand,
  type Change,
  type CloudFormationClient,
  type DescribeChangeSetCommandOutput,
  type Parameter,
} from '@aws-sdk/client-cloudformation';
import { describeError } from './aws';
import { capabilities } from './s3-layout';

/** One line of the preview. */
export interface ChangeRow {
  /** The root stack's name, or a nested stack's path of logical ids (`EKSStack/AddonsStack`). */
  stack: string;
  /** `Add`, `Modify`, `Remove`, `Import`, `Dynamic`. */
  action: string;
  logicalId: string;
  type: string;
  /** `Yes`, `No`, `Conditional` for Modify; `-` otherwise. */
  replacement: string;
  /** The property names whose change drives the action (Modify only). */
  properties?: string[];
}

/** What {@link createChangeSet} needs. */
export interface ChangeSetRequest {
  stackName: string;
  changeSetName: string;
  type: 'CREATE' | 'UPDATE';
  templateUrl: string;
  parameters: Parameter[];
  tags?: { Key: string; Value: string }[];
  roleArn?: string;
  notificationArns?: string[];
  clientToken: string;
}

/**
 * Creates the change set, nested stacks included. Returns its id and the stack's id (for CREATE,
 * CloudFormation makes the stack now, in REVIEW_IN_PROGRESS).
 */
export async function createChangeSet(
  cfn: Pick<CloudFormationClient, 'send'>,
  req: ChangeSetRequest,
): Promise<{ id: string; stackId?: string }> {
  const created = await cfn.send(
    new CreateChangeSetCommand({
      StackName: req.stackName,
      ChangeSetName: req.changeSetName,
      ChangeSetType: req.type,
      TemplateURL: req.templateUrl,
      Parameters: req.parameters,
      Capabilities: [...capabilities],
      Tags: req.tags,
      RoleARN: req.roleArn,
      NotificationARNs: req.notificationArns,
      IncludeNestedStacks: true,
      Description: 'npm run deploy',
      ClientToken: req.clientToken,
    }),
  );
  return { id: created.Id ?? req.changeSetName, stackId: created.StackId };
}

/** Waits until CloudFormation has computed the change set; returns its final description (first page). */
export async function waitForChangeSet(
  cfn: Pick<CloudFormationClient, 'send'>,
  id: string,
  stackName: string,
  sleep: (ms: number) => Promise<void>,
): Promise<DescribeChangeSetCommandOutput> {
  for (let attempt = 0; ; attempt++) {
    const described = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id, StackName: stackName }));
    if (described.Status !== 'CREATE_PENDING' && described.Status !== 'CREATE_IN_PROGRESS') return described;
    await sleep(Math.min(5_000, 500 * 2 ** attempt));
  }
}

function replacementOf(change: Change): string {
  const r = change.ResourceChange;
  if (r?.Action !== 'Modify') return '-';
  if (r.Replacement === 'True') return 'Yes';
  if (r.Replacement === 'Conditional') return 'Conditional';
  return 'No';
}

/**
 * Every resource change of the change set and of the nested stacks' change sets under it
 * (ResourceChange.ChangeSetId of an AWS::CloudFormation::Stack), in template order, depth first.
 *
 * @example
 * const rows = await collectChanges(cfn, changeSetArn, 'kubecfn');
 * // [{ stack: 'kubecfn', action: 'Modify', logicalId: 'EKSStack', ... }, { stack: 'EKSStack', action: 'Modify', logicalId: 'Cluster', replacement: 'Yes', ... }]
 */
export async function collectChanges(
  cfn: Pick<CloudFormationClient, 'send'>,
  changeSetId: string,
  label: string,
  stackName?: string,
  first?: DescribeChangeSetCommandOutput,
  depth = 0,
): Promise<ChangeRow[]> {
  const changes: Change[] = [];
  let page =
    first ?? (await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: changeSetId, StackName: stackName })));
  changes.push(...(page.Changes ?? []));
  while (page.NextToken) {
    page = await cfn.send(
      new DescribeChangeSetCommand({ ChangeSetName: changeSetId, StackName: stackName, NextToken: page.NextToken }),
    );
    changes.push(...(page.Changes ?? []));
  }
  const rows: ChangeRow[] = [];
  for (const c of changes) {
    const r = c.ResourceChange;
    if (!r) continue;
    const props = (r.Details ?? [])
      .map((d) => d.Target?.Name ?? d.Target?.Attribute)
      .filter((n): n is string => Boolean(n));
    rows.push({
      stack: label,
      action: r.Action ?? '?',
      logicalId: r.LogicalResourceId ?? '',
      type: r.ResourceType ?? '',
      replacement: replacementOf(c),
      ...(props.length ? { properties: [...new Set(props)] } : {}),
    });
    if (r.ResourceType === 'AWS::CloudFormation::Stack' && r.ChangeSetId && depth < 10) {
      const nestedLabel = depth === 0 ? (r.LogicalResourceId ?? '?') : `${label}/${r.LogicalResourceId ?? '?'}`;
      try {
        rows.push(...(await collectChanges(cfn, r.ChangeSetId, nestedLabel, undefined, undefined, depth + 1)));
      } catch (err) {
        rows.push({
          stack: nestedLabel,
          action: '?',
          logicalId: `(nested change set unreadable: ${describeError(err)})`,
          type: '',
          replacement: '-',
        });
      }
    }
  }
  return rows;
}

/**
 * The preview as lines: a header, one line per change, and a summary that calls out replacements
 * and removals (the changes that lose state).
 */
export function formatChanges(rows: ChangeRow[]): string[] {
  if (!rows.length) return ['  (no resource changes: parameter or output changes only)'];
  const w = (key: keyof ChangeRow, min: number) => Math.max(min, ...rows.map((r) => String(r[key] ?? '').length));
  const ws = w('stack', 5);
  const wa = w('action', 6);
  const wl = w('logicalId', 8);
  const wt = w('type', 4);
  const line = (s: string, a: string, l: string, t: string, rep: string, extra = '') =>
    `  ${s.padEnd(ws)}  ${a.padEnd(wa)}  ${l.padEnd(wl)}  ${t.padEnd(wt)}  ${rep}${extra}`.trimEnd();
  const out = [line('STACK', 'ACTION', 'RESOURCE', 'TYPE', 'REPLACEMENT')];
  for (const r of rows) {
    const mark = r.replacement === 'Yes' || r.replacement === 'Conditional' || r.action === 'Remove' ? '!' : ' ';
    out.push(
      `${mark}${line(r.stack, r.action, r.logicalId, r.type, r.replacement, r.properties ? `   (${r.properties.join(', ')})` : '').slice(1)}`,
    );
  }
  const count = (pred: (r: ChangeRow) => boolean) => rows.filter(pred).length;
  const add = count((r) => r.action === 'Add');
  const mod = count((r) => r.action === 'Modify');
  const rem = count((r) => r.action === 'Remove');
  const rep = count((r) => r.replacement === 'Yes');
  const cond = count((r) => r.replacement === 'Conditional');
  out.push(
    `  ${add} to add, ${mod} to modify (${rep} replaced${cond ? `, ${cond} maybe replaced` : ''}), ${rem} to remove.`,
  );
  const lossy = rows.filter((r) => r.replacement === 'Yes' || r.replacement === 'Conditional' || r.action === 'Remove');
  if (lossy.length) {
    out.push(
      `  ! ${lossy.map((r) => `${r.stack}/${r.logicalId}`).join(', ')}: replaced or removed — what it holds is recreated or deleted.`,
    );
  }
  return out;
}
