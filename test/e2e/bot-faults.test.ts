// needs: model
// The bot under faults and floods, against the emulator with faults injected at the network
// boundary: one chat's slow or 429'd Telegram calls must not hold up the others, a flood gets one
// notice and loses nothing, and every user action gets an answer. One answer at a time
// (ANSWER_CONCURRENCY=1): a chat that Telegram holds back must not hold the only worker. Latency figures are printed as
// diagnostics (npm run loadtest reports them); the assertions are about order and counts.
import assert from 'node:assert/strict';
import { after, test, type TestContext } from 'node:test';
import type { RunningBot } from '../../src/bot/run.ts';
import { EXPIRED_BUTTON, TEXT_ONLY, UNKNOWN_COMMAND } from '../../src/bot/handlers/fallback.ts';
import { TOO_FAST } from '../../src/bot/handlers/gate.ts';
import { startTestBot } from '../helpers/bot.ts';
import { testConfig } from '../helpers/config.ts';
import { seedCorpus } from '../helpers/corpus.ts';
import { BOT_USERNAME, botEnv, startTelegram, type SentMessage } from '../helpers/telegram.ts';

const QUESTIONS = ['浏阳大瑶镇有多少家花炮上下游企业？', '邓州市总工会为爱心早餐项目筹资多少钱？', '上海计划建设多少间职工工间休息室？', '深圳诗歌大赛是谁主办的？'];

const corpus = seedCorpus();
const telegram = await startTelegram();
const config = testConfig({ ...corpus.env, ...botEnv(telegram.apiRoot), RATE_LIMIT_PER_MINUTE: '5', ANSWER_CONCURRENCY: '1' });
const running: RunningBot = await startTestBot(config);
after(async () => {
  await running.stop('test end');
  await telegram.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))];

/** Asks and waits for the bot's first message in that chat; returns when it came. */
async function ask(userId: number, question: string): Promise<{ ms: number; message: SentMessage }> {
  const user = telegram.client({ userId });
  const started = Date.now();
  await user.sendMessage(user.makeMessage(question));
  const [message] = await telegram.botMessages(userId, 1, 60_000);
  return { ms: Date.now() - started, message };
}

/** Ten users ask one question each, all at once; their latencies. */
async function othersAsk(firstUserId: number): Promise<number[]> {
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => ask(firstUserId + i, QUESTIONS[i % QUESTIONS.length])));
  for (const { message } of results) assert.equal(message.message.parse_mode, 'HTML', 'an answer, not a notice');
  return results.map((r) => r.ms);
}

let unloadedP95 = 0;

test('unloaded: ten users at once, as the reference for the fault tests', async (t: TestContext) => {
  await othersAsk(100); // warm-up
  const latencies = await othersAsk(200);
  unloadedP95 = percentile(latencies, 95);
  t.diagnostic(`unloaded p50 ${percentile(latencies, 50)} ms, p95 ${unloadedP95} ms`);
});

test('one chat whose Telegram calls take 10 s does not hold up anyone else', async (t: TestContext) => {
  const slow = 300;
  telegram.fault(slow, { delayMs: 10_000 });
  const user = telegram.client({ userId: slow });
  const started = Date.now();
  await user.sendCommand(user.makeCommand('/help'));
  await user.sendMessage(user.makeMessage(QUESTIONS[0]));
  await telegram.delivered();
  const latencies = await othersAsk(400);
  const othersDone = Date.now() - started;
  t.diagnostic(`others p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms (unloaded p95 ${unloadedP95} ms)`);
  assert.ok(othersDone < 10_000, `everyone else was answered while the slow chat's first call was still pending (${othersDone} ms)`);
  const [help, answer] = await telegram.botMessages(slow, 2, 30_000);
  assert.match(help.message.text, /新闻问答机器人/, 'the slow chat still gets its /help, first');
  assert.match(answer.message.text, /400多家/, 'and then its answer');
  telegram.fault(slow, undefined);
});

test('a chat under 429 flood control (retry_after 10) gets its answer after the wait; others are not held up', async (t: TestContext) => {
  const limited = 500;
  telegram.fault(limited, { retryAfter: 10, times: 1 });
  const started = Date.now();
  const pending = ask(limited, QUESTIONS[1]);
  await telegram.delivered();
  const latencies = await othersAsk(600);
  const othersDone = Date.now() - started;
  t.diagnostic(`others p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms (unloaded p95 ${unloadedP95} ms)`);
  assert.ok(othersDone < 10_000, `everyone else was answered within the 429 window (${othersDone} ms)`);
  const { ms, message } = await pending;
  assert.match(message.message.text, /爱心早餐/);
  assert.ok(ms >= 9_000, `the answer waited out retry_after (${ms} ms)`);
  const refused = telegram.calls().filter((c) => c.chatId === String(limited) && c.status === 429);
  assert.ok(refused.length >= 1 && refused.length <= 3, `retried after the wait, not hammered (${refused.length} refusals)`);
  telegram.fault(limited, undefined);
});

