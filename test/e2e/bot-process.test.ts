// needs: model
// npm start with a token, as an operator runs it: long polling, then SIGTERM finishes cleanly.
// And webhook mode: Telegram's secret-token header is checked.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { INTERRUPTED_REINDEX, startBot } from '../../src/bot/run.ts';
import { createServices } from '../../src/cli/shared.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { botEnv, startTelegram } from '../helpers/telegram.ts';
import { seedCorpus } from '../helpers/corpus.ts';
import { freePort } from '../helpers/port.ts';

const corpus = seedCorpus();
const telegram = await startTelegram();
after(() => telegram.stop());


/** Starts the bot as a child in its own process group (signalled as a whole, like Ctrl-C or
 * systemd do) and waits until it polls. */
async function startBotProcess(command: string, args: string[], extraEnv: Record<string, string> = {}) {
  const child = spawn(command, args, {
    env: { ...process.env, ...botEnv(telegram.apiRoot), ...corpus.env, LOG_LEVEL: 'info', LLM_BASE_URL: '', LLM_API_KEY: '', LLM_MODEL: '', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (!/polling for updates/.test(log)) {
    assert.ok(Date.now() < deadline && child.exitCode === null, `the bot did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, exited, log: () => log };
}

test('npm start with a token polls, answers, and on SIGTERM finishes its answers and exits', async () => {
  const { child, exited, log } = await startBotProcess('npm', ['start']);
  const user = telegram.client({ userId: 2001 });
  await user.sendMessage(user.makeMessage('浏阳大瑶镇有多少家花炮上下游企业？'));
  const [answer] = await telegram.botMessages(2001, 1, 60_000);
  assert.match(answer.message.text, /400多家/);
  // The model was loaded before the first update was taken, not by the first question.
  assert.ok(/Embedding model ready/.test(log()) && log().indexOf('Embedding model ready') < log().indexOf('polling for updates'), log());
  process.kill(-child.pid!, 'SIGTERM');
  const outcome = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 40_000))]);
  if (outcome === 'timeout') process.kill(-child.pid!, 'SIGKILL');
  assert.notEqual(outcome, 'timeout', `still running 40 s after SIGTERM:\n${log()}`);
  // npm itself dies of the signal; what counts is that the bot stopped cleanly and nothing is left.
  const groupAlive = () => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  const gone = Date.now() + 20_000;
  while (groupAlive() && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive()) process.kill(-child.pid!, 'SIGKILL');
  assert.equal(groupAlive(), false, `the bot was still running 20 s after SIGTERM:\n${log()}`);
  assert.match(log(), /Stopping \(SIGTERM\): finishing \d+ answers in flight/);
  assert.doesNotMatch(log(), /\n\s+at .+:\d+:\d+/, 'no stack trace');
});

test('Ctrl-C twice to the process running the bot: polling stops, the second signal is handled, exit code 0', async () => {
  // As `npm start` runs it: node itself, no tsx CLI parent.
  const { child, exited, log } = await startBotProcess(process.execPath, ['--import', 'tsx', 'src/main.ts']);
  process.kill(-child.pid!, 'SIGINT');
  process.kill(-child.pid!, 'SIGINT');
  const outcome = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 40_000))]);
  if (outcome === 'timeout') process.kill(-child.pid!, 'SIGKILL');
  assert.equal(outcome, 0, `exit code after two SIGINTs:\n${log()}`);
  assert.match(log(), /Stopping \(SIGINT\)/);
  assert.doesNotMatch(log(), /\n\s+at .+:\d+:\d+/, 'no stack trace');
});

/** Ten users' questions whose answers are on their way (Telegram holds each answer 1.5 s at the
 * network boundary) when the signal lands. */
async function tenInFlight(firstUserId: number): Promise<number[]> {
  const users = Array.from({ length: 10 }, (_, i) => firstUserId + i);
  for (const userId of users) telegram.fault(userId, { delayMs: 1500, methods: ['sendMessage'] });
  const before = telegram.calls().length;
  for (const userId of users) {
    const user = telegram.client({ userId });
    await user.sendMessage(user.makeMessage('浏阳大瑶镇有多少家花炮上下游企业？'));
  }
  const deadline = Date.now() + 60_000;
  const answering = () => new Set(telegram.calls().slice(before).filter((c) => c.method === 'sendMessage').map((c) => c.chatId)).size;
  while (answering() < users.length) {
    assert.ok(Date.now() < deadline, `only ${answering()} of 10 answers were being sent`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return users;
}

async function exitWithin(exited: Promise<number | null>, child: { pid?: number }, ms: number): Promise<number | null | 'timeout'> {
  const outcome = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);
  if (outcome === 'timeout') process.kill(-child.pid!, 'SIGKILL');
  return outcome;
}

test('SIGINT to the whole npm start process group with 10 answers in flight: 10 of 10 delivered, then it exits', async () => {
  const { child, exited, log } = await startBotProcess('npm', ['start']);
  const users = await tenInFlight(3000);
  process.kill(-child.pid!, 'SIGINT');
  assert.notEqual(await exitWithin(exited, child, 40_000), 'timeout', `still running 40 s after SIGINT:\n${log()}`);
  for (const userId of users) assert.match((await telegram.botMessages(userId, 1, 30_000))[0].message.text, /400多家/);
  // 'close' came after the bot's own output ended: its log is complete.
  assert.match(log(), /Stopping \(SIGINT\): finishing \d+ answers in flight/);
  assert.doesNotMatch(log(), /unfinished|not sent/);
  for (const userId of users) telegram.fault(userId, undefined);
});

test('SIGTERM to node alone with 10 answers in flight: 10 of 10 delivered, exit code 0', async () => {
  const { child, exited, log } = await startBotProcess(process.execPath, ['--import', 'tsx', 'src/main.ts']);
  const users = await tenInFlight(3100);
  process.kill(child.pid!, 'SIGTERM');
  const outcome = await exitWithin(exited, child, 40_000);
  assert.equal(outcome, 0, `exit code after SIGTERM:\n${log()}`);
  for (const userId of users) assert.match((await telegram.botMessages(userId, 1, 5_000))[0].message.text, /400多家/);
  for (const userId of users) telegram.fault(userId, undefined);
});

/** A bot message's text now, after any edits. */
function currentText(messageId: number): string {
  return telegram.allBotMessages().find((m) => m.messageId === messageId)?.message.text ?? '';
}

test('webhook mode accepts updates only with the secret token, and answers them', async () => {
  const port = await freePort();
  const config = testConfig({
    ...corpus.env,
    ...botEnv(telegram.apiRoot),
    WEBHOOK_URL: `http://127.0.0.1:${port}/telegram/hook`,
    WEBHOOK_SECRET: 'the-secret_123',
    PORT: String(port),
  });
  const services = await createServices(config, silentLogger);
  await services.index.loadOrBuild();
  const running = await startBot({ ...services, logger: silentLogger });
  try {
    const url = `http://127.0.0.1:${port}/telegram/hook`;
    const update = { update_id: 900001, message: { message_id: 77, date: Math.floor(Date.now() / 1000), chat: { id: 2002, type: 'private' }, from: { id: 2002, is_bot: false, first_name: '用户' }, text: '/help', entities: [{ type: 'bot_command', offset: 0, length: 5 }] } };
    const post = async (headers: Record<string, string>) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(update) });
        } catch (error) {
          if (attempt > 50) throw error; // the webhook server starts just after launch resolves
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    assert.equal((await post({})).status, 403);
    assert.equal((await post({ 'x-telegram-bot-api-secret-token': 'wrong' })).status, 403);
    assert.equal((await post({ 'x-telegram-bot-api-secret-token': 'the-secret_123' })).status, 200);
    const [help] = await telegram.botMessages(2002);
    assert.match(help.message.text, /收录 <b>5<\/b> 个版面/);
  } finally {
    await running.stop('test end');
  }
});

