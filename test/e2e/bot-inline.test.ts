// needs: model
// Inline mode (`@bot 问题` in any chat), against the Bot API emulator with the real bot (extractive
// answers, the local backend). The emulator has no inline mode: the harness injects inline_query
// updates and records answerInlineQuery. The answer comes first with its markers and 来源, then
// the cited articles; a refusal is one result; an empty query costs no answer work; typing on
// drops the older query; the question limit applies; no chat message is ever sent.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { RunningBot } from '../../src/bot/run.ts';
import { INLINE_CACHE_S, PRIVATE_BUTTON } from '../../src/bot/handlers/inline.ts';
import { REFUSAL_TITLE } from '../../src/bot/inline-results.ts';
import { startTestBot } from '../helpers/bot.ts';
import { testConfig } from '../helpers/config.ts';
import { seedCorpus } from '../helpers/corpus.ts';
import { validateTelegramHtml } from '../helpers/telegram-html.ts';
import { botEnv, startTelegram, type InlineAnswer } from '../helpers/telegram.ts';

const QUESTION = '上海市总工会2023年建成了多少间职工工间休息室？';
const UNKNOWN = '杭州市总工会为外卖骑手建设了多少个爱心驿站？';

const corpus = seedCorpus();
const telegram = await startTelegram();
const config = testConfig({ ...corpus.env, ...botEnv(telegram.apiRoot), RATE_LIMIT_PER_MINUTE: '3' });
const running: RunningBot = await startTestBot(config);
after(async () => {
  await running.stop('test end');
  await telegram.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts the answer pipeline's runs, to show which queries cost no answer work. */
let answered = 0;
const answerer = running.state.answerer;
const answer = answerer.answer.bind(answerer);
answerer.answer = (...args) => ((answered += 1), answer(...args));

async function answerOf(queryId: string, timeoutMs = 20_000): Promise<InlineAnswer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = telegram.inlineAnswers().find((a) => a.inlineQueryId === queryId);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no answerInlineQuery for ${queryId}`);
    await sleep(25);
  }
}

test('an inline question gets the answer first, with markers and 来源, then the cited articles', { timeout: 60_000 }, async () => {
  const reply = await answerOf(telegram.inlineQuery(5001, QUESTION));
  assert.equal(reply.cacheTime, INLINE_CACHE_S);
  assert.equal(reply.isPersonal, false);
  const [first, ...articles] = reply.results;
  assert.equal(first.id, 'answer');
  assert.match(first.title, /^回答：上海市总工会/);
  assert.match(first.description ?? '', /1400间/);
  const posted = first.input_message_content;
  assert.equal(posted.parse_mode, 'HTML');
  assert.match(posted.message_text, /1400间.*\[1\]/s);
  assert.match(posted.message_text, /<b>来源<\/b>/);
  assert.ok(posted.message_text.length <= 4096);
  assert.deepEqual(validateTelegramHtml(posted.message_text), []);

  assert.ok(articles.length >= 1, 'the cited articles follow the answer');
  for (const article of articles) {
    assert.ok(Buffer.byteLength(article.id) <= 64);
    assert.match(article.title, /^《.+》$/);
    assert.ok(article.description && !article.description.includes('\n'), 'a one-line snippet');
    const lines = article.input_message_content.message_text.split('\n');
    assert.equal(lines.length, 3, 'headline, snippet and page');
    assert.match(lines[0], /^<b>《.+》<\/b>$/);
    assert.match(lines[2], /^<i>.+<\/i>$/);
    assert.deepEqual(validateTelegramHtml(article.input_message_content.message_text), []);
  }
  assert.equal(new Set(reply.results.map((r) => r.id)).size, reply.results.length, 'result ids are unique');
  assert.equal(telegram.allBotMessages().length, 0, 'inline mode sends no chat message');
});

test('a question no article covers gets one 没有找到相关报道 result with the closest headlines', { timeout: 60_000 }, async () => {
  const reply = await answerOf(telegram.inlineQuery(5002, UNKNOWN));
  assert.equal(reply.results.length, 1);
  const [refusal] = reply.results;
  assert.equal(refusal.title, REFUSAL_TITLE);
  assert.match(refusal.description ?? '', /《.+》|没有关于/);
  assert.match(refusal.input_message_content.message_text, /未在已收录的报道中找到/);
  assert.deepEqual(validateTelegramHtml(refusal.input_message_content.message_text), []);
});

test('an empty or one-character query gets an empty list and 私聊提问, with no answer work', { timeout: 30_000 }, async () => {
  const before = answered;
  for (const query of ['', '  ', '上']) {
    const reply = await answerOf(telegram.inlineQuery(5003, query));
    assert.deepEqual(reply.results, []);
    assert.equal(reply.button?.text, PRIVATE_BUTTON.text);
  }
  await sleep(1000);
  assert.equal(answered, before);
});

test('typing on answers only the latest query', { timeout: 60_000 }, async () => {
  const before = answered;
  const older = telegram.inlineQuery(5004, '邓州市爱心早餐');
  await sleep(200); // a pause shorter than the debounce: the bot has the older query by then
  const newer = telegram.inlineQuery(5004, '邓州市爱心早餐项目每年制作成本多少？');
  const reply = await answerOf(newer);
  assert.equal(reply.results[0].id, 'answer');
  await sleep(1500);
  assert.equal(telegram.inlineAnswers().some((a) => a.inlineQueryId === older), false);
  assert.equal(answered - before, 1);
});

test('over the question limit, an inline query gets an empty personal list and no answer work', { timeout: 60_000 }, async () => {
  // RATE_LIMIT_PER_MINUTE=3: the fourth query within the minute is refused.
  for (let i = 0; i < 3; i++) await answerOf(telegram.inlineQuery(5005, `${QUESTION}${'？'.repeat(i)}`));
  const before = answered;
  const reply = await answerOf(telegram.inlineQuery(5005, '邓州市爱心早餐项目每年制作成本多少？'));
  assert.deepEqual(reply.results, []);
  assert.equal(reply.isPersonal, true);
  assert.equal(reply.cacheTime, 0);
  assert.equal(answered, before);
});
