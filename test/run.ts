// `npm test`: runs every test file with node's test runner. A file that starts with a line
// `// needs: model` runs only where that need can be met; elsewhere it is skipped, and one line
// at the end says how to enable it. With TEST_REQUIRE_ALL=1 (.ci/run) a missing need fails the
// run instead, so CI never passes on a suite that skipped something.
//   npm test                        every file
//   npm test -- test/unit/x.test.ts only these files
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { LocalEmbeddings, locateModel } from '../src/index/embeddings.ts';
import { installProxy } from '../src/net/proxy.ts';

/** Per test; a file's own set-up (an index build at the top of a file) is bounded by the run. */
const TEST_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS ?? 180_000);
const RUN_DEADLINE_MS = Number(process.env.TEST_DEADLINE_MS ?? 20 * 60_000);
/** A first download of the model (~25 MB) gets this long before the model tests are skipped. */
const DOWNLOAD_TIMEOUT_MS = 180_000;

type Check = { ok: true; env?: Record<string, string> } | { ok: false; reason: string; enable: string };

const checks: Record<string, () => Promise<Check>> = { model: checkModel, postgres: checkPostgres };
/** Run before the runner exits: a throwaway Postgres cluster is stopped and deleted. */
const cleanups: (() => void)[] = [];

/** Tests that need PostgreSQL with pgvector get TEST_DATABASE_URL: a throwaway cluster that
 * scripts/postgres.sh starts and stops, or one the developer names (never DATABASE_URL, which may
 * be a real database). */
