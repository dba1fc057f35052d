// Asking before a command changes or deletes something: only on a terminal. Without one (CI, a
// pipe) there is nobody to answer, so the commands refuse unless --yes says the answer up front.
import { createInterface } from 'node:readline/promises';

/** Asks `question` and resolves to the trimmed answer. */
export type Ask = (question: string) => Promise<string>;

/** True when a person can answer: stdin and stderr (where the question goes) are terminals. */
export function canAsk(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

/**
 * Asks on the terminal (question on stderr, so `--output json` keeps stdout clean).
 *
 * @example
 * const answer = await askOnTerminal('Execute this change set? [y/N] ');
 */
export const askOnTerminal: Ask = async (question) => {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // Ctrl-C at the prompt answers no (readline would otherwise only pause).
  rl.on('SIGINT', () => rl.close());
  try {
    return (await rl.question(question)).trim();
  } catch {
    return ''; // stdin closed (Ctrl-D): no
  } finally {
    rl.close();
  }
};

/** `y` or `yes`, in any case. */
export const isYes = (answer: string) => /^(y|yes)$/i.test(answer.trim());
