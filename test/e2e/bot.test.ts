// needs: model
// The real bot (telegraf, long polling, the same startBot as npm start) against the Bot API
// emulator on 127.0.0.1, with a real index, the real model and a local OpenAI-compatible server.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startLlmBot } from '../helpers/bot.ts';
import type { ChatRequest } from '../helpers/fake-openai.ts';
import { BOT_ID, BOT_USERNAME, type SentMessage } from '../helpers/telegram.ts';
import { validateTelegramHtml } from '../helpers/telegram-html.ts';
import type { IndexService } from '../../src/index/service.ts';

const ADMIN = 4242;
const HOSTILE_PAGE = `本报讯（记者A&B）某市总工会日前举办<script>alert(1)</script>职工技能大赛，共有 88 名职工参加决赛，</b>一等奖奖金 5000 元。

职工技能大赛 A&B <b>决赛举行
`;

// The fake LLM quotes the first sentence of the first passage, cited [1]: a grounded answer.
function echoFirstPassage(request: ChatRequest) {
  const material = request.messages.at(-1)!.content;
  if (material.startsWith('<历史>')) return { content: /<问题>(.*)<\/问题>/s.exec(material)![1] };
  // A question about an outcome the articles do not report gets an honest "not reported" answer.
  if (/实际建成/.test(material)) return { content: '报道没有给出上海2024年实际建成的数量，只提到计划建设改善1000间以上职工工间休息室[1]。' };
  const passage = /\[1\] 标题：.*\n([^\n]*)/.exec(material)?.[1] ?? '';
  const sentence = /^.*?[。！？]/.exec(passage)?.[0] ?? passage;
  return { content: `${sentence}[1]` };
}

const { corpus, llm, telegram, running } = await startLlmBot({
  reply: echoFirstPassage,
  pages: { '900_hostile.txt': HOSTILE_PAGE },
  env: { ADMIN_USER_IDS: String(ADMIN), MAX_QUESTION_CHARS: '200' },
});
const { corpusDir } = corpus;

const isAnswer = (m: SentMessage) => m.message.parse_mode === 'HTML';
const visible = (m: SentMessage) => m.message.text.replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

test('a private question gets an answer with citations, as a reply, with the source button', async () => {
  const alice = telegram.client({ userId: 1001 });
  const question = '上海市总工会2023年建成了多少间职工工间休息室？';
  await alice.sendMessage(alice.makeMessage(question));
  const [answer] = await telegram.botMessages(1001);
  assert.ok(isAnswer(answer));
  assert.match(answer.message.text, /1400间/);
  assert.match(answer.message.text, /<b>来源<\/b>\n<blockquote expandable>\[1\] 《上海市总推进职工工间休息室建设/);
  assert.match(answer.message.text, /000_4b243fa835f211e8\.txt/);
  assert.equal(answer.message.reply_parameters?.message_id, telegram.userMessageId(question));
  assert.deepEqual(answer.message.reply_markup?.inline_keyboard[0][0].text, '查看原文');
});

test('a partial answer is sent with its not-reported line first, and says it is partial', async () => {
  const carol = telegram.client({ userId: 1003 });
  await carol.sendMessage(carol.makeMessage('上海2024年最后实际建成了多少间职工工间休息室？'));
  const [answer] = await telegram.botMessages(1003);
  assert.ok(isAnswer(answer));
  assert.match(visible(answer).split('\n')[0], /^报道没有给出上海2024年实际建成的数量/);
  assert.match(answer.message.text, /<b>来源<\/b>\n<blockquote expandable>\[1\] 《上海市总推进职工工间休息室建设/);
  assert.deepEqual(validateTelegramHtml(answer.message.text), []);
});

test('the 查看原文 button shows the quoted passages', async () => {
  const alice = telegram.client({ userId: 1001 });
  const [answer] = telegram.allBotMessages().filter((m) => String(m.message.chat_id) === '1001' && m.message.reply_markup).slice(-1);
  await alice.sendCallback(alice.makeCallbackQuery('sources', { message: { message_id: answer.messageId, chat: { id: 1001, type: 'private' }, from: { id: BOT_ID, is_bot: true, first_name: 'bot' } } } as never));
  const [sources] = await telegram.botMessages(1001);
  assert.match(sources.message.text, /^<b>\[1\] 《上海市总推进职工工间休息室建设/);
  assert.match(sources.message.text, /<blockquote>[^<]*1400[^<]*<\/blockquote>/);
});

test('/start explains what the bot knows, with counts and three example questions', async () => {
  const bob = telegram.client({ userId: 1002 });
  await bob.sendCommand(bob.makeCommand('/start'));
  const [help] = await telegram.botMessages(1002);
  assert.match(help.message.text, /收录 <b>6<\/b> 个版面、<b>50<\/b> 篇报道/);
  assert.equal(help.message.text.match(/^• /gm)?.length, 3);
});

