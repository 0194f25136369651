// needs: model
// npm start with a token, as an operator runs it: long polling, then SIGTERM finishes cleanly.
// And webhook mode: Telegram's secret-token header is checked.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import { startBot } from '../../src/bot/run.ts';
import { createServices } from '../../src/cli/shared.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { botEnv, startTelegram } from '../helpers/telegram.ts';
import { seedCorpus } from '../helpers/corpus.ts';

const corpus = seedCorpus();
const telegram = await startTelegram();
after(() => telegram.stop());

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the bot as a child in its own process group (signalled as a whole, like Ctrl-C or
 * systemd do) and waits until it polls. */
async function startBotProcess(command: string, args: string[]) {
  const child = spawn(command, args, {
    env: { ...process.env, ...botEnv(telegram.apiRoot), ...corpus.env, LOG_LEVEL: 'info', LLM_BASE_URL: '', LLM_API_KEY: '', LLM_MODEL: '' },
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
