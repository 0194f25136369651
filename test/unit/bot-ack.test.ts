// The acknowledgement (👀 and typing), the typed Bot API wrapper and the command menus, with a
// fake Telegram behind the real outbox.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Telegram } from 'telegraf';
import { Acknowledger, AckLatency } from '../../src/bot/ack.ts';
import { callBotApi } from '../../src/bot/api.ts';
import { commandScopes, publishCommands } from '../../src/bot/commands.ts';
import { Outbox } from '../../src/bot/outbox.ts';
import { TaskQueue } from '../../src/bot/tasks.ts';
import { createLogger, silentLogger } from '../../src/log.ts';

type Call = { method: string; payload: Record<string, unknown> };
const telegramError = (code: number, description: string, retryAfter?: number) =>
  Object.assign(new Error(description), { response: { error_code: code, description, ...(retryAfter ? { parameters: { retry_after: retryAfter } } : {}) } });

/** A Telegram whose callApi and sendChatAction are recorded; `fail` decides a method's error. */
function fakeTelegram(fail: (call: Call) => Error | undefined = () => undefined) {
  const calls: Call[] = [];
  const record = async (method: string, payload: Record<string, unknown>) => {
    const call = { method, payload };
    calls.push(call);
    const error = fail(call);
    if (error) throw error;
    return true as const;
  };
  const telegram = {
    callApi: (method: string, payload: Record<string, unknown>) => record(method, payload),
    sendChatAction: (chatId: number) => record('sendChatAction', { chat_id: chatId }),
  } as unknown as Telegram;
  return { telegram, calls };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('callBotApi sends the method and payload as given, through telegram.callApi', async () => {
  const { telegram, calls } = fakeTelegram();
  assert.equal(await callBotApi(telegram, 'setMessageReaction', { chat_id: 5, message_id: 7, reaction: [{ type: 'emoji', emoji: '👀' }] }), true);
  assert.deepEqual(calls, [{ method: 'setMessageReaction', payload: { chat_id: 5, message_id: 7, reaction: [{ type: 'emoji', emoji: '👀' }] } }]);
});

test('an acknowledgement reacts 👀 and types at once, and removes the reaction only after the answer', async () => {
  const { telegram, calls } = fakeTelegram();
  const outbox = new Outbox(telegram, silentLogger);
  const acknowledger = new Acknowledger(outbox, silentLogger);
  const ack = acknowledger.start(1, 10, Date.now());
  await sleep(20);
  assert.deepEqual(calls.map((c) => c.method), ['setMessageReaction', 'sendChatAction']);
  assert.deepEqual(calls[0].payload.reaction, [{ type: 'emoji', emoji: '👀' }]);
  let deliver: () => void = () => {};
  ack.finishAfter(new Promise<void>((resolve) => (deliver = resolve)));
  ack.finishAfter(Promise.resolve()); // a second finish is ignored
  await sleep(20);
  assert.equal(calls.length, 2, 'nothing removed before the answer is out');
  deliver();
  await sleep(20);
  assert.deepEqual(calls.slice(2), [{ method: 'setMessageReaction', payload: { chat_id: 1, message_id: 10, reaction: [] } }]);
  assert.equal(acknowledger.latency.issued.length, 1);
  assert.equal(acknowledger.latency.answered.length, 1);
});

test('a chat that refuses reactions: logged once, never retried, never removed, typing still sent', async () => {
  const { telegram, calls } = fakeTelegram((c) => (c.method === 'setMessageReaction' ? telegramError(400, 'Bad Request: REACTION_INVALID') : undefined));
  const log: string[] = [];
  const outbox = new Outbox(telegram, createLogger('debug', (line) => log.push(line)));
  const acknowledger = new Acknowledger(outbox, createLogger('info', (line) => log.push(line)));
  // Two at once (both try before the refusal is known), then two more.
  for (const messageId of [1, 2]) acknowledger.start(-100, messageId, Date.now()).finishAfter(Promise.resolve());
  await sleep(30);
  for (const messageId of [3, 4]) acknowledger.start(-100, messageId, Date.now()).finishAfter(Promise.resolve());
  await sleep(30);
  assert.deepEqual(calls.filter((c) => c.method === 'setMessageReaction').length, 2, 'not tried again once refused');
  assert.equal(calls.filter((c) => c.method === 'sendChatAction').length, 4);
  assert.equal(log.filter((l) => /takes no reaction/.test(l)).length, 1, log.join('\n'));
  assert.equal(log.filter((l) => / WARN /.test(l)).length, 0, 'not a warning: nothing is wrong');
  assert.deepEqual(outbox.failures, { blocked: 0, gaveUp: 0 });
});

test('a 429 on the reaction pauses the chat, is not retried, and the chat\'s next acknowledgement is skipped', async () => {
  const { telegram, calls } = fakeTelegram((c) => (c.method === 'setMessageReaction' ? telegramError(429, 'Too Many Requests: retry after 5', 5) : undefined));
  const outbox = new Outbox(telegram, silentLogger);
  const acknowledger = new Acknowledger(outbox, silentLogger);
  acknowledger.start(7, 1, Date.now()).finishAfter(Promise.resolve());
  await sleep(30);
  assert.ok(outbox.paused(7), 'the chat waits out retry_after');
  const before = calls.length;
  acknowledger.start(7, 2, Date.now());
  await sleep(30);
  assert.equal(calls.length, before, 'no call to a chat waiting out a 429');
  assert.equal(calls.filter((c) => c.method === 'setMessageReaction').length, 1, 'the 429 was not retried, nor a removal sent');
});

test('AckLatency keeps the last samples and gives percentiles', () => {
  const latency = new AckLatency(4);
  assert.equal(latency.percentile('issued', 50), undefined);
  for (const ms of [50, 1, 2, 3, 4]) latency.record('issued', ms);
  assert.deepEqual(latency.issued, [1, 2, 3, 4]);
  assert.equal(latency.percentile('issued', 50), 3);
  assert.equal(latency.percentile('issued', 95), 4);
});

test('command menus: private chats, groups, then each admin with the admin commands', () => {
  const scopes = commandScopes([11, 22]);
  const view = scopes.map((s) => [s.scope, s.commands.map((c) => c.command).join(' ')]);
  assert.deepEqual(view, [
    [{ type: 'all_private_chats' }, 'start help new'],
    [{ type: 'all_group_chats' }, 'ask help'],
    [{ type: 'chat', chat_id: 11 }, 'start help new reindex stats'],
    [{ type: 'chat', chat_id: 22 }, 'start help new reindex stats'],
  ]);
  for (const { command, description } of scopes.flatMap((s) => s.commands)) {
    assert.match(command, /^[a-z0-9_]{1,32}$/);
    assert.ok(description.length >= 1 && description.length <= 256 && /[\u4e00-\u9fff]/.test(description), `/${command}`);
  }
});

test('publishCommands: a 400 for one admin is logged and the rest still set; a missing method is logged once', async () => {
  const log: string[] = [];
  const logger = createLogger('info', (line) => log.push(line));
  const chatNotFound = fakeTelegram((c) => ((c.payload.scope as { chat_id?: number }).chat_id === 11 ? telegramError(400, 'Bad Request: chat not found') : undefined));
  const set = await publishCommands(chatNotFound.telegram, [11, 22], logger);
  assert.deepEqual(set.map((s) => s.scope.type), ['all_private_chats', 'all_group_chats', 'chat']);
  assert.equal(chatNotFound.calls.length, 4);
  assert.match(log.join('\n'), /WARN .*setMyCommands for chat 11 failed \(carrying on without that menu\): Bad Request: chat not found/);

  log.length = 0;
  const missing = fakeTelegram(() => telegramError(404, 'Not Found'));
  assert.deepEqual(await publishCommands(missing.telegram, [11, 22], logger), []);
  assert.equal(missing.calls.length, 1, 'not tried again for every scope');
  assert.equal(log.length, 1);
});

test('the queue says whether it would take a question before it is given one', async () => {
  const queue = new TaskQueue({ concurrency: 1, maxQueued: 2, maxPerUser: 1 });
  let release: () => void = () => {};
  const blocker = new Promise<void>((resolve) => (release = resolve));
  assert.equal(queue.admission(1), 'queued');
  queue.submit(1, 1, () => blocker); // runs at once
  queue.submit(1, 1, async () => {}); // waits
  assert.equal(queue.admission(1), 'user-full');
  assert.equal(queue.submit(1, 1, async () => {}), 'user-full');
  queue.submit(2, 2, async () => {});
  assert.equal(queue.admission(3), 'full');
  release();
  assert.ok(await queue.drain(1000));
  assert.equal(queue.admission(1), 'queued');
});