test('in a group: silence without a mention; a mention, a reply to the bot and /ask are answered as replies', async () => {
  const group = -100555;
  const carol = telegram.client({ userId: 1003, chatId: group, type: 'supergroup' });
  await carol.sendMessage(carol.makeMessage('今天大家吃什么？邓州的早餐不错'));
  await telegram.delivered();
  await running.state.tasks.drain(5_000);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(telegram.allBotMessages().filter((m) => String(m.message.chat_id) === String(group)).length, 0, 'no reply without a mention');

  const mention = `@${BOT_USERNAME} 邓州市爱心早餐项目每年制作成本多少？`;
  await carol.sendMessage(carol.makeMessage(mention, { entities: [{ type: 'mention', offset: 0, length: BOT_USERNAME.length + 1 }] } as never));
  const [byMention] = await telegram.botMessages(group);
  assert.equal(byMention.message.reply_parameters?.message_id, telegram.userMessageId(mention));
  assert.match(visible(byMention), /邓州/);

  const followUp = '那有多少名志愿者参与？';
  await carol.sendMessage(carol.makeMessage(followUp, {
    reply_to_message: { message_id: byMention.messageId, date: Math.floor(Date.now() / 1000), text: 'answer', chat: { id: group, type: 'supergroup', title: '测试群' }, from: { id: BOT_ID, is_bot: true, first_name: 'bot', username: BOT_USERNAME } },
  } as never));
  const [byReply] = await telegram.botMessages(group);
  assert.equal(byReply.message.reply_parameters?.message_id, telegram.userMessageId(followUp));
  assert.match(visible(byReply), /来源\n\[1\] 《邓州市总整合资源/);

  for (const command of ['/ask 浏阳大瑶镇有多少家花炮上下游企业？', `/ask@${BOT_USERNAME} 浏阳大瑶镇有多少家花炮上下游企业？`]) {
    await carol.sendCommand(carol.makeCommand(command));
    const [byAsk] = await telegram.botMessages(group);
    assert.equal(byAsk.message.reply_parameters?.message_id, telegram.userMessageId(command));
    assert.match(visible(byAsk), /浏阳/);
  }
});

/** This file runs the local backend: its build id changes with each reindex. */
const buildId = () => (running.state.index as IndexService).current().manifest.buildId;

test('a non-admin /reindex is refused and the index is unchanged', async () => {
  const before = buildId();
  const dave = telegram.client({ userId: 1004 });
  await dave.sendCommand(dave.makeCommand('/reindex'));
  const [reply] = await telegram.botMessages(1004);
  assert.match(reply.message.text, /只有管理员可以使用/);
  await dave.sendCommand(dave.makeCommand('/stats'));
  assert.match((await telegram.botMessages(1004))[0].message.text, /只有管理员可以使用/);
  assert.equal(buildId(), before);
});