test('a flood from one user: one notice, every accepted question answered, nothing lost, others served', async (t: TestContext) => {
  const flooder = 700;
  const user = telegram.client({ userId: flooder });
  for (let i = 0; i < 20; i++) await user.sendMessage(user.makeMessage(`${QUESTIONS[i % QUESTIONS.length]}（${i}）`));
  await telegram.delivered();
  const latencies = await othersAsk(800);
  t.diagnostic(`others during the flood: p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms`);
  // RATE_LIMIT_PER_MINUTE=5: five answers, one notice, then silence.
  const messages = await telegram.botMessages(flooder, 6, 60_000);
  await sleep(1500);
  const all = telegram.allBotMessages().filter((m) => String(m.message.chat_id) === String(flooder));
  const notices = all.filter((m) => m.message.parse_mode !== 'HTML');
  assert.equal(notices.length, 1, `one notice: ${notices.map((m) => m.message.text)}`);
  assert.equal(all.filter((m) => m.message.parse_mode === 'HTML').length, 5, 'the five accepted questions were answered');
  assert.equal(messages.length, 6);
  const sends = telegram.calls().filter((c) => c.chatId === String(flooder) && c.method === 'sendMessage');
  assert.ok(sends.every((c) => c.status === 200), 'no send failed or was dropped');
});

test('an edited question is answered again, saying so', async () => {
  const userId = 900;
  const first = await ask(userId, '邓州早餐');
  const original = telegram.userMessageId('邓州早餐');
  telegram.injectUpdate({
    edited_message: {
      message_id: original,
      date: Math.floor(Date.now() / 1000),
      edit_date: Math.floor(Date.now() / 1000),
      chat: { id: userId, type: 'private', first_name: '用户' },
      from: { id: userId, is_bot: false, first_name: '用户' },
      text: '浏阳大瑶镇有多少家花炮上下游企业？',
    },
  });
  const [again] = await telegram.botMessages(userId, 1, 30_000);
  assert.notEqual(again.messageId, first.message.messageId);
  assert.match(again.message.text, /按修改后的问题重新回答/);
  assert.match(again.message.text, /400多家/);
  assert.equal(again.message.reply_parameters?.message_id, original);
});

test('unknown commands, non-text messages and stale buttons get an answer; other bots\' commands in groups do not', async () => {
  const userId = 1000;
  const user = telegram.client({ userId });
  await user.sendCommand(user.makeCommand('/frobnicate'));
  assert.equal((await telegram.botMessages(userId))[0].message.text, UNKNOWN_COMMAND);
  telegram.injectUpdate({
    message: { message_id: 99_001, date: Math.floor(Date.now() / 1000), chat: { id: userId, type: 'private' }, from: { id: userId, is_bot: false, first_name: '用户' }, sticker: { file_id: 's', file_unique_id: 's', type: 'regular', width: 1, height: 1, is_animated: false, is_video: false } },
  });
  assert.equal((await telegram.botMessages(userId))[0].message.text, TEXT_ONLY);

  const groupId = -1001;
  const member = telegram.client({ userId: 1001, chatId: groupId, type: 'group' });
  await member.sendCommand(member.makeCommand('/frobnicate@OtherBot'));
  await member.sendCommand(member.makeCommand(`/frobnicate@${BOT_USERNAME}`));
  const [hint] = await telegram.botMessages(groupId, 1);
  assert.equal(hint.message.text, UNKNOWN_COMMAND);
  await sleep(1500);
  assert.equal(telegram.allBotMessages().filter((m) => String(m.message.chat_id) === String(groupId)).length, 1, 'the other bot\'s command was left alone');

  const before = telegram.calls().length;
  await user.sendCallback(user.makeCallbackQuery('from-an-old-version'));
  const deadline = Date.now() + 10_000;
  let answered;
  while (!(answered = telegram.calls().slice(before).find((c) => c.method === 'answerCallbackQuery')) && Date.now() < deadline) await sleep(25);
  assert.ok(answered, 'the spinner was stopped');
  assert.equal(answered.body.text, EXPIRED_BUTTON);
});

test('bidi controls in a question never reach the bot\'s messages, also where the question is echoed', async () => {
  const userId = 1100;
  const { message } = await ask(userId, '\u202E梅西在世界杯上\u2066进了几个球？');
  assert.match(message.message.text, /梅西在世界杯上进了几个球/, 'the refusal echoes the question');
  const all = telegram.allBotMessages().map((m) => m.message.text).join('\n');
  assert.doesNotMatch(all, /[\u202A-\u202E\u2066-\u2069\u200E\u200F]/);
});

test('a flood of stickers gets a bounded number of replies and one "too fast" notice', async () => {
  const userId = 1200;
  for (let i = 0; i < 20; i++) {
    telegram.injectUpdate({
      message: { message_id: 99_100 + i, date: Math.floor(Date.now() / 1000), chat: { id: userId, type: 'private' }, from: { id: userId, is_bot: false, first_name: '用户' }, sticker: { file_id: 's', file_unique_id: 's', type: 'regular', width: 1, height: 1, is_animated: false, is_video: false } },
    });
  }
  // RATE_LIMIT_PER_MINUTE=5: 15 actions a minute get their reply, then one notice.
  const messages = await telegram.botMessages(userId, 16, 60_000);
  await sleep(2000);
  const all = telegram.allBotMessages().filter((m) => String(m.message.chat_id) === String(userId));
  assert.equal(all.length, 16, 'no more than that');
  assert.equal(messages.filter((m) => m.message.text === TOO_FAST).length, 1);
});