test('a drain that cannot finish: a second SIGINT cuts it short, the exit code says so and the log names what was not sent', async () => {
  const userId = 3200;
  telegram.fault(userId, { delayMs: 60_000, methods: ['sendMessage'] });
  const { child, exited, log } = await startBotProcess(process.execPath, ['--import', 'tsx', 'src/main.ts']);
  try {
    const user = telegram.client({ userId });
    await user.sendMessage(user.makeMessage('浏阳大瑶镇有多少家花炮上下游企业？'));
    const deadline = Date.now() + 60_000;
    while (!telegram.calls().some((c) => c.chatId === String(userId) && c.method === 'sendMessage')) {
      assert.ok(Date.now() < deadline, `the answer was never sent:\n${log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    process.kill(child.pid!, 'SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    process.kill(child.pid!, 'SIGINT');
    assert.equal(await exitWithin(exited, child, 20_000), 75, `exit code:\n${log()}`);
    assert.match(log(), /SIGINT again/);
    assert.match(log(), new RegExp(`chat ${userId}: answer \\(part 1/1\\)`), 'the message not sent is named');
  } finally {
    telegram.fault(userId, undefined);
  }
});

test('kill -9 during an admin\'s /reindex, then a restart: no leftovers, the admin is told, the next reindex runs', async () => {
  const admin = 3300;
  const env = { ADMIN_USER_IDS: String(admin) };
  const first = await startBotProcess(process.execPath, ['--import', 'tsx', 'src/main.ts'], env);
  // Changed copies of the seed pages, added once the bot runs: their chunks are new, so the build
  // spends seconds embedding.
  const copies = readdirSync(path.resolve('seeds')).map((name) => path.join(corpus.corpusDir, `copy_${name}`));
  for (const copy of copies) writeFileSync(copy, readFileSync(path.join('seeds', path.basename(copy).slice(5)), 'utf8').replace(/，/g, ','));
  const user = telegram.client({ userId: admin });
  let progressId = 0;
  try {
    await user.sendCommand(user.makeCommand('/reindex'));
    const [status] = await telegram.botMessages(admin, 1, 30_000);
    progressId = status.messageId;
    const lock = path.join(corpus.indexDir, 'reindex.lock');
    const deadline = Date.now() + 60_000;
    while (!(existsSync(lock) && /生成向量/.test(currentText(status.messageId)))) {
      assert.ok(Date.now() < deadline, `the reindex never reached the embedding phase:\n${first.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    process.kill(-first.child.pid!, 'SIGKILL');
    await first.exited;
  }
  // Killed while embedding: the lock is left. A kill later in the build (indexing, saving) also
  // leaves its builds/<id>.partial folder, of ~200 MB at 100k chunks: add one as it would be.
  assert.ok(existsSync(path.join(corpus.indexDir, 'reindex.lock')), 'the killed build left its lock');
  const leftover = path.join(corpus.indexDir, 'builds', 'killed-build.partial');
  mkdirSync(leftover, { recursive: true });
  writeFileSync(path.join(leftover, 'vectors.hnsw'), Buffer.alloc(4096));
  // The pages are as the live index has them: the restart does not rebuild, so the admin must redo it.
  for (const copy of copies) rmSync(copy);
  const second = await startBotProcess(process.execPath, ['--import', 'tsx', 'src/main.ts'], env);
  try {
    const [notice] = await telegram.botMessages(admin, 1, 30_000);
    assert.equal(notice.message.text, INTERRUPTED_REINDEX);
    assert.equal(notice.message.reply_parameters?.message_id, progressId, 'in reply to the stuck progress message');
    assert.match(currentText(progressId), /重建索引已中断/, 'which no longer says 生成向量……');
    assert.equal(readdirSync(path.join(corpus.indexDir, 'builds')).filter((name) => name.endsWith('.partial')).length, 0, 'no .partial folder left');
    await user.sendCommand(user.makeCommand('/reindex'));
    const [status] = await telegram.botMessages(admin, 1, 30_000);
    const deadline = Date.now() + 120_000;
    while (!/索引已更新/.test(currentText(status.messageId))) {
      assert.ok(Date.now() < deadline, `the next reindex did not finish: ${currentText(status.messageId)}\n${second.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    process.kill(-second.child.pid!, 'SIGTERM');
    await second.exited;
  }
});