test('an admin /reindex rebuilds while questions keep being answered, and reports by editing one message', async () => {
  const before = buildId();
  const admin = telegram.client({ userId: ADMIN });
  const eve = telegram.client({ userId: 1005 });
  await admin.sendCommand(admin.makeCommand('/reindex'));
  await admin.sendCommand(admin.makeCommand('/reindex'));
  await eve.sendMessage(eve.makeMessage('青岛“惠工商城”试运行3个月的成交额是多少？'));
  const [status, second] = await telegram.botMessages(ADMIN, 2);
  assert.match(status.message.text, /重建索引……|正在重建索引：/); // the emulator stores edits in place
  assert.match(second.message.text, /正在重建索引，请等这一次完成后再试/);
  const [answer] = await telegram.botMessages(1005);
  assert.match(visible(answer), /惠工商城/);
  const deadline = Date.now() + 60_000;
  while (buildId() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await running.state.tasks.drain(10_000);
  assert.notEqual(buildId(), before);
  const edited = telegram.allBotMessages().find((m) => m.messageId === status.messageId)!;
  assert.match(edited.message.text, /索引已更新：6 个版面、50 篇报道、\d+ 个片段，用时 [\d.]+ 秒/);
  await admin.sendCommand(admin.makeCommand('/stats'));
  const [stats] = await telegram.botMessages(ADMIN);
  assert.match(stats.message.text, /嵌入模型：Xenova\/bge-small-zh-v1\.5（512 维）/);
  assert.match(stats.message.text, /回答方式：大模型 fake-model/);
  assert.match(stats.message.text, /已回答问题：\d+/);
});

test('an admin uploads a page; a same-named page asks before overwriting; non-admins cannot upload', async () => {
  const admin = telegram.client({ userId: ADMIN });
  const page = '本报讯（记者测试）某县总工会为环卫工人送去 600 份热饮。\n\n某县总工会送热饮\n';
  telegram.addFile('F-new', Buffer.from(page));
  const upload = (client: ReturnType<typeof telegram.client>, fileId: string, name: string) => {
    const message = client.makeMessage('') as unknown as Record<string, unknown>;
    delete message.text;
    message.document = { file_id: fileId, file_unique_id: fileId, file_name: name, mime_type: 'text/plain', file_size: page.length };
    return client.sendMessage(message as never);
  };
  await upload(admin, 'F-new', '../新版面 01.txt');
  // Indexed at once (a build derived from the live one), no /reindex needed: it answers from it.
  assert.match((await telegram.botMessages(ADMIN))[0].message.text, /已保存版面 新版面_01\.txt（UTF-8）。已收录，现在可以就它提问（共 \d+ 个版面/);
  assert.equal(readFileSync(path.join(corpusDir, '新版面_01.txt'), 'utf8'), page);
  await admin.sendMessage(admin.makeMessage('某县总工会为环卫工人送去多少份热饮？'));
  const [answer] = await telegram.botMessages(ADMIN);
  assert.match(answer.message.text, /600 ?份/);
  assert.match(answer.message.text, /新版面_01\.txt/);

  await upload(admin, 'F-new', 'evil.exe');
  assert.match((await telegram.botMessages(ADMIN))[0].message.text, /只接受 \.txt 或 \.md/);

  telegram.addFile('F-again', Buffer.from(page.replace('600', '700')));
  await upload(admin, 'F-again', '新版面_01.txt');
  const [confirm] = await telegram.botMessages(ADMIN);
  assert.match(confirm.message.text, /已有同名版面 新版面_01\.txt，要覆盖吗/);
  assert.equal(readFileSync(path.join(corpusDir, '新版面_01.txt'), 'utf8'), page, 'not overwritten before confirmation');
  const yes = confirm.message.reply_markup!.inline_keyboard[0][0].callback_data;
  // The emulator would take `from` from the message: say who pressed the button, as Telegram does.
  await admin.sendCallback(admin.makeCallbackQuery(yes, { from: { id: ADMIN, is_bot: false, first_name: 'admin' }, message: { message_id: confirm.messageId, chat: { id: ADMIN, type: 'private' } } } as never));
  const deadline = Date.now() + 5000;
  while (!readFileSync(path.join(corpusDir, '新版面_01.txt'), 'utf8').includes('700') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.match(readFileSync(path.join(corpusDir, '新版面_01.txt'), 'utf8'), /700 份/);

  const mallory = telegram.client({ userId: 1006 });
  telegram.addFile('F-evil', Buffer.from(page));
  await upload(mallory, 'F-evil', 'x.txt');
  assert.match((await telegram.botMessages(1006))[0].message.text, /只有管理员可以上传/);
});

test('a long answer is split into valid messages, the source button on the last one', async () => {
  // A long answer the citation check keeps: the first passage's own sentence, many times.
  llm.script((request) => {
    const reply = echoFirstPassage(request);
    return 'content' in reply ? { content: reply.content.repeat(Math.ceil(8000 / reply.content.length)) } : reply;
  });
  const frank = telegram.client({ userId: 1007 });
  await frank.sendMessage(frank.makeMessage('上海的职工工间休息室建了多少间？请详细说说。'));
  const parts = await telegram.botMessages(1007, 2);
  for (const part of parts) {
    assert.ok(part.message.text.length <= 4096, `${part.message.text.length} characters`);
    assert.deepEqual(validateTelegramHtml(part.message.text), []);
  }
  assert.equal(parts[0].message.reply_markup, undefined);
  await new Promise((r) => setTimeout(r, 300));
  const all = telegram.allBotMessages().filter((m) => String(m.message.chat_id) === '1007');
  assert.equal(all.at(-1)!.message.reply_markup?.inline_keyboard[0][0].text, '查看原文');
  assert.match(all.at(-1)!.message.text, /<b>来源<\/b>/);
});

test('hostile text in a question and in an article produces valid Telegram HTML', async () => {
  const grace = telegram.client({ userId: 1008 });
  await grace.sendMessage(grace.makeMessage('<script>alert("x")</script> 职工技能大赛 A&B <b>决赛 有多少名职工参加？'));
  const [answer] = await telegram.botMessages(1008);
  assert.deepEqual(validateTelegramHtml(answer.message.text), []);
  assert.match(answer.message.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(answer.message.text, /A&amp;B &lt;b&gt;决赛/);
  assert.match(visible(answer), /88名职工/);
});

test('a question over the length limit gets a polite message, not an answer', async () => {
  const heidi = telegram.client({ userId: 1009 });
  await heidi.sendMessage(heidi.makeMessage('请问'.repeat(150)));
  const [reply] = await telegram.botMessages(1009);
  assert.match(reply.message.text, /问题太长了（300 字），请精简到 200 字以内再问/);
});

test('every message the bot sent is valid Telegram HTML', () => {
  const messages = telegram.allBotMessages();
  assert.ok(messages.length >= 15);
  for (const m of messages.filter(isAnswer)) assert.deepEqual(validateTelegramHtml(m.message.text), [], m.message.text.slice(0, 80));
  for (const m of messages) assert.ok(m.message.text.length <= 4096);
});
