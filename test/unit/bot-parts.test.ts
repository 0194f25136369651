import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Answer } from '../../src/answer/types.ts';
import { ConversationStore } from '../../src/bot/conversations.ts';
import { mentionsBot, repliesToBot, stripMention, threadOf } from '../../src/bot/handlers/ask.ts';
import { safePageName } from '../../src/bot/handlers/admin.ts';
import type { Telegram } from 'telegraf';
import { NoticeLimiter, RateLimiter } from '../../src/bot/limits.ts';
import { Outbox, TELEGRAM_LIMITS } from '../../src/bot/outbox.ts';
import { TaskQueue } from '../../src/bot/tasks.ts';
import { createLogger, silentLogger } from '../../src/log.ts';

test('the rate limiter allows a burst, then asks to wait, and refills over time', () => {
  let now = 0;
  const limiter = new RateLimiter(3, () => now);
  assert.deepEqual([limiter.check(1, 1), limiter.check(1, 1), limiter.check(1, 1)], [0, 0, 0]);
  const wait = limiter.check(1, 1);
  assert.ok(wait > 0 && wait <= 20_000, `${wait} ms`);
  assert.equal(limiter.check(2, 1), 0, 'another user in the same chat may still ask');
  now += 20_000;
  assert.equal(limiter.check(1, 1), 0);
});

test('a refused flooder takes nothing from the group\'s allowance', () => {
  const limiter = new RateLimiter(3, () => 0);
  for (let i = 0; i < 50; i++) limiter.check(1, -5);
  assert.deepEqual([limiter.check(2, -5), limiter.check(3, -5)], [0, 0], 'others in the group may still ask');
});

