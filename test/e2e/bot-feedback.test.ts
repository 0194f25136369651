// needs: model
// 👍 and 👎 under answers, against the Bot API emulator with the real bot (extractive answers, the
// local backend): every answer carries the buttons, a press is stored and answered with a toast
// only, one vote per user per answer, /stats counts them, and npm run feedback exports them from
// INDEX_DIR/feedback.jsonl in another process.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import type { RunningBot } from '../../src/bot/run.ts';
import { hashId } from '../../src/bot/handlers/feedback.ts';
import { startTestBot } from '../helpers/bot.ts';
import { testConfig } from '../helpers/config.ts';
import { seedCorpus } from '../helpers/corpus.ts';
import { runNpm } from '../helpers/run.ts';
import { BOT_USERNAME, botEnv, startTelegram, type SentMessage } from '../helpers/telegram.ts';

const ADMIN = 4242;
const ALICE = 3001;
const GROUP = -100321;
const QUESTION = '上海市总工会2023年建成了多少间职工工间休息室？';
const GROUP_QUESTION = '邓州市爱心早餐项目每年制作成本多少？';

const corpus = seedCorpus();
const telegram = await startTelegram();
const config = testConfig({ ...corpus.env, ...botEnv(telegram.apiRoot), ADMIN_USER_IDS: String(ADMIN) });
const running: RunningBot = await startTestBot(config);
after(async () => {
  await running.stop('test end');
  await telegram.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const buttons = (m: SentMessage) => m.message.reply_markup?.inline_keyboard.flat().map((b) => b.text);
const messagesIn = (chatId: number) => telegram.allBotMessages().filter((m) => String(m.message.chat_id) === String(chatId));
const votes = () => running.state.stateStore.feedback;

/** Presses a button of a bot message as `userId`, and returns the toast the bot answered with. */
async function press(userId: number, chat: { id: number; type: 'private' | 'supergroup' }, messageId: number, data: string): Promise<string> {
  const client = telegram.client({ userId, chatId: chat.id, type: chat.type });
  const before = telegram.calls().length;
  // No `from` on the message: the emulator's callback shares one object between the query's
  // `from` and the message's, so setting the bot as the sender would make the bot the presser.
  const message = { message_id: messageId, chat };
  await client.sendCallback(client.makeCallbackQuery(data, { message } as never));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answered = telegram.calls().slice(before).find((c) => c.method === 'answerCallbackQuery');
    if (answered) return String(answered.body.text ?? '');
    if (Date.now() > deadline) throw new Error(`timed out waiting for the toast of ${data}`);
    await sleep(20);
  }
}

let privateAnswer: SentMessage;

test('a button whose handler fails is answered with a toast, not left spinning', { timeout: 30_000 }, async () => {
  const alice = telegram.client({ userId: ALICE });
  await alice.sendMessage(alice.makeMessage(QUESTION));
  const [answer] = await telegram.botMessages(ALICE);
  const conversations = running.state.conversations;
  const answerAt = conversations.answerAt;
  conversations.answerAt = async () => {
    throw new Error('the state store is down');
  };
  try {
    const shown = messagesIn(ALICE).length;
    assert.equal(await press(ALICE, { id: ALICE, type: 'private' }, answer.messageId, 'sources'), '抱歉，出了点问题，请稍后再试。');
    await sleep(300);
    assert.equal(messagesIn(ALICE).length, shown, 'no chat message for a failed button');
  } finally {
    conversations.answerAt = answerAt;
  }
});

test('an answer carries 查看原文, 👍 and 👎; a refusal carries 👍 and 👎', { timeout: 60_000 }, async () => {
  const alice = telegram.client({ userId: ALICE });
  await alice.sendMessage(alice.makeMessage(QUESTION));
  [privateAnswer] = await telegram.botMessages(ALICE);
  assert.match(privateAnswer.message.text, /1400间/);
  assert.deepEqual(buttons(privateAnswer), ['查看原文', '👍', '👎']);
  await alice.sendMessage(alice.makeMessage('杭州市总工会为外卖骑手建设了多少个爱心驿站？'));
  const [refusal] = await telegram.botMessages(ALICE);
  assert.match(refusal.message.text, /未在已收录的报道中找到/);
  assert.deepEqual(buttons(refusal), ['👍', '👎']);
  // No LLM here: extractive answers are quick and come whole, never previewed.
  const previews = telegram.calls().filter((c) => c.chatId === String(ALICE) && (c.method === 'sendMessageDraft' || c.method === 'editMessageText'));
  assert.deepEqual(previews.map((c) => c.method), []);
  assert.equal(running.state.answerer.mode, 'extractive');
});

test('👍 is stored with a toast and no chat message; 👎 then changes that vote', { timeout: 30_000 }, async () => {
  const chat = { id: ALICE, type: 'private' as const };
  const shown = messagesIn(ALICE).length;
  assert.equal(await press(ALICE, chat, privateAnswer.messageId, 'vote:up'), '已记录：👍');
  assert.deepEqual(await votes().counts(), { up: 1, down: 0 });
  const [vote] = await votes().all();
  assert.equal(vote.question, QUESTION);
  assert.match(vote.answer, /1400间/);
  assert.deepEqual(vote.citations.map((c) => c.headline.slice(0, 12)), ['上海市总推进职工工间休息']);
  assert.equal(vote.mode, 'extractive');
  assert.equal(vote.chatType, 'private');
  assert.ok(vote.timings && vote.timings.totalMs > 0);
  assert.equal(vote.userHash, hashId(ALICE));
  assert.doesNotMatch(JSON.stringify(vote), new RegExp(String(ALICE)), 'no raw user or chat id');

  assert.equal(await press(ALICE, chat, privateAnswer.messageId, 'vote:up'), '已记录：👍', 'the same press again keeps it');
  assert.equal(await press(ALICE, chat, privateAnswer.messageId, 'vote:down'), '已改为 👎');
  assert.deepEqual(await votes().counts(), { up: 0, down: 1 }, 'one vote per user per answer');
  await sleep(300);
  assert.equal(messagesIn(ALICE).length, shown, 'a vote sends no chat message');
});

test('in a group each user votes on their own; a button on an unknown message says it expired', { timeout: 60_000 }, async () => {
  const carol = telegram.client({ userId: 3003, chatId: GROUP, type: 'supergroup' });
  const mention = `@${BOT_USERNAME} ${GROUP_QUESTION}`;
  await carol.sendMessage(carol.makeMessage(mention, { entities: [{ type: 'mention', offset: 0, length: BOT_USERNAME.length + 1 }] } as never));
  const [answer] = await telegram.botMessages(GROUP);
  assert.deepEqual(buttons(answer), ['查看原文', '👍', '👎']);
  const chat = { id: GROUP, type: 'supergroup' as const };
  assert.equal(await press(3003, chat, answer.messageId, 'vote:down'), '已记录：👎');
  assert.equal(await press(3004, chat, answer.messageId, 'vote:up'), '已记录：👍');
  assert.deepEqual(await votes().counts(), { up: 1, down: 2 });
  const groupVotes = (await votes().all()).filter((v) => v.chatType === 'supergroup');
  assert.deepEqual(groupVotes.map((v) => v.question), [GROUP_QUESTION, GROUP_QUESTION]);
  assert.notEqual(groupVotes[0].userHash, groupVotes[1].userHash);
  assert.equal(await press(3004, chat, 999_999, 'vote:up'), '这条回答已过期，无法评价。');
  assert.deepEqual(await votes().counts(), { up: 1, down: 2 });
});

test('/stats shows an admin the counts and the latest 👎 questions', { timeout: 30_000 }, async () => {
  const admin = telegram.client({ userId: ADMIN });
  await admin.sendCommand(admin.makeCommand('/stats'));
  const [stats] = await telegram.botMessages(ADMIN);
  assert.match(stats.message.text, /回答评价：👍 1 · 👎 2/);
  const latest = stats.message.text.split('最近的 👎：')[1] ?? '';
  assert.deepEqual(latest.trim().split('\n'), [`• ${GROUP_QUESTION}`, `• ${QUESTION}`], 'newest first');
});

test('npm run feedback -- --json exports every vote from INDEX_DIR, one JSON line each', { timeout: 60_000 }, async () => {
  const stored = readFileSync(path.join(corpus.indexDir, 'feedback.jsonl'), 'utf8').trim().split('\n');
  assert.equal(stored.length, 3, 'the file the bot keeps: one line per vote');
  const env = { ...corpus.env, DATABASE_URL: undefined, EMBEDDING_MODEL_PATH: process.env.EMBEDDING_MODEL_PATH };
  const { code, stdout, stderr } = await runNpm(['run', 'feedback', '--', '--json'], { env });
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(lines.map((l) => [l.vote, l.question, l.chatType]), [
    ['down', QUESTION, 'private'],
    ['down', GROUP_QUESTION, 'supergroup'],
    ['up', GROUP_QUESTION, 'supergroup'],
  ]);
  for (const line of lines) {
    assert.ok(!Number.isNaN(Date.parse(line.time)), line.time);
    assert.equal(line.mode, 'extractive');
    assert.match(line.userHash, /^[0-9a-f]{16}$/);
    assert.match(line.chatHash, /^[0-9a-f]{16}$/);
    assert.ok(line.answer.length > 0 && line.citations.length > 0);
  }
  const summary = await runNpm(['run', 'feedback'], { env });
  assert.equal(summary.code, 0, summary.stderr);
  assert.match(summary.stdout, /^Votes: 👍 1 · 👎 2 \(on 2 answers\)/);
  assert.ok(summary.stdout.includes(GROUP_QUESTION));
});
