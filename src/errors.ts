// Errors that carry their remedy. Entry points print their message (never a stack trace) and
// exit; anything else is a bug and is reported as one.
import { ConfigError } from './config.ts';

/** A problem the operator can fix; the message says how. */
export class OperatorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperatorError';
  }
}

export function isOperatorError(error: unknown): error is Error {
  return error instanceof OperatorError || error instanceof ConfigError;
}

/** Runs a CLI entry point: operator errors print their message and exit 1, bugs exit 2. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  // `npm run articles | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
  });
  try {
    await main();
  } catch (error) {
    if (isOperatorError(error)) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`Unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
      if (process.env.DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
      process.exitCode = 2;
    }
  }
}
