import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Answer } from '../../src/answer/types.ts';
import { ConversationStore } from '../../src/bot/conversations.ts';
import { mentionsBot, stripMention } from '../../src/bot/handlers/ask.ts';
import { safePageName } from '../../src/bot/handlers/admin.ts';
import { RateLimiter } from '../../src/bot/limits.ts';
import { withTelegramRetry } from '../../src/bot/send.ts';
import { TaskQueue } from '../../src/bot/tasks.ts';

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

test('429 waits for retry_after and retries; 403 gives up quietly; other errors surface', async () => {
  let calls = 0;
  const started = Date.now();
  const result = await withTelegramRetry(async () => {
    calls++;
    if (calls === 1) throw Object.assign(new Error('429'), { response: { error_code: 429, parameters: { retry_after: 1 } } });
    return 'sent';
  });
  assert.equal(result, 'sent');
  assert.equal(calls, 2);
  assert.ok(Date.now() - started >= 900, 'waited retry_after');
  assert.equal(await withTelegramRetry(async () => Promise.reject(Object.assign(new Error('blocked'), { response: { error_code: 403 } }))), undefined);
  await assert.rejects(withTelegramRetry(async () => Promise.reject(Object.assign(new Error('bad'), { response: { error_code: 400 } }))), /bad/);
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
  void queue.run(1, slow('chat1-first', 80));
  void queue.run(1, slow('chat1-second', 1));
  void queue.run(2, slow('chat2', 10));
  void queue.run(3, async () => {
    throw new Error('a failing task does not break the queue');
  });
  assert.equal(await queue.drain(2000), true);
  assert.deepEqual(order, ['chat2', 'chat1-first', 'chat1-second']);
});

test('a second signal shortens a drain under way: it returns false while the slow answer still runs', async () => {
  const queue = new TaskQueue();
  let finish: () => void = () => {};
  void queue.run(1, () => new Promise<void>((resolve) => (finish = resolve)));
  const drained = queue.drain(60_000);
  await new Promise((r) => setTimeout(r, 50));
  queue.shortenDrain(100);
  assert.equal(await drained, false);
  assert.equal(queue.size, 1, 'the answer was still in flight when the drain gave up');
  finish();
  assert.equal(await queue.drain(1000), true);
});
