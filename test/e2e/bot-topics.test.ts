// needs: model
// Forum topics, against the Bot API emulator with the real bot: each topic of a forum supergroup
// is its own conversation, and everything a message in a topic makes the bot send (the answer,
// typing, 查看原文, notices, errors, /help, /new, unknown commands) goes back to that topic, by
// message_thread_id. The emulator keeps each sendMessage body as sent, so the topic is read there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConversationStore } from '../../src/bot/conversations.ts';
import { startLlmBot } from '../helpers/bot.ts';
import type { ChatRequest } from '../helpers/fake-openai.ts';
import { BOT_ID, BOT_USERNAME, type SentMessage } from '../helpers/telegram.ts';

const FORUM = -100777;
const GROUP = -100888; // an ordinary supergroup, no topics
const TOPIC_A = 11;
const TOPIC_B = 22;
const ALICE = 5001;
const BOB = 5002;
const DAVE = 5004;
const ADMIN = 4242;
const QUESTION_A = '邓州市爱心早餐项目每年制作成本多少？';
const QUESTION_B = '上海市总工会2023年建成了多少间职工工间休息室？';

/** The history each follow-up was rewritten with: which conversation it continued. */
const rewrites: string[] = [];
function echoFirstPassage(request: ChatRequest) {
  const material = request.messages.at(-1)!.content;
  if (material.startsWith('<历史>')) {
    rewrites.push(material);
    return { content: /<问题>(.*)<\/问题>/s.exec(material)![1] };
  }
  const passage = /\[1\] 标题：.*\n([^\n]*)/.exec(material)?.[1] ?? '';
  return { content: `${/^.*?[。！？]/.exec(passage)?.[0] ?? passage}[1]` };
}

const { telegram, running } = await startLlmBot({ reply: echoFirstPassage, env: { MAX_QUESTION_CHARS: '100', RATE_LIMIT_PER_MINUTE: '60', ADMIN_USER_IDS: String(ADMIN) } });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alice = telegram.client({ userId: ALICE, chatId: FORUM, type: 'supergroup' });
const bob = telegram.client({ userId: BOB, chatId: FORUM, type: 'supergroup' });
const topicOf = (m: SentMessage) => m.message.message_thread_id;
const history = (topic?: number) => running.state.conversations.history(ConversationStore.key(FORUM, topic));
/** The user message each bot message replies to, by emulator id, and the topic it was sent in. */
const askedIn = new Map<number, number>();

/** A message in a topic, as Telegram sends it: is_topic_message, the topic's id, a forum chat. */
function inTopic(topic: number, extra: Record<string, unknown> = {}) {
  return { is_topic_message: true, message_thread_id: topic, chat: { is_forum: true }, ...extra } as never;
}

const mention = (text: string) => `@${BOT_USERNAME} ${text}`;
const mentionEntity = { entities: [{ type: 'mention', offset: 0, length: BOT_USERNAME.length + 1 }] };

async function askIn(client: typeof alice, topic: number, text: string, extra: Record<string, unknown> = {}): Promise<void> {
  const entities = text.startsWith('@') ? mentionEntity : {};
  await client.sendMessage(client.makeMessage(text, inTopic(topic, { ...entities, ...extra })));
  askedIn.set(telegram.userMessageId(text), topic);
}

/** A reply to one of the bot's messages in a topic (Telegram adds the topic to replies there too). */
function replyTo(answer: SentMessage, topic: number) {
  const chat = { id: FORUM, type: 'supergroup', title: '测试群', is_forum: true };
  return { reply_to_message: { message_id: answer.messageId, date: Math.floor(Date.now() / 1000), text: 'answer', chat, is_topic_message: true, message_thread_id: topic, from: { id: BOT_ID, is_bot: true, first_name: 'bot', username: BOT_USERNAME } } };
}

let answerA: SentMessage;
let answerB: SentMessage;