async function checkPostgres(): Promise<Check> {
  const enable = 'run `sudo bash scripts/postgres.sh install` (PostgreSQL 15 with pgvector), or set TEST_DATABASE_URL to a throwaway PostgreSQL that has pgvector';
  if (process.env.TEST_DATABASE_URL) return { ok: true };
  const major = process.env.PG_MAJOR ?? '15';
  if (!existsSync(`/usr/lib/postgresql/${major}/bin/initdb`)) return { ok: false, reason: `PostgreSQL ${major} is not installed`, enable };
  if (!existsSync(`/usr/share/postgresql/${major}/extension/vector.control`)) return { ok: false, reason: `pgvector is not installed for PostgreSQL ${major}`, enable };
  const dir = path.join(os.tmpdir(), `newsbot-test-pg-${process.pid}`);
  try {
    const url = execFileSync('bash', ['scripts/postgres.sh', 'start', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    cleanups.push(() => execFileSync('bash', ['scripts/postgres.sh', 'stop', dir], { stdio: 'ignore' }));
    return { ok: true, env: { TEST_DATABASE_URL: url } };
  } catch (error) {
    const why = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n')[0];
    return { ok: false, reason: `a throwaway cluster did not start (${why}; see ${dir})`, enable };
  }
}

async function checkModel(): Promise<Check> {
  const model = process.env.EMBEDDING_MODEL || 'Xenova/bge-small-zh-v1.5';
  // The tests ignore .env (a developer's token must not reach them), but its model folder is
  // where this machine keeps the model, so it counts here.
  const fromDotenv = process.env.EMBEDDING_MODEL_PATH ? undefined : dotenvValue('EMBEDDING_MODEL_PATH');
  const modelPath = process.env.EMBEDDING_MODEL_PATH || fromDotenv;
  const env = modelPath ? { EMBEDDING_MODEL_PATH: path.resolve(modelPath) } : undefined;
  const source = locateModel(model, modelPath && path.resolve(modelPath));
  const enable = `set EMBEDDING_MODEL_PATH to a folder holding ${model}/ (e.g. EMBEDDING_MODEL_PATH=/path/to/models npm test), or run npm test once online to download it`;
  if (source.complete) return { ok: true, env };
  if (source.kind === 'path') return { ok: false, reason: `EMBEDDING_MODEL_PATH=${modelPath} has no complete ${model}`, enable };
  process.stderr.write(`The embedding model is not in ${source.dir}: trying to download ${model} (up to ${DOWNLOAD_TIMEOUT_MS / 1000} s)…\n`);
  installProxy(); // HTTPS_PROXY etc., as the app honours them
  const embedder = new LocalEmbeddings({ model });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${DOWNLOAD_TIMEOUT_MS / 1000} s`)), DOWNLOAD_TIMEOUT_MS);
  });
  try {
    await Promise.race([embedder.load(), timeout]);
    return { ok: true };
  } catch (error) {
    // The app's message ends with the remedy; the runner prints its own.
    return { ok: false, reason: (error as Error).message.split(' Offline?')[0].replace(/\.$/, ''), enable };
  } finally {
    clearTimeout(timer);
  }
}

function dotenvValue(name: string): string | undefined {
  try {
    return dotenv.parse(readFileSync('.env'))[name] || undefined;
  } catch {
    return undefined;
  }
}

/** `// needs: model, postgres` in a file's first lines. */
function needsOf(file: string): string[] {
  const head = readFileSync(file, 'utf8').split('\n', 5).join('\n');
  const match = /^\/\/ needs: (.+)$/m.exec(head);
  return match ? match[1].split(',').map((s) => s.trim()).filter(Boolean) : [];
}

function allTestFiles(): string[] {
  return readdirSync('test', { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(path.join('test', d.name)).filter((f) => f.endsWith('.test.ts')).map((f) => path.join('test', d.name, f)))
    .sort();
}

async function main(): Promise<number> {
  const files = process.argv.slice(2).length ? process.argv.slice(2) : allTestFiles();
  const wanted = [...new Set(files.flatMap(needsOf))];
  const unknown = wanted.filter((need) => !checks[need]);
  if (unknown.length) throw new Error(`Unknown need in a test file: ${unknown.join(', ')} (known: ${Object.keys(checks).join(', ')})`);
  const results = new Map<string, Check>();
  for (const need of wanted) results.set(need, await checks[need]());

  const missing = [...results].filter(([, r]) => !r.ok) as [string, Extract<Check, { ok: false }>][];
  if (missing.length && process.env.TEST_REQUIRE_ALL === '1') {
    for (const [need, r] of missing) process.stderr.write(`TEST_REQUIRE_ALL=1 but the ${need} tests cannot run: ${r.reason}. To fix: ${r.enable}.\n`);
    return 1;
  }
  const runnable = files.filter((file) => needsOf(file).every((need) => results.get(need)?.ok));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const r of results.values()) if (r.ok) Object.assign(env, r.env);
  const code = runnable.length ? await runNodeTests(runnable, env) : 0;
  for (const [need, r] of missing) {
    const skipped = files.filter((file) => needsOf(file).includes(need));
    process.stdout.write(`\nSkipped ${skipped.length} test files that need the ${need === 'model' ? 'embedding model' : 'PostgreSQL with pgvector'} (${r.reason}). To run them: ${r.enable}.\n`);
  }
  return code;
}

function runNodeTests(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = ['--import', 'tsx', '--test', '--test-concurrency=1', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files];
  // Its own process group, so that the deadline or Ctrl-C reaches every test process and what
  // they started (npm, bots), not just the runner.
  const child = spawn(process.execPath, args, { env, stdio: 'inherit', detached: true });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const deadline = setTimeout(() => {
    process.stderr.write(`\nThe test run passed its ${RUN_DEADLINE_MS / 60_000}-minute deadline: stopping it (TEST_DEADLINE_MS changes the limit).\n`);
    signalGroup('SIGKILL');
  }, RUN_DEADLINE_MS);
  const forward = (signal: NodeJS.Signals) => signalGroup(signal);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

// exit() rather than exitCode: a model download that timed out may still hold the event loop.
const code = await main().catch((error) => {
  process.stderr.write(`${(error as Error).message}\n`);
  return 1;
});
for (const cleanup of cleanups) {
  try {
    cleanup();
  } catch {
    // best effort: a stopped cluster's folder is under the system's temp folder
  }
}
process.exit(code);
