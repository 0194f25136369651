// needs: model
// Streamed answers, against the Bot API emulator (sendMessageDraft added at its network boundary,
// test/helpers/telegram.ts) and a fake OpenAI-compatible server that streams its reply as
// server-sent events through the real LangChain client. The model's reply carries a sentence the
// citation check removes (a number no article prints): previews show it, the final never does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LLM_FALLBACK_NOTICE } from '../../src/answer/answer.ts';
import { STREAM_PACE } from '../../src/bot/stream.ts';
import { startLlmBot } from '../helpers/bot.ts';
import type { ChatRequest } from '../helpers/fake-openai.ts';
import { BOT_USERNAME, type ApiCall, type SentMessage } from '../helpers/telegram.ts';
import { validateTelegramHtml } from '../helpers/telegram-html.ts';

const QUESTIONS = ['浏阳大瑶镇有多少家花炮上下游企业？', '邓州市总工会为爱心早餐项目筹资多少钱？', '上海计划建设多少间职工工间休息室？', '深圳诗歌大赛是谁主办的？'];
/** Unverifiable: no article prints 9999, so the citation check removes this sentence. */
const UNVERIFIED = '另有9999名职工到场观摩。';
/** Three characters an event, this far apart: a 60-character reply streams for about 3 s. */
const CHUNK_DELAY_MS = 150;

/** The unverifiable sentence, then the first sentence of the first passage, each cited [1]. */
function streamingEcho(request: ChatRequest) {
  const passage = /\[1\] 标题：.*\n([^\n]*)/.exec(request.messages.at(-1)!.content)?.[1] ?? '';
  const first = /^.*?[。！？]/.exec(passage)?.[0] ?? passage;
  return { content: `${UNVERIFIED}[1]${first}[1]`, chunkDelayMs: CHUNK_DELAY_MS };
}

const { llm, telegram, running } = await startLlmBot({ reply: streamingEcho, env: { RATE_LIMIT_PER_MINUTE: '60' } });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const callsIn = (chatId: number, method: string) => telegram.calls().filter((c) => c.chatId === String(chatId) && c.method === method);
const messagesIn = (chatId: number): SentMessage[] => telegram.allBotMessages().filter((m) => String(m.message.chat_id) === String(chatId));
const gaps = (calls: { at: number }[]) => calls.slice(1).map((c, i) => c.at - calls[i].at);

