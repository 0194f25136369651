// The streamed answer's pacing and final delivery (src/bot/stream.ts) with the real outbox and a
// fast pace, Telegram faked at its edge: what the end-to-end tests cannot reach in seconds (a
// group's per-minute budget) or cannot provoke (a streamed message that can no longer be edited).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Telegram } from 'telegraf';
import { Outbox, TELEGRAM_LIMITS } from '../../src/bot/outbox.ts';
import { AnswerStream, previewText, STREAM_PACE } from '../../src/bot/stream.ts';
import { silentLogger } from '../../src/log.ts';

type Call = { method: string; chatId: number; text?: string; messageId?: number; extra?: Record<string, unknown> };
const FAST = { ...STREAM_PACE, draftMs: 10, editMs: 20, firstAfterMs: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Telegram that records sends, edits and deletions; `editFails` refuses every edit. */
function fakeTelegram(options: { editFails?: boolean } = {}) {
  const calls: Call[] = [];
  let nextId = 100;
  const telegram = {
    sendMessage: async (chatId: number, text: string, extra: Record<string, unknown>) => (calls.push({ method: 'sendMessage', chatId, text, extra }), { message_id: nextId++ }),
    editMessageText: async (chatId: number, messageId: number, _inline: undefined, text: string, extra: Record<string, unknown>) => {
      calls.push({ method: 'editMessageText', chatId, messageId, text, extra });
      if (options.editFails) throw Object.assign(new Error('400'), { response: { error_code: 400, description: 'Bad Request: message to edit not found' } });
      return true;
    },
    deleteMessage: async (chatId: number, messageId: number) => (calls.push({ method: 'deleteMessage', chatId, messageId }), true),
  } as unknown as Telegram;
  return { telegram, calls };
}

/** Streams `words` one every `everyMs`, as a model would, then finishes with `final`. */
async function stream(s: AnswerStream, words: number, everyMs: number, final: string[]): Promise<number[]> {
  let text = '';
  for (let i = 0; i < words; i++) {
    text += `第${i}句话。`;
    s.update(text);
    await sleep(everyMs);
  }
  return s.finish(final, { replyTo: 1, keyboard: [[{ text: '👍', callback_data: 'vote:up' }]] });
}

test('a long stream in a group leaves the group\'s per-minute budget to real messages; the final still goes', async () => {
  const { telegram, calls } = fakeTelegram();
  const outbox = new Outbox(telegram, silentLogger, { limits: { ...TELEGRAM_LIMITS, chat: { limit: 100, windowMs: 1000 }, group: { limit: 12, windowMs: 60_000 } } });
  const s = new AnswerStream(outbox, { chatId: -42, replyTo: 1 }, { mode: 'edit', support: { drafts: true }, logger: silentLogger, pace: { ...FAST, groupReserve: 8 } });
  const ids = await stream(s, 60, 5, ['<b>最终回答</b>']);
  const previews = calls.slice(0, -1);
  assert.ok(previews.length >= 2, `${previews.length} previews`);
  assert.ok(previews.length <= 12 - 8, `previews stopped with 8 of 12 messages left: ${previews.length} sent`);
  const final = calls.at(-1)!;
  assert.equal(final.method, 'editMessageText');
  assert.equal(final.text, '<b>最终回答</b>');
  assert.equal(final.extra?.parse_mode, 'HTML');
  assert.deepEqual(ids, [100]);
});

test('an answer done before the first preview is due arrives whole: no preview, one message', async () => {
  const { telegram, calls } = fakeTelegram();
  const outbox = new Outbox(telegram, silentLogger);
  const s = new AnswerStream(outbox, { chatId: -43, replyTo: 1 }, { mode: 'edit', support: { drafts: true }, logger: silentLogger, pace: { ...FAST, firstAfterMs: 1000 } });
  await stream(s, 10, 5, ['最终回答']);
  assert.deepEqual(calls.map((c) => c.method), ['sendMessage']);
  assert.equal(calls[0].text, '最终回答');
});

test('a streamed message that can no longer be edited: the preview is deleted and the answer sent anew', async () => {
  const { telegram, calls } = fakeTelegram({ editFails: true });
  const outbox = new Outbox(telegram, silentLogger);
  const s = new AnswerStream(outbox, { chatId: -44, replyTo: 1 }, { mode: 'edit', support: { drafts: true }, logger: silentLogger, pace: FAST });
  const ids = await stream(s, 10, 10, ['最终回答']);
  await sleep(20);
  const methods = calls.map((c) => c.method);
  assert.equal(methods[0], 'sendMessage', 'the preview started');
  assert.ok(methods.includes('deleteMessage'), methods.join(' '));
  const resent = calls.filter((c) => c.method === 'sendMessage').at(-1)!;
  assert.equal(resent.text, '最终回答');
  assert.deepEqual(resent.extra?.reply_markup, { inline_keyboard: [[{ text: '👍', callback_data: 'vote:up' }]] });
  assert.deepEqual(ids, [101]);
});

test('a final answer in several parts: the preview becomes the first, the rest follow, the buttons on the last', async () => {
  const { telegram, calls } = fakeTelegram();
  const outbox = new Outbox(telegram, silentLogger);
  const s = new AnswerStream(outbox, { chatId: 45, replyTo: 1 }, { mode: 'edit', support: { drafts: true }, logger: silentLogger, pace: FAST });
  const ids = await stream(s, 10, 10, ['第一部分', '第二部分']);
  const edit = calls.filter((c) => c.method === 'editMessageText').at(-1)!;
  assert.equal(edit.text, '第一部分');
  assert.equal(edit.extra?.reply_markup, undefined, 'no buttons on the first of two');
  const last = calls.at(-1)!;
  assert.equal(last.text, '第二部分');
  assert.ok(last.extra?.reply_markup, 'buttons on the last part');
  assert.equal(last.extra?.reply_parameters, undefined, 'only the first part replies to the question');
  assert.deepEqual(ids, [100, 101]);
  assert.deepEqual(await s.finish(['又一次'], {}), ids, 'finishing twice delivers once');
});

test('a preview is at most one message long and says it is still being written', () => {
  assert.equal(previewText(' 正在写 ', true), '正在写 …');
  assert.equal(previewText('正在写', false), '正在写');
  const long = previewText('字'.repeat(5000), true);
  assert.ok(long.length <= 4096 && long.endsWith('…'), `${long.length}`);
});