test('questions interleaved in two topics are each answered, and typed at, in their own topic', { timeout: 60_000 }, async () => {
  await askIn(alice, TOPIC_A, mention(QUESTION_A));
  await askIn(bob, TOPIC_B, mention(QUESTION_B));
  const answers = await telegram.botMessages(FORUM, 2, 30_000);
  answerA = answers.find((m) => m.message.reply_parameters?.message_id === telegram.userMessageId(mention(QUESTION_A)))!;
  answerB = answers.find((m) => m.message.reply_parameters?.message_id === telegram.userMessageId(mention(QUESTION_B)))!;
  assert.ok(answerA && answerB, 'each question answered as a reply');
  assert.equal(topicOf(answerA), TOPIC_A);
  assert.equal(topicOf(answerB), TOPIC_B);
  assert.match(answerA.message.text, /邓州/);
  assert.match(answerB.message.text, /1400间/);
  const typing = telegram.calls().filter((c) => c.method === 'sendChatAction' && c.chatId === String(FORUM));
  assert.deepEqual([...new Set(typing.map((c) => c.body.message_thread_id))].sort(), [TOPIC_A, TOPIC_B], 'typing shown in both topics, nowhere else');
  assert.equal((await history(TOPIC_A)).length, 1);
  assert.equal((await history(TOPIC_B)).length, 1);
  assert.equal((await history()).length, 0, 'the General topic has no conversation');
});

test('查看原文 in topic A lists the sources in topic A', { timeout: 30_000 }, async () => {
  const message = { message_id: answerA.messageId, chat: { id: FORUM, type: 'supergroup', is_forum: true }, is_topic_message: true, message_thread_id: TOPIC_A };
  await alice.sendCallback(alice.makeCallbackQuery('sources', { from: { id: ALICE, is_bot: false, first_name: 'alice' }, message } as never));
  const [sources] = await telegram.botMessages(FORUM);
  assert.match(sources.message.text, /邓州/);
  assert.equal(topicOf(sources), TOPIC_A);
  assert.equal(sources.message.reply_parameters?.message_id, answerA.messageId);
});

test('a too-long question and a failed answer are told in the topic they came from', { timeout: 30_000 }, async () => {
  const long = mention('请问'.repeat(60));
  await askIn(bob, TOPIC_B, long);
  const [tooLong] = await telegram.botMessages(FORUM);
  assert.match(tooLong.message.text, /问题太长了/);
  assert.equal(topicOf(tooLong), TOPIC_B);

  const answerer = running.state.answerer;
  const original = answerer.answer;
  answerer.answer = async () => {
    answerer.answer = original; // fails once
    throw new Error('simulated failure');
  };
  await askIn(alice, TOPIC_A, mention('浏阳大瑶镇有多少家花炮上下游企业？'));
  const [failed] = await telegram.botMessages(FORUM);
  assert.match(failed.message.text, /处理这个问题时出了点问题/);
  assert.equal(topicOf(failed), TOPIC_A);
});

test("a follow-up in topic A continues A's conversation, not B's, by reply or by mention", { timeout: 60_000 }, async () => {
  const byReply = '那有多少名志愿者参与？';
  await askIn(alice, TOPIC_A, byReply, replyTo(answerA, TOPIC_A));
  const [first] = await telegram.botMessages(FORUM);
  assert.equal(topicOf(first), TOPIC_A);
  assert.equal(first.message.reply_parameters?.message_id, telegram.userMessageId(byReply));
  assert.ok(rewrites.at(-1)!.includes(QUESTION_A) && !rewrites.at(-1)!.includes(QUESTION_B), rewrites.at(-1));

  const byMention = mention('那这个项目持续了多久？');
  await askIn(alice, TOPIC_A, byMention);
  const [second] = await telegram.botMessages(FORUM);
  assert.equal(topicOf(second), TOPIC_A);
  assert.ok(rewrites.at(-1)!.includes(QUESTION_A) && !rewrites.at(-1)!.includes(QUESTION_B), rewrites.at(-1));
  assert.equal((await history(TOPIC_A)).length, 3);
  assert.deepEqual((await history(TOPIC_B)).map((t) => t.question), [QUESTION_B], "B's conversation untouched");
});