async function until(what: string, ready: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function inGroup(userId: number, chatId: number) {
  const member = telegram.client({ userId, chatId, type: 'supergroup' });
  const ask = (question: string, extra: Record<string, unknown> = {}) =>
    member.sendMessage(member.makeMessage(`@${BOT_USERNAME} ${question}`, { entities: [{ type: 'mention', offset: 0, length: BOT_USERNAME.length + 1 }], ...extra } as never));
  return { ask };
}

/** The checked final: the unverifiable sentence gone, said so, valid HTML, the buttons on it. */
function assertFinal(message: SentMessage['message'], topic: RegExp): void {
  assert.match(message.text, topic);
  assert.doesNotMatch(message.text, /9999/, 'the sentence the check removed is not in the final');
  assert.match(message.text, /已删除1处无法在原文中核实的内容/);
  assert.deepEqual(validateTelegramHtml(message.text), []);
  assert.deepEqual(message.reply_markup?.inline_keyboard[0].map((b) => b.text), ['查看原文', '👍', '👎']);
}

test('a private chat sees drafts as the model writes, at least 0.5 s apart, then one checked message', { timeout: 60_000 }, async () => {
  const userId = 7001;
  const user = telegram.client({ userId });
  await user.sendMessage(user.makeMessage(QUESTIONS[0]));
  const questionId = telegram.userMessageId(QUESTIONS[0]);
  const [answer] = await telegram.botMessages(userId, 1, 30_000);
  assertFinal(answer.message, /浏阳|大瑶|花炮/);
  const drafts = telegram.drafts().filter((d) => d.chatId === String(userId));
  assert.ok(drafts.length >= 2, `${drafts.length} drafts`);
  assert.ok(drafts.every((d) => d.draftId === questionId), 'one draft, named by the question');
  drafts.slice(1).forEach((d, i) => assert.ok(d.text.startsWith(drafts[i].text), `draft ${i + 2} grows the one before`));
  assert.ok(drafts.some((d) => d.text.includes('9999')), 'the previews showed the model\'s text before the check');
  for (const gap of gaps(drafts)) assert.ok(gap >= STREAM_PACE.draftMs - 50, `drafts ${gap} ms apart`);
  const [sent] = callsIn(userId, 'sendMessage');
  assert.ok(drafts.at(-1)!.at <= sent.at, 'the final message comes after the last draft');
  assert.equal(callsIn(userId, 'editMessageText').length, 0, 'no edits where drafts work');
  assert.equal(messagesIn(userId).length, 1);
});

test('a group (here a forum topic) sees one message edited in place, at least 1.5 s between edits, ending as the checked answer', { timeout: 60_000 }, async () => {
  const group = -100501;
  const topic = 33;
  await inGroup(7002, group).ask(QUESTIONS[1], { is_topic_message: true, message_thread_id: topic, chat: { is_forum: true } });
  const questionId = telegram.userMessageId(`@${BOT_USERNAME} ${QUESTIONS[1]}`);
  await until('the final edit', () => messagesIn(group).some((m) => /已删除/.test(m.message.text)), 30_000);
  const [message] = messagesIn(group);
  assert.equal(messagesIn(group).length, 1, 'one message, edited: no second copy');
  assertFinal(message.message, /爱心早餐|邓州/);
  const [started] = callsIn(group, 'sendMessage');
  assert.equal((started.body.reply_parameters as { message_id: number }).message_id, questionId, 'the streamed message replies to the question');
  assert.equal(started.body.message_thread_id, topic, 'in the question\'s topic');
  assert.match(String(started.body.text), /9999.* …$/, 'started with the model\'s first words, marked as still being written');
  const edits = callsIn(group, 'editMessageText');
  assert.ok(edits.length >= 2, `${edits.length} edits: previews and the final`);
  for (const gap of gaps([started, ...edits])) assert.ok(gap >= 1500, `edits ${gap} ms apart`);
  assert.ok(edits.every((c) => c.body.message_id === message.messageId), 'all edits go to that message');
  assert.equal(edits.at(-1)!.body.parse_mode, 'HTML', 'the final edit is the rendered answer');
  assert.equal(callsIn(group, 'sendMessageDraft').length, 0, 'no drafts in a group');
});

test('a 429 in the middle of a group\'s stream: previews wait it out, and the final answer still arrives', { timeout: 60_000 }, async () => {
  const group = -100502;
  await inGroup(7003, group).ask(QUESTIONS[2]);
  await until('the streamed message', () => messagesIn(group).length > 0);
  // Flood control from now on, for 3 s: the next edit (a preview, or the final) is refused.
  telegram.fault(group, { retryAfter: 3, times: 1, methods: ['editMessageText'] });
  await until('the final edit', () => messagesIn(group).some((m) => /已删除/.test(m.message.text)), 40_000);
  telegram.fault(group, undefined);
  assert.equal(messagesIn(group).length, 1);
  assertFinal(messagesIn(group)[0].message, /休息室/);
  const edits = callsIn(group, 'editMessageText');
  const refused = edits.filter((c) => c.status === 429);
  assert.ok(refused.length >= 1, 'Telegram refused an edit');
  const last = edits.at(-1)!;
  assert.equal(last.status, 200);
  assert.ok(last.at >= refused[0].at + 2900, `the final edit waited out retry_after (${last.at - refused[0].at} ms)`);
  const during = edits.filter((c) => c.at > refused[0].at && c.at < refused[0].at + 2900);
  assert.equal(during.length, 0, 'nothing was sent while the chat had to wait');
});

test('the model breaking off mid-stream: the drafts give way to the extractive answer, with the notice', { timeout: 60_000 }, async () => {
  const userId = 7004;
  const user = telegram.client({ userId });
  llm.script((request) => ({ ...streamingEcho(request), failAfterChars: 45 }));
  await user.sendMessage(user.makeMessage(QUESTIONS[3]));
  const [answer] = await telegram.botMessages(userId, 1, 30_000);
  assert.ok(telegram.drafts().some((d) => d.chatId === String(userId)), 'drafts were shown before the break');
  assert.match(answer.message.text, new RegExp(LLM_FALLBACK_NOTICE.replace(/[（）。]/g, '.')));
  assert.match(answer.message.text, /诗歌/);
  assert.doesNotMatch(answer.message.text, /9999/);
});

test('an inline query whose LLM answer would come too late for Telegram gets the extractive answer in time', { timeout: 60_000 }, async () => {
  const asked = llm.requests.length;
  // Telegram drops an inline answer after about 10 s; this model would take 12.
  llm.script({ content: '迟到的生成回答[1]', delayMs: 12_000 });
  const id = telegram.inlineQuery(7010, QUESTIONS[2]);
  await until('the inline answer', () => telegram.inlineAnswers().some((a) => a.inlineQueryId === id), 30_000);
  const answer = telegram.inlineAnswers().find((a) => a.inlineQueryId === id)!;
  assert.equal(llm.requests.length, asked + 1, 'the LLM was asked');
  const [first] = answer.results;
  assert.match(first.input_message_content.message_text, /休息室/);
  assert.doesNotMatch(first.input_message_content.message_text, /迟到/, 'not the late generated answer');
});

// Last: the emulator loses sendMessageDraft for good.
test('a Bot API server without drafts: private answers stream by edits instead, learned once; extractive answers are not streamed', { timeout: 90_000 }, async () => {
  telegram.withoutDrafts();
  const first = 7005;
  const user = telegram.client({ userId: first });
  await user.sendMessage(user.makeMessage(QUESTIONS[0]));
  await until('the final edit', () => messagesIn(first).some((m) => /已删除/.test(m.message.text)), 30_000);
  assert.equal(messagesIn(first).length, 1);
  assertFinal(messagesIn(first)[0].message, /浏阳|大瑶|花炮/);
  const refused: ApiCall[] = callsIn(first, 'sendMessageDraft');
  assert.deepEqual(refused.map((c) => c.status), [404], 'tried once');
  assert.match(String(callsIn(first, 'sendMessage')[0].body.text), /9999.* …$/, 'then a message started with the model\'s words');
  assert.ok(callsIn(first, 'editMessageText').length >= 1, 'and edited into the answer');

  const second = 7006;
  const other = telegram.client({ userId: second });
  await other.sendMessage(other.makeMessage(QUESTIONS[1]));
  await until('the final edit', () => messagesIn(second).some((m) => /已删除/.test(m.message.text)), 30_000);
  assert.equal(callsIn(second, 'sendMessageDraft').length, 0, 'the server\'s lack of drafts is remembered');
  assert.match(String(callsIn(second, 'sendMessage')[0].body.text), / …$/);
  assert.ok(callsIn(second, 'editMessageText').length >= 1);

  // The model down: the extractive answer is quick, and arrives as one message, never edited.
  llm.script({ status: 500 });
  const edits = telegram.calls().filter((c) => c.method === 'editMessageText').length;
  await other.sendMessage(other.makeMessage(QUESTIONS[2]));
  const [extractive] = await telegram.botMessages(second, 2, 30_000).then((m) => m.slice(-1));
  assert.match(extractive.message.text, /休息室/);
  assert.match(extractive.message.text, new RegExp(LLM_FALLBACK_NOTICE.replace(/[（）。]/g, '.')));
  await running.state.tasks.drain(5_000);
  assert.equal(telegram.calls().filter((c) => c.method === 'editMessageText').length, edits, 'no edits for an extractive answer');
});
