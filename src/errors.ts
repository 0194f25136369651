// Errors that carry their remedy. Entry points print their message (never a stack trace) and
// exit; anything else is a bug and is reported as one.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './config.ts';

/** What went wrong, for callers that answer differently per cause (the bot tells an admin in
 * Chinese); the message stays the operator's English remedy. */
export type OperatorErrorCode = 'FOLDER_NOT_WRITABLE' | 'FOLDER_NOT_READABLE' | 'FOLDER_READ_ONLY' | 'NOT_A_FOLDER' | 'DISK_FULL' | 'NETWORK_UNREACHABLE' | 'CORPUS_MOSTLY_MISSING';

/** Exit codes: 1 an operator mistake (a restart cannot fix it), 75 (EX_TEMPFAIL) a network that
 * may come back (at boot, before the proxy is up: a service manager should retry), 2 a bug. */
export const EXIT_OPERATOR = 1;
export const EXIT_TEMPORARY = 75;
export const EXIT_BUG = 2;

/** A problem the operator can fix; the message says how. */
export class OperatorError extends Error {
  constructor(
    message: string,
    readonly code?: OperatorErrorCode,
  ) {
    super(message);
    this.name = 'OperatorError';
  }
}

/** A configured folder and what the failed operation needed from it. */
export interface FolderUse {
  dir: string;
  need: 'read' | 'write';
}

/** Turns a file-system error inside one of the configured folders (keyed by their variable,
 * e.g. INDEX_DIR) into an OperatorError naming the variable, the folder and the fix. Any other
 * error is returned as it is. */
export function explainFolderError(error: unknown, folders: Record<string, FolderUse>): unknown {
  const e = error as NodeJS.ErrnoException;
  if (!e || typeof e.code !== 'string' || typeof e.path !== 'string') return error;
  const inside = (dir: string, p: string) => p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep) || dir.startsWith(p + path.sep);
  const match = Object.entries(folders).find(([, use]) => inside(use.dir, path.resolve(e.path!)));
  if (!match) return error;
  const [variable, { dir, need }] = match;
  const what = `${e.syscall ?? 'access'} ${e.path}: ${e.code}`;
  switch (e.code) {
    case 'EACCES':
    case 'EPERM': {
      const user = currentUser();
      const verb = need === 'write' ? 'writable' : 'readable';
      const name = user.split(' ')[0];
      // A folder that does not exist yet is created by its owner: say how, not chown.
      const fix = existsSync(dir) ? `sudo chown -R ${name} ${dir}` : `sudo install -d -o ${name} ${dir}`;
      return new OperatorError(
        `${variable}=${dir} is not ${verb} by the user running the bot (${user}; ${what}). Give that user ${need} permission, e.g. \`${fix}\`, or point ${variable} at a folder it can ${need}.`,
        need === 'write' ? 'FOLDER_NOT_WRITABLE' : 'FOLDER_NOT_READABLE',
      );
    }
    case 'EROFS':
      return new OperatorError(
        `${variable}=${dir} is on a read-only file system (${what}). Point ${variable} at a writable folder (in Docker, mount a volume there; under systemd, list it in ReadWritePaths=).`,
        'FOLDER_READ_ONLY',
      );
    case 'ENOTDIR':
    case 'EEXIST':
      if (e.code === 'EEXIST' && e.syscall !== 'mkdir') return error;
      return new OperatorError(`${variable}=${dir} must be a folder, but ${e.path} or a folder above it is a file (${what}). Point ${variable} at a folder, or move that file away.`, 'NOT_A_FOLDER');
    case 'ENOSPC':
    case 'EDQUOT':
      return new OperatorError(`The disk holding ${variable}=${dir} is full (${what}). Free some space there, or point ${variable} at a larger disk.`, 'DISK_FULL');
    default:
      return error;
  }
}

function currentUser(): string {
  try {
    const { username, uid } = os.userInfo();
    return `${username} uid ${uid}`;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

export function isOperatorError(error: unknown): error is Error {
  return error instanceof OperatorError || error instanceof ConfigError;
}

/** Bot tokens in URLs (…/bot123:ABC…/getMe) and proxy passwords never reach logs or the terminal. */
export function redactSecrets(text: string): string {
  return text.replace(/bot\d+:[\w-]{20,}/g, 'bot<token>').replace(/(\/\/)[^\s/@]*:[^\s/@]*@/g, '$1***@');
}

/** Runs a CLI entry point: operator errors print their message and exit 1 (75 for a network that
 * may come back), bugs exit 2. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  // `npm run articles | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
  });
  try {
    await main();
  } catch (error) {
    if (isOperatorError(error)) {
      process.stderr.write(`${redactSecrets(error.message)}\n`);
      process.exitCode = (error as OperatorError).code === 'NETWORK_UNREACHABLE' ? EXIT_TEMPORARY : EXIT_OPERATOR;
    } else {
      process.stderr.write(`Unexpected error: ${redactSecrets(error instanceof Error ? error.message : String(error))}\n`);
      if (process.env.DEBUG) process.stderr.write(`${redactSecrets((error as Error)?.stack ?? '')}\n`);
      process.exitCode = EXIT_BUG;
    }
  }
}