test('/new in topic A ends only A\'s conversation; /help and an unknown command answer in their topic', { timeout: 30_000 }, async () => {
  await alice.sendCommand(alice.makeCommand(`/new@${BOT_USERNAME}`, inTopic(TOPIC_A)));
  const [reset] = await telegram.botMessages(FORUM);
  assert.match(reset.message.text, /开始新话题/);
  assert.equal(topicOf(reset), TOPIC_A);
  assert.equal((await history(TOPIC_A)).length, 0);
  assert.deepEqual((await history(TOPIC_B)).map((t) => t.question), [QUESTION_B]);

  await bob.sendCommand(bob.makeCommand(`/help@${BOT_USERNAME}`, inTopic(TOPIC_B)));
  const [help] = await telegram.botMessages(FORUM);
  assert.match(help.message.text, /新闻问答机器人/);
  assert.equal(topicOf(help), TOPIC_B);

  await alice.sendCommand(alice.makeCommand(`/nosuch@${BOT_USERNAME}`, inTopic(TOPIC_A)));
  const [unknown] = await telegram.botMessages(FORUM);
  assert.match(unknown.message.text, /没有这个命令/);
  assert.equal(topicOf(unknown), TOPIC_A);

  const ask = `/ask@${BOT_USERNAME} 浏阳大瑶镇有多少家花炮上下游企业？`;
  await bob.sendCommand(bob.makeCommand(ask, inTopic(TOPIC_B)));
  askedIn.set(telegram.userMessageId(ask), TOPIC_B);
  const [asked] = await telegram.botMessages(FORUM);
  assert.match(asked.message.text, /浏阳/);
  assert.equal(topicOf(asked), TOPIC_B);
});

test('a message that only sits in a topic the bot created is not a reply to the bot', { timeout: 30_000 }, async () => {
  // Telegram gives every message in a topic the topic's creation message as reply_to_message.
  const created = { message_id: TOPIC_A, date: 0, chat: { id: FORUM, type: 'supergroup', is_forum: true }, from: { id: BOT_ID, is_bot: true, first_name: 'bot' }, forum_topic_created: { name: '话题', icon_color: 0 } };
  await alice.sendMessage(alice.makeMessage('大家好，今天天气不错', inTopic(TOPIC_A, { reply_to_message: created })));
  await telegram.delivered();
  await running.state.tasks.drain(5_000);
  await sleep(300);
  await assert.rejects(telegram.botMessages(FORUM, 1, 200), 'no reply to chatter in a topic');
});

test('the flood notice and the notice of a failed update go to the topic they came from', { timeout: 30_000 }, async () => {
  // Forced once each, rather than flooded: what is asserted is where the notice goes.
  const actions = running.state.actions;
  const check = actions.check;
  actions.check = async () => ((actions.check = check), 60_000);
  const dave = telegram.client({ userId: DAVE, chatId: FORUM, type: 'supergroup' });
  await dave.sendCommand(dave.makeCommand(`/help@${BOT_USERNAME}`, inTopic(TOPIC_B)));
  const [flood] = await telegram.botMessages(FORUM);
  assert.match(flood.message.text, /操作太频繁了/);
  assert.equal(topicOf(flood), TOPIC_B);

  const index = running.state.index;
  const status = index.status;
  index.status = async () => ((index.status = status), Promise.reject(new Error('simulated failure')));
  await dave.sendCommand(dave.makeCommand(`/help@${BOT_USERNAME}`, inTopic(TOPIC_A)));
  const [failed] = await telegram.botMessages(FORUM);
  assert.match(failed.message.text, /抱歉，出了点问题/);
  assert.equal(topicOf(failed), TOPIC_A);
});

