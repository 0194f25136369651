import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an npm script the way a user does, with extra environment and optional stdin. npm runs
 * with --silent (as `npm run -s …`), so stdout holds the script's output without npm's
 * "> script" banner. */
export function runNpm(args: string[], options: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, TELEGRAM_BOT_TOKEN: '', LLM_BASE_URL: '', LLM_API_KEY: '', LLM_MODEL: '', ...options.env };
    const child = spawn('npm', ['--silent', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
