/**
 * The helm layer's errors: one family under {@link HelmError}. Each names itself and carries its
 * data. Those about a property (the chart's source, the values) say which property and what was
 * expected, in words meant for the CloudFormation event; the resources turn them into Reasons
 * (resources/cluster-errors.ts). Nothing here knows about CloudFormation.
 */

/** Base of every error the helm layer throws on purpose. */
export class HelmError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HelmError';
  }
}

/** How much of helm's stderr a Reason carries: its last lines hold the error. */
const STDERR_TAIL = 1500;

/** helm exited non-zero (or could not start); `stderrTail` is what a Reason quotes. */
export class HelmCommandError extends HelmError {
  constructor(
    /** The helm sub-command, e.g. `upgrade`, for messages. */
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly signal: NodeJS.Signals | null = null,
  ) {
    super(
      `helm ${command} ${signal ? `was killed (${signal})` : exitCode === null ? 'could not run' : `exited with ${exitCode}`}: ${tail(stderr) || '(no output)'}`,
    );
    this.name = 'HelmCommandError';
  }

  /** helm's own words: the end of stderr, one line per message, `Error: ` prefixes kept. */
  get stderrTail(): string {
    return tail(this.stderr);
  }
}

/** The last {@link STDERR_TAIL} characters of helm's stderr, trimmed to whole lines where possible. */
export function tail(stderr: string): string {
  const text = stderr.trim();
  if (text.length <= STDERR_TAIL) return text;
  const cut = text.slice(-STDERR_TAIL);
  const newline = cut.indexOf('\n');
  return `…${newline >= 0 && newline < 200 ? cut.slice(newline + 1) : cut}`;
}

/**
 * The chart cannot be had as the properties describe it: `Chart`, `Repository` and `Version` do
 * not make sense together, or the chart could not be fetched (S3, an ECR login, a packaged path).
 * The message starts with the property at fault.
 */
export class ChartSourceError extends HelmError {
  constructor(
    /** The property at fault. */
    readonly property: 'Chart' | 'Repository' | 'Version' | 'RepositorySecretArn' | 'RepositoryCaBundle',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ChartSourceError';
  }
}

/** The chart values cannot be used: `ValuesUrl` unreadable or not a YAML map, `Values` a list. */
export class ValuesError extends HelmError {
  constructor(
    /** The property at fault. */
    readonly property: 'Values' | 'ValuesUrl',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ValuesError';
  }
}
