// needs: model
// What a user sees around an answer, against the Bot API emulator (setMessageReaction,
// setMyCommands and sendChatAction added at its network boundary, test/helpers/telegram.ts):
// 👀 and typing on a question before its answer, removed after; nothing for what is not a
// question; sources in an expandable blockquote; and the command menu per scope. The
// acknowledgement's latency is printed as a diagnostic; the assertions are about order.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { startLlmBot } from '../helpers/bot.ts';
import type { ChatRequest } from '../helpers/fake-openai.ts';
import { BOT_ID, BOT_USERNAME, type ApiCall } from '../helpers/telegram.ts';
import { validateTelegramHtml } from '../helpers/telegram-html.ts';

const ADMINS = [4242, 4343];
const QUESTIONS = ['浏阳大瑶镇有多少家花炮上下游企业？', '邓州市总工会为爱心早餐项目筹资多少钱？', '上海计划建设多少间职工工间休息室？', '深圳诗歌大赛是谁主办的？'];

/** An LLM that takes half a second, as real ones take seconds: the acknowledgement is what the
 * user sees meanwhile. It quotes the first sentence of the first passage, cited [1]. */
function slowEcho(request: ChatRequest) {
  const passage = /\[1\] 标题：.*\n([^\n]*)/.exec(request.messages.at(-1)!.content)?.[1] ?? '';
  return { content: `${/^.*?[。！？]/.exec(passage)?.[0] ?? passage}[1]`, delayMs: 500 };
}

