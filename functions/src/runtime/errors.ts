/**
 * An error meant for the person reading the CloudFormation event: its message is the Reason as is.
 * Throw it from a step when you have already said what went wrong and what was expected.
 *
 * @example
 * throw new ResourceError(`Manifest: object 3 (apps/v1 Deployment web) was rejected: ${apiMessage}`);
 */
export class ResourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ResourceError';
  }
}

/** One or more properties failed their schema; the message names each property and what was expected. */
export class PropertyError extends ResourceError {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'PropertyError';
  }
}

/** A short, single-line description of anything thrown, for a Reason. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const text = error.message || error.name;
    return error instanceof ResourceError || error.name === 'Error' ? text : `${error.name}: ${text}`;
  }
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
