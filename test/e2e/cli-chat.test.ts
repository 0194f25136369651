// needs: model
// npm run chat, left running, answers from the build another process's `npm run reindex` swaps
// in (as the bot does), and /quit ends it even with its input still open.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { seedCorpus } from '../helpers/corpus.ts';
import { runNpm } from '../helpers/run.ts';

const corpus = seedCorpus();
const NEW_PAGE_FILE = '900_qinghe.txt';
const NEW_PAGE = `青禾市总工会建成37座暖蜂驿站 快递员歇脚有了好去处

本报讯（记者林晓禾）记者日前从青禾市总工会获悉，该市总工会今年为快递员、外卖骑手等新就业形态劳动者建成了37座“暖蜂驿站”，每座驿站配备饮水机、微波炉和充电柜。

青禾市总工会有关负责人介绍，“暖蜂驿站”全年累计服务新就业形态劳动者超过12万人次。
`;
const QUESTION = '青禾市总工会为快递员建成了多少座暖蜂驿站？';
const env = {
  ...process.env,
  ...corpus.env,
  TELEGRAM_BOT_TOKEN: '',
  LLM_BASE_URL: '',
  LLM_API_KEY: '',
  LLM_MODEL: '',
  LOG_LEVEL: 'info', // "Index … loaded" on stderr says when the chat has reloaded
  INDEX_WATCH_MS: '300',
};

// Its own process group, so that npm, the shell and node are killed together if the test fails.
const chat = spawn('npm', ['run', '-s', 'chat'], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
let stdout = '';
let stderr = '';
chat.stdout.on('data', (d) => (stdout += d));
chat.stderr.on('data', (d) => (stderr += d));
const exited = new Promise<number | null>((resolve) => chat.on('close', (code) => resolve(code)));
after(() => {
  chat.stdin.destroy();
  if (chat.exitCode === null && chat.signalCode === null) {
    try {
      process.kill(-chat.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

async function waitFor(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    const ended = chat.exitCode !== null || chat.signalCode !== null;
    assert.ok(!ended && Date.now() < deadline, `${ended ? 'the chat ended' : 'timed out'} waiting for ${what}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Asks and returns the answer: the text between the echoed question and the echo of the /help
 * sent right after it (the chat takes lines in order, so the answer is complete by then). */
async function ask(question: string): Promise<string> {
  const from = stdout.length;
  chat.stdin.write(`${question}\n/help\n`);
  const start = `问> ${question}\n`;
  await waitFor(`the answer to ${question}`, () => stdout.indexOf('问> /help\n', from) > stdout.indexOf(start, from) && stdout.includes(start, from), 60_000);
  return stdout.slice(stdout.indexOf(start, from) + start.length, stdout.indexOf('问> /help\n', from));
}

const loads = () => stderr.match(/INFO  Index \S+ loaded/g)?.length ?? 0;

test('npm run chat picks up a reindex made by another process, then /quit ends it', { timeout: 240_000 }, async () => {
  await waitFor('the chat to start', () => stdout.includes('例如：'), 120_000);
  assert.match(stdout, /已收录 5 个版面、49 篇报道/);
  assert.equal(loads(), 1, stderr);

  const before = await ask(QUESTION);
  assert.doesNotMatch(before, /37座/, 'the new page is not indexed yet');
  assert.ok(!before.includes(NEW_PAGE_FILE), before);

  writeFileSync(path.join(corpus.corpusDir, NEW_PAGE_FILE), NEW_PAGE);
  const reindex = await runNpm(['run', 'reindex'], { env: corpus.env, timeoutMs: 120_000 });
  assert.equal(reindex.code, 0, reindex.stderr);
  assert.match(reindex.stdout, /Indexed 6 pages/);
  await waitFor('the chat to reload the new build', () => loads() === 2, 20_000);

  const afterReload = await ask(QUESTION);
  assert.match(afterReload, /37座/);
  assert.ok(afterReload.includes(NEW_PAGE_FILE), afterReload);

  chat.stdin.write('/quit\n'); // stdin stays open: /quit alone must end the process
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 20_000)))]);
  clearTimeout(timer);
  assert.equal(outcome, 0, `the chat did not exit by itself after /quit\nstderr:\n${stderr}`);
  assert.match(stdout, /再见。\n$/);
  assert.doesNotMatch(stdout + stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
});