test('an admin in a topic gets /stats, /reindex progress and upload replies in that topic', { timeout: 120_000 }, async () => {
  const admin = telegram.client({ userId: ADMIN, chatId: FORUM, type: 'supergroup' });
  await admin.sendCommand(admin.makeCommand(`/stats@${BOT_USERNAME}`, inTopic(TOPIC_B)));
  const [stats] = await telegram.botMessages(FORUM);
  assert.match(stats.message.text, /运行状态/);
  assert.equal(topicOf(stats), TOPIC_B);

  const upload = admin.makeMessage('', inTopic(TOPIC_A)) as unknown as Record<string, unknown>;
  delete upload.text;
  upload.document = { file_id: 'F-x', file_unique_id: 'F-x', file_name: 'evil.exe', mime_type: 'text/plain', file_size: 10 };
  await admin.sendMessage(upload as never);
  const [refused] = await telegram.botMessages(FORUM);
  assert.match(refused.message.text, /只接受 \.txt 或 \.md/);
  assert.equal(topicOf(refused), TOPIC_A);

  await admin.sendCommand(admin.makeCommand(`/reindex@${BOT_USERNAME}`, inTopic(TOPIC_A)));
  const [progress] = await telegram.botMessages(FORUM);
  assert.match(progress.message.text, /重建索引/);
  assert.equal(topicOf(progress), TOPIC_A);
  const deadline = Date.now() + 90_000;
  while (!/索引已更新|失败/.test(telegram.allBotMessages().find((m) => m.messageId === progress.messageId)!.message.text) && Date.now() < deadline) await sleep(100);
  assert.match(telegram.allBotMessages().find((m) => m.messageId === progress.messageId)!.message.text, /索引已更新/, 'reported by editing the message in the topic');
});

test('every bot message in the forum went to the topic of the message it answers', { timeout: 10_000 }, () => {
  const sent = telegram.allBotMessages().filter((m) => String(m.message.chat_id) === String(FORUM));
  assert.ok(sent.length >= 9, `${sent.length} messages`);
  for (const m of sent) assert.ok(topicOf(m) === TOPIC_A || topicOf(m) === TOPIC_B, `${m.message.text.slice(0, 30)}: in topic ${topicOf(m)}`);
  for (const m of sent.filter((s) => askedIn.has(s.message.reply_parameters?.message_id ?? -1))) {
    assert.equal(topicOf(m), askedIn.get(m.message.reply_parameters!.message_id), m.message.text.slice(0, 30));
  }
});

test('in an ordinary group a reply thread is no topic: answers carry no thread id, the group is one conversation', { timeout: 60_000 }, async () => {
  const carol = telegram.client({ userId: 5003, chatId: GROUP, type: 'supergroup' });
  await carol.sendMessage(carol.makeMessage(mention(QUESTION_A), mentionEntity as never));
  const [answer] = await telegram.botMessages(GROUP);
  assert.equal(topicOf(answer), undefined);
  // Replies in an ordinary group carry message_thread_id (the thread's first message), no is_topic_message.
  const followUp = '那有多少名志愿者参与？';
  const reply = { ...replyTo(answer, answer.messageId).reply_to_message, chat: { id: GROUP, type: 'supergroup', title: '测试群' }, is_topic_message: undefined };
  await carol.sendMessage(carol.makeMessage(followUp, { reply_to_message: reply, message_thread_id: answer.messageId } as never));
  const [second] = await telegram.botMessages(GROUP);
  assert.equal(topicOf(second), undefined, 'sent to the chat; the reply puts it in the thread');
  assert.equal(second.message.reply_parameters?.message_id, telegram.userMessageId(followUp));
  const turns = await running.state.conversations.history(ConversationStore.key(GROUP));
  assert.deepEqual(turns.length, 2, "the group's one conversation continued");
});