const log: string[] = [];
const { telegram, running } = await startLlmBot({ reply: slowEcho, env: { ADMIN_USER_IDS: ADMINS.join(',') }, logger: createLogger('info', (line) => log.push(line)) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const callsIn = (chatId: number, method?: string) => telegram.calls().filter((c) => c.chatId === String(chatId) && (!method || c.method === method));
const reactionsOn = (chatId: number, messageId: number) => telegram.reactions().filter((r) => r.chatId === String(chatId) && r.messageId === messageId);

/** Waits until `ready` holds, or fails saying what was awaited. */
async function until(what: string, ready: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The call's place in the emulator's log: the order in which requests arrived. */
const order = (call: ApiCall | undefined) => (call ? telegram.calls().indexOf(call) : -1);

test('at start the command menu is set per scope: private chats, groups, and each admin', { timeout: 30_000 }, () => {
  const menus = telegram.commandMenus();
  const names = (scope: (s: { type: string; chat_id?: number | string }) => boolean) => menus.find((m) => scope(m.scope))?.commands.map((c) => c.command);
  assert.deepEqual(names((s) => s.type === 'all_private_chats'), ['start', 'help', 'new']);
  assert.deepEqual(names((s) => s.type === 'all_group_chats'), ['ask', 'help']);
  for (const admin of ADMINS) assert.deepEqual(names((s) => s.type === 'chat' && Number(s.chat_id) === admin), ['start', 'help', 'new', 'reindex', 'stats'], `admin ${admin}`);
  assert.equal(menus.length, 2 + ADMINS.length, 'one call per scope, no other');
  for (const { command, description } of menus.flatMap((m) => m.commands)) assert.match(description, /[\u4e00-\u9fff]/, `/${command} is described in Chinese`);
});

test('a private question gets 👀 and typing before its answer; the reaction is removed once the answer is out', { timeout: 60_000 }, async (t: TestContext) => {
  const userId = 2001;
  const user = telegram.client({ userId });
  await user.sendMessage(user.makeMessage(QUESTIONS[0]));
  const messageId = telegram.userMessageId(QUESTIONS[0]);
  const [answer] = await telegram.botMessages(userId);
  assert.match(answer.message.text, /浏阳|大瑶|花炮/);
  await until('the reaction to be removed', () => reactionsOn(userId, messageId).length === 2);
  const [working, removed] = reactionsOn(userId, messageId);
  assert.deepEqual(working.reaction, [{ type: 'emoji', emoji: '👀' }]);
  assert.deepEqual(removed.reaction, [], 'removed with an empty list');
  const reactCalls = callsIn(userId, 'setMessageReaction');
  const answerCall = callsIn(userId, 'sendMessage')[0];
  const typing = callsIn(userId, 'sendChatAction')[0];
  assert.ok(order(reactCalls[0]) < order(answerCall), 'the 👀 reached Telegram before the answer');
  assert.ok(order(typing) >= 0 && order(typing) < order(answerCall), 'so did "typing…"');
  assert.ok(order(reactCalls[1]) > order(answerCall), 'the reaction was removed after the answer was sent');
  const { issued, answered } = running.state.acknowledger.latency;
  t.diagnostic(`one question alone: first Bot API call ${issued.at(-1)} ms after the update, confirmed after ${answered.at(-1)} ms; the answer ${answerCall.at - working.at} ms after the 👀`);
});

test('in a group that allows no reactions: answered all the same, typing only, the refusal logged once and never shown', { timeout: 60_000 }, async () => {
  const group = -100777;
  telegram.refuseReactions(group);
  const member = telegram.client({ userId: 2002, chatId: group, type: 'supergroup' });
  const mention = (q: string) => member.makeMessage(`@${BOT_USERNAME} ${q}`, { entities: [{ type: 'mention', offset: 0, length: BOT_USERNAME.length + 1 }] } as never);
  await member.sendMessage(mention(QUESTIONS[1]));
  const [first] = await telegram.botMessages(group);
  await member.sendMessage(mention(QUESTIONS[2]));
  const [second] = await telegram.botMessages(group);
  assert.match(first.message.text, /爱心早餐|邓州/);
  assert.match(second.message.text, /休息室/);
  await running.state.tasks.drain(5_000);
  const refused = callsIn(group, 'setMessageReaction');
  assert.equal(refused.length, 1, 'tried once, then the chat is remembered');
  assert.equal(refused[0].status, 400);
  assert.equal(callsIn(group, 'sendChatAction').length >= 2, true, 'each question still shows typing');
  assert.equal(log.filter((l) => /Chat -100777 takes no reaction \(Bad Request: REACTION_INVALID\)/.test(l)).length, 1, log.filter((l) => /reaction/i.test(l)).join('\n'));
  const shown = telegram.allBotMessages().filter((m) => String(m.message.chat_id) === String(group));
  assert.equal(shown.length, 2, 'two answers, no error message');
  assert.doesNotMatch(shown.map((m) => m.message.text).join('\n'), /REACTION|reaction|反应/);
});

test('what is not a question gets no acknowledgement: /help, a stale button, group chatter, a question too long', { timeout: 60_000 }, async () => {
  const userId = 2003;
  const user = telegram.client({ userId });
  await user.sendCommand(user.makeCommand('/help'));
  await telegram.botMessages(userId);
  const before = telegram.calls().length;
  await user.sendCallback(user.makeCallbackQuery('from-an-old-version'));
  await until('the stale button to be answered', () => telegram.calls().slice(before).some((c) => c.method === 'answerCallbackQuery'));
  await user.sendMessage(user.makeMessage('请问'.repeat(300)));
  await telegram.botMessages(userId);

  const group = -100888;
  const member = telegram.client({ userId: 2004, chatId: group, type: 'supergroup' });
  await member.sendMessage(member.makeMessage('今天大家吃什么？'));
  await member.sendCommand(member.makeCommand('/help'));
  const [groupHelp] = await telegram.botMessages(group);
  await running.state.tasks.drain(5_000);
  await sleep(300);
  for (const chatId of [userId, group]) {
    const acks = callsIn(chatId).filter((c) => c.method === 'setMessageReaction' || c.method === 'sendChatAction');
    assert.deepEqual(acks.map((c) => c.method), [], `chat ${chatId}`);
  }
  // /help in a group says how to ask there: a mention, a reply, or /ask.
  assert.match(groupHelp.message.text, new RegExp(`• @${BOT_USERNAME} 加问题`));
  assert.match(groupHelp.message.text, /• 回复我的回答/);
  assert.match(groupHelp.message.text, /• \/ask 加问题/);
  assert.deepEqual(validateTelegramHtml(groupHelp.message.text), []);
});

test('an answer\'s sources are in an expandable blockquote, and 查看原文 still shows the passages', { timeout: 60_000 }, async () => {
  const userId = 2005;
  const user = telegram.client({ userId });
  await user.sendMessage(user.makeMessage(QUESTIONS[2]));
  const [answer] = await telegram.botMessages(userId);
  assert.match(answer.message.text, /\n\n<b>来源<\/b>\n<blockquote expandable>\[1\] 《[^<]+<\/blockquote>/);
  assert.deepEqual(validateTelegramHtml(answer.message.text), []);
  assert.equal(answer.message.reply_markup?.inline_keyboard[0][0].text, '查看原文');
  const from = { id: BOT_ID, is_bot: true, first_name: 'bot' };
  await user.sendCallback(user.makeCallbackQuery('sources', { message: { message_id: answer.messageId, chat: { id: userId, type: 'private' }, from } } as never));
  const [sources] = await telegram.botMessages(userId);
  assert.match(sources.message.text, /^<b>\[1\] 《/);
  assert.match(sources.message.text, /<blockquote>[^<]+<\/blockquote>/);
});

test('acknowledgement latency: every question acknowledged, before its answer (figures as a diagnostic)', { timeout: 120_000 }, async (t: TestContext) => {
  const users = Array.from({ length: 20 }, (_, i) => 3000 + i);
  const sentAt = new Map<number, number>();
  // Two rounds of ten at once: the queue (ANSWER_CONCURRENCY 8) is busy, as in real use.
  for (const round of [users.slice(0, 10), users.slice(10)]) {
    await Promise.all(
      round.map(async (userId, i) => {
        const user = telegram.client({ userId });
        await user.sendMessage(user.makeMessage(QUESTIONS[i % QUESTIONS.length]));
        sentAt.set(userId, Date.now());
        await telegram.botMessages(userId, 1, 60_000);
      }),
    );
  }
  const arrivals: number[] = [];
  for (const userId of users) {
    const react = callsIn(userId, 'setMessageReaction')[0];
    assert.ok(react, `user ${userId} got 👀`);
    assert.ok(order(react) < order(callsIn(userId, 'sendMessage')[0]), `user ${userId}: 👀 before the answer`);
    arrivals.push(react.at - sentAt.get(userId)!);
  }
  const { latency } = running.state.acknowledger;
  assert.ok(latency.issued.length >= users.length, `${latency.issued.length} acknowledgements recorded`);
  assert.ok(latency.answered.length >= users.length);
  const figures = (series: 'issued' | 'answered') => `p50 ${latency.percentile(series, 50)} ms, p95 ${latency.percentile(series, 95)} ms`;
  t.diagnostic(`acknowledgement, update received → first Bot API call sent: ${figures('issued')} (${latency.issued.length} questions)`);
  t.diagnostic(`acknowledgement, update received → Telegram confirmed it: ${figures('answered')}`);
  const sorted = arrivals.sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
  t.diagnostic(`user's message stored → 👀 reached the emulator (with polling): p50 ${at(50)} ms, p95 ${at(95)} ms`);
});