test('the outbox: a 429 holds back only its own chat and is retried after retry_after; 403 and 400 are given up and logged', async () => {
  const log: string[] = [];
  const sent: string[] = [];
  let refusals = 0;
  const telegram = {
    sendMessage: async (chatId: number, text: string) => {
      if (chatId === 1 && refusals++ === 0) throw Object.assign(new Error('429'), { response: { error_code: 429, parameters: { retry_after: 1 } } });
      if (chatId === 3) throw Object.assign(new Error('blocked'), { response: { error_code: 403, description: 'Forbidden: bot was blocked by the user' } });
      if (chatId === 4) throw Object.assign(new Error('bad'), { response: { error_code: 400, description: "Bad Request: can't parse entities" } });
      sent.push(`${chatId}:${text}`);
      return { message_id: sent.length };
    },
  } as unknown as Telegram;
  const outbox = new Outbox(telegram, createLogger('debug', (line) => log.push(line)));
  const send = (chatId: number, text: string) => outbox.send(chatId, 'answer', (t) => t.sendMessage(chatId, text));
  const first = send(1, 'a');
  const second = send(1, 'b');
  await send(2, 'x');
  assert.deepEqual(sent, ['2:x'], 'chat 2 was served while chat 1 waited out its 429');
  assert.ok(await first);
  assert.ok(await second);
  assert.deepEqual(sent, ['2:x', '1:a', '1:b'], 'chat 1 kept its order');
  assert.equal(await send(3, 'y'), undefined);
  assert.equal(await send(4, 'z'), undefined);
  assert.match(log.join('\n'), /answer to chat 1: Telegram asked to slow down \(429\); retrying in 1 s/);
  assert.match(log.join('\n'), /INFO .*answer to chat 3 not delivered: the user blocked the bot/);
  assert.match(log.join('\n'), /WARN .*answer to chat 4 not delivered: 400 Bad Request: can't parse entities/);
  assert.deepEqual(outbox.failures, { blocked: 1, gaveUp: 1 });
});

test('the outbox keeps within a chat\'s window and the global one, without holding back other chats', async () => {
  const at: Record<number, number[]> = {};
  const telegram = {
    sendMessage: async (chatId: number) => {
      (at[chatId] ??= []).push(Date.now());
      return { message_id: 1 };
    },
  } as unknown as Telegram;
  const limits = { ...TELEGRAM_LIMITS, chat: { limit: 2, windowMs: 300 }, global: { limit: 100, windowMs: 1000 } };
  const outbox = new Outbox(telegram, silentLogger, { limits });
  const started = Date.now();
  const sends = [1, 1, 1, 1, 2].map((chatId) => outbox.send(chatId, 'm', (t) => t.sendMessage(chatId, '.')));
  await Promise.all(sends);
  const chat1 = at[1].map((t) => t - started);
  assert.equal(chat1.length, 4);
  assert.ok(chat1[2] >= 290 && chat1[3] >= 290, `the third and fourth waited for the window: ${chat1}`);
  assert.ok(at[2][0] - started < 200, 'chat 2 did not wait for chat 1');
});

test('the outbox: a group\'s window holds across its short chat window and across idle spells', async () => {
  const at: number[] = [];
  const telegram = { sendMessage: async () => (at.push(Date.now()), { message_id: 1 }) } as unknown as Telegram;
  const limits = { ...TELEGRAM_LIMITS, chat: { limit: 2, windowMs: 100 }, group: { limit: 4, windowMs: 800 }, global: { limit: 100, windowMs: 1000 } };
  const outbox = new Outbox(telegram, silentLogger, { limits });
  const started = Date.now();
  for (let i = 0; i < 3; i++) await outbox.send(-5, 'm', (t) => t.sendMessage(-5, '.')); // the lane empties after each
  await Promise.all([0, 1, 2].map(() => outbox.send(-5, 'm', (t) => t.sendMessage(-5, '.'))));
  const offsets = at.map((t) => t - started);
  assert.ok(offsets[4] >= 780, `the fifth message waited for the group's window: ${offsets}`);
  assert.ok(offsets[1] >= 0 && offsets[2] >= 90, `the chat's window held between separate sends: ${offsets}`);
});

test('the outbox: a 429 on typing pauses the chat too; a message still refused after max429 is given up', async () => {
  const log: string[] = [];
  let typing429 = true;
  const calls: string[] = [];
  const telegram = {
    sendChatAction: async () => {
      if (typing429) throw Object.assign(new Error('429'), { response: { error_code: 429, parameters: { retry_after: 1 } } });
    },
    sendMessage: async (chatId: number) => {
      calls.push(`${chatId}@${Date.now()}`);
      if (chatId === 9) throw Object.assign(new Error('429'), { response: { error_code: 429, parameters: { retry_after: 0.05 } } });
      return { message_id: 1 };
    },
  } as unknown as Telegram;
  const outbox = new Outbox(telegram, createLogger('debug', (line) => log.push(line)), { limits: { ...TELEGRAM_LIMITS, max429: 2 } });
  await outbox.send(7, 'typing', (t) => t.sendChatAction(7, 'typing'), { kind: 'light', optional: true });
  typing429 = false;
  assert.ok(outbox.paused(7), 'the chat waits out the 429 its typing got');
  const started = Date.now();
  await outbox.send(7, 'answer', (t) => t.sendMessage(7, '.'));
  assert.ok(Date.now() - started >= 900, 'and the answer waited for it');
  assert.equal(await outbox.send(9, 'answer', (t) => t.sendMessage(9, '.')), undefined);
  assert.equal(calls.filter((c) => c.startsWith('9@')).length, 3, 'one try and two retries');
  assert.match(log.join('\n'), /answer to chat 9 not delivered: still 429 after 2 waits/);
});

test('questions: users take turns, a chat\'s questions stay in order, the queue is bounded', async () => {
  const queue = new TaskQueue({ concurrency: 1, maxQueued: 5, maxPerUser: 3 });
  const order: string[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const task = (label: string) => async () => {
    await gate;
    order.push(label);
  };
  assert.equal(queue.submit(1, 1, task('a1')), 'queued'); // starts at once, waits for the gate
  assert.equal(queue.submit(1, 1, task('a2')), 'queued');
  assert.equal(queue.submit(1, 1, task('a3')), 'queued');
  assert.equal(queue.submit(1, 1, task('a4')), 'queued');
  assert.equal(queue.submit(1, 1, task('a5')), 'user-full', 'three waiting is this user\'s share');
  assert.equal(queue.submit(2, 2, task('b1')), 'queued');
  assert.equal(queue.submit(3, 3, task('c1')), 'queued');
  assert.equal(queue.submit(4, 4, task('d1')), 'full', 'five waiting in all');
  release();
  assert.equal(await queue.drain(2000), true);
  assert.deepEqual(order, ['a1', 'b1', 'c1', 'a2', 'a3', 'a4'], 'the flooding user does not go before the others');
});

test('questions: two forum topics of one chat are answered side by side, each topic in order', async () => {
  const queue = new TaskQueue({ concurrency: 2, maxQueued: 5, maxPerUser: 3 });
  const [topicA, topicB] = [ConversationStore.key(-100, 11), ConversationStore.key(-100, 22)];
  const events: string[] = [];
  let releaseA: () => void = () => {};
  const slowA = new Promise<void>((r) => (releaseA = r));
  queue.submit(1, topicA, async () => {
    await slowA;
    events.push('a1');
  });
  queue.submit(1, topicA, async () => void events.push('a2'));
  queue.submit(2, topicB, async () => void events.push('b1'));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(events, ['b1'], 'B does not wait for A; A\'s second question waits for its first');
  releaseA();
  assert.equal(await queue.drain(2000), true);
  assert.deepEqual(events, ['b1', 'a1', 'a2']);
});

test('a forum topic is a thread; an ordinary group\'s reply thread and the General topic are not', () => {
  assert.equal(threadOf({ is_topic_message: true, message_thread_id: 11 }), 11);
  assert.equal(threadOf({ message_thread_id: 40 }), undefined, 'a reply in an ordinary group');
  assert.equal(threadOf({}), undefined, 'the General topic');
  const bot = { id: 666, is_bot: true };
  assert.equal(repliesToBot({ reply_to_message: { from: bot } }, 666), true);
  assert.equal(repliesToBot({ reply_to_message: { from: bot, forum_topic_created: { name: '话题' } } }, 666), false, 'only in a topic the bot created');
  assert.equal(repliesToBot({}, 666), false);
});

test('one notice per user and kind per window', () => {
  let now = 0;
  const notices = new NoticeLimiter(60_000, () => now);
  assert.equal(notices.allow(1, 'rate'), true);
  assert.equal(notices.allow(1, 'rate'), false);
  assert.equal(notices.allow(1, 'busy'), true, 'another kind');
  assert.equal(notices.allow(2, 'rate'), true, 'another user');
  now += 60_000;
  assert.equal(notices.allow(1, 'rate'), true);
});

test('conversation memory is per chat and thread, bounded in turns, age and number of chats', () => {
  let now = 0;
  const store = new ConversationStore({ maxTurns: 2, maxAgeMs: 1000, maxConversations: 2 }, () => now);
  const answer = (text: string): Answer => ({ text, citations: [], refused: false, coverage: 'full', notReported: [], mode: 'extractive', timings: { totalMs: 0, retrieveMs: 0, generateMs: 0 } });
  const a = ConversationStore.key(1, undefined);
  const b = ConversationStore.key(1, 7);
  store.record(a, 'q1', answer('a1'), 1, [10]);
  store.record(a, 'q2', answer('a2'), 1, [11]);
  store.record(a, 'q3', answer('a3'), 1, [12]);
  assert.deepEqual(store.history(a).map((t) => t.question), ['q2', 'q3']);
  assert.deepEqual(store.history(b), [], 'another thread has its own memory');
  assert.deepEqual(store.historyAt(1, 11)?.map((t) => t.question), ['q1', 'q2'], 'replying to an older answer continues from there');
  assert.equal(store.answerAt(1, 12)?.text, 'a3');
  now += 1001;
  assert.deepEqual(store.history(a), [], 'old conversations are forgotten');
  store.record(ConversationStore.key(2), 'x', answer('x'), 2, [1]);
  store.record(ConversationStore.key(3), 'y', answer('y'), 3, [1]);
  store.record(ConversationStore.key(4), 'z', answer('z'), 4, [1]);
  assert.deepEqual(store.history(ConversationStore.key(2)), [], 'the least recently used chat is dropped');
});

test('mentions are recognised by entity or text, and stripped from the question', () => {
  const text = '@TestNameBot 邓州早餐多少钱？';
  assert.ok(mentionsBot(text, [{ type: 'mention', offset: 0, length: 12 }], 'TestNameBot', 666));
  assert.ok(mentionsBot('问一下 @testnamebot 邓州', undefined, 'TestNameBot', 666));
  assert.ok(!mentionsBot('@OtherBot 邓州', [{ type: 'mention', offset: 0, length: 9 }], 'TestNameBot', 666));
  assert.ok(!mentionsBot('@TestNameBot_dev 邓州', undefined, 'TestNameBot', 666), 'a similarly named bot is not us');
  assert.equal(stripMention(text, 'TestNameBot'), '邓州早餐多少钱？');
});

test('uploaded page names are made safe: no directories, hidden files or other extensions', () => {
  assert.equal(safePageName('../../etc/passwd.txt'), 'passwd.txt');
  assert.equal(safePageName('新版面 01.TXT'), '新版面_01.txt');
  assert.equal(safePageName('.hidden.md'), 'hidden.md');
  assert.equal(safePageName('page.exe'), undefined);
  assert.equal(safePageName('.txt'), undefined);
});

test('tasks of one chat run in order; other chats do not wait; drain waits for all', async () => {
  const queue = new TaskQueue();
  const order: string[] = [];
  const slow = (label: string, ms: number) => async () => {
    await new Promise((r) => setTimeout(r, ms));
    order.push(label);
  };
  queue.submit(1, 1, slow('chat1-first', 80));
  queue.submit(1, 1, slow('chat1-second', 1));
  queue.submit(2, 2, slow('chat2', 10));
  queue.submit(3, 3, async () => {
    throw new Error('a failing task does not break the queue');
  });
  assert.equal(await queue.drain(2000), true);
  assert.deepEqual(order, ['chat2', 'chat1-first', 'chat1-second']);
});

test('a second signal shortens a drain under way: it returns false while the slow answer still runs', async () => {
  const queue = new TaskQueue();
  let finish: () => void = () => {};
  queue.submit(1, 1, () => new Promise<void>((resolve) => (finish = resolve)));
  const drained = queue.drain(60_000);
  await new Promise((r) => setTimeout(r, 50));
  queue.shortenDrain(100);
  assert.equal(await drained, false);
  assert.equal(queue.size, 1, 'the answer was still in flight when the drain gave up');
  finish();
  assert.equal(await queue.drain(1000), true);
});
