// Asking: any text in a private chat; in groups only a mention, a reply to the bot, or /ask.
import { Composer, type Context } from 'telegraf';
import type { Message, MessageEntity } from 'telegraf/types';
import type { Turn } from '../../answer/types.ts';
import { receivedAt, type Ack } from '../ack.ts';
import { ConversationStore } from '../conversations.ts';
import type { BotState } from '../context.ts';
import { VOTE_BUTTONS } from './feedback.ts';
import { escapeHtml, renderAnswer, renderSources, stripBidi } from '../render.ts';
import { keepTyping, sendHtmlParts, sendText } from '../send.ts';
import { AnswerStream } from '../stream.ts';

export const SOURCES_BUTTON = { text: '查看原文', callback_data: 'sources' };
/** The state store's counter of answers sent, shown in /stats (across replicas). */
export const QUESTIONS_ANSWERED = 'questions answered';

const isGroup = (ctx: Context) => ctx.chat?.type === 'group' || ctx.chat?.type === 'supergroup';

/** Whether a group message is addressed to the bot: a mention entity, the @name in the text,
 * or a text_mention of the bot. */
export function mentionsBot(text: string, entities: MessageEntity[] | undefined, username: string, botId: number): boolean {
  const name = `@${username}`.toLowerCase();
  for (const entity of entities ?? []) {
    if (entity.type === 'mention' && text.slice(entity.offset, entity.offset + entity.length).toLowerCase() === name) return true;
    if (entity.type === 'text_mention' && entity.user?.id === botId) return true;
  }
  return new RegExp(`@${username}(?![A-Za-z0-9_])`, 'i').test(text); // not @name_dev
}

export function stripMention(text: string, username: string): string {
  return text.replace(new RegExp(`@${username}(?![A-Za-z0-9_])`, 'gi'), ' ').replace(/\s+/g, ' ').trim();
}

export function askComposer(state: BotState): Composer<Context> {
  const composer = new Composer<Context>();

  composer.command('ask', (ctx) => {
    const question = stripMention(ctx.message.text.replace(/^\/ask(@\w+)?/i, ''), ctx.botInfo.username);
    return ask(ctx, state, question, ctx.message);
  });

  composer.command('new', async (ctx) => {
    const threadId = threadOf(ctx.message);
    await state.conversations.reset(ConversationStore.key(ctx.chat.id, threadId));
    void sendText(state.outbox, ctx.chat.id, '好的，开始新话题。', { threadId }, '/new reply');
  });

  composer.on('text', async (ctx, next) => {
    const message = ctx.message;
    if (message.text.startsWith('/')) return next(); // other commands: not questions
    const question = addressedQuestion(ctx, state, message);
    if (question === undefined) return; // a group message not for us
    const repliedTo = message.reply_to_message;
    const history = repliesToBot(message, ctx.botInfo.id) ? await state.conversations.historyAt(ctx.chat.id, repliedTo!.message_id) : undefined;
    return ask(ctx, state, question, message, history);
  });

  // An edited question is answered again: people edit to fix a typo or sharpen the question, and
  // the first answer was to the old text. Edits pass the same rate limit as new messages.
  composer.on('edited_message', (ctx, next) => {
    const message = ctx.editedMessage;
    if (!('text' in message) || message.text.startsWith('/')) return next();
    const question = addressedQuestion(ctx, state, message);
    if (question === undefined) return;
    return ask(ctx, state, question, message, undefined, '（按修改后的问题重新回答）');
  });

  composer.action('sources', async (ctx) => {
    const message = ctx.callbackQuery.message;
    const answer = message && ctx.chat ? await state.conversations.answerAt(ctx.chat.id, message.message_id) : undefined;
    const chatId = ctx.chat?.id ?? ctx.from.id;
    const text = answer ? undefined : '这条回答的原文已过期，请重新提问。';
    void state.outbox.send(chatId, 'button answer', () => ctx.answerCbQuery(text), { kind: 'light' });
    if (!answer) return;
    void sendHtmlParts(state.outbox, chatId, renderSources(answer), { replyTo: message!.message_id, threadId: threadOf(message) }, 'sources', state.logger);
  });

  return composer;
}

/** The question in a message meant for the bot: any text in a private chat; in groups, a
 * mention or a reply to the bot (undefined otherwise). */
function addressedQuestion(ctx: Context, state: BotState, message: Message.TextMessage): string | undefined {
  const { username, id: botId } = ctx.botInfo;
  const replyToBot = repliesToBot(message, botId);
  if (isGroup(ctx) && !replyToBot && !mentionsBot(message.text, message.entities, username, botId)) return undefined;
  return stripMention(message.text, username);
}

/** The forum topic a message is in, for replies to go back to it. Only a topic message counts:
 * in an ordinary group a reply also carries message_thread_id (its reply thread), but that group
 * is one conversation and the reply lands in the thread anyway; the General topic has none. */
export function threadOf(message: unknown): number | undefined {
  const m = message as { is_topic_message?: boolean; message_thread_id?: number } | undefined;
  return m?.is_topic_message ? m.message_thread_id : undefined;
}

/** The topic of whatever an update came from: a message, an edit, or a button's message. */
export function threadOfUpdate(ctx: Context): number | undefined {
  return threadOf(ctx.message ?? ctx.editedMessage ?? ctx.callbackQuery?.message);
}

/** Whether a message replies to the bot. In a forum topic, a message that replies to nothing
 * still carries the topic's creation message as reply_to_message: not a reply to its creator. */
export function repliesToBot(message: { reply_to_message?: unknown } | undefined, botId: number): boolean {
  const replied = message?.reply_to_message as { from?: { id: number }; forum_topic_created?: unknown } | undefined;
  return replied?.from?.id === botId && !replied.forum_topic_created;
}

/** Checks, cheapest and most abusable first (the rate limit, so a flood costs nothing more),
 * then queues the answer. Nothing here waits for Telegram; the limits are the state store's. */
async function ask(ctx: Context, state: BotState, question: string, message: Message.TextMessage, replyHistory?: Turn[], lead?: string): Promise<void> {
  const chatId = ctx.chat!.id;
  const userId = ctx.from?.id ?? chatId;
  question = stripBidi(question).trim();
  const threadId = threadOf(message);
  const reply = (text: string, label: string) => void sendText(state.outbox, chatId, text, { replyTo: message.message_id, threadId }, label);
  const notice = async (kind: string, text: string) => void ((await state.notices.allow(userId, kind)) && reply(text, `${kind} notice`));
  const waitMs = await state.limiter.check(userId, chatId);
  if (waitMs > 0) return notice('flood', `提问太频繁了，请 ${Math.ceil(waitMs / 1000)} 秒后再试。`);
  if (state.closing) return notice('closing', '机器人正在重启，请稍后再问。');
  if (!question) return reply('请把问题写在后面，例如：/ask 上海今年建成了多少间职工休息室？', 'usage hint');
  if (question.length > state.config.maxQuestionChars) {
    return reply(`问题太长了（${question.length} 字），请精简到 ${state.config.maxQuestionChars} 字以内再问。`, 'too-long notice');
  }
  // Acknowledged only once it is sure to be answered: a refused question gets its notice instead
  // (one per window for all of these: a flood gets one reply, whichever limit it meets).
  const admission = state.tasks.admission(userId);
  if (admission === 'user-full') return notice('flood', '你的问题还在排队，请等前面的回答发出后再问。');
  if (admission === 'full') return notice('flood', '现在提问的人很多，请稍后再问。');
  const ack = state.acknowledger.start(chatId, message.message_id, receivedAt(ctx), threadId);
  // One lane per conversation: a forum topic's questions wait only for that topic's.
  state.tasks.submit(userId, ConversationStore.key(chatId, threadId), () => answerTask(ctx, state, { question, message, threadId, replyHistory, lead, ack }));
}

interface Question {
  question: string;
  message: Message.TextMessage;
  threadId?: number;
  replyHistory?: Turn[];
  lead?: string;
  ack: Ack;
}

/** Runs in the queue: answers, records the turn and hands the answer to the outbox. */
async function answerTask(ctx: Context, state: BotState, { question, message, threadId, replyHistory, lead, ack }: Question): Promise<void> {
  const chatId = ctx.chat!.id;
  const key = ConversationStore.key(chatId, threadId);
  const stopTyping = keepTyping(state.outbox, chatId, threadId, ack.typingAt);
  // A generated answer is shown as it is written (extractive ones are quick, and not streamed).
  const stream = state.answerer.mode === 'llm' ? new AnswerStream(state.outbox, { chatId, threadId, replyTo: message.message_id, lead }, { mode: ctx.chat!.type === 'private' ? 'draft' : 'edit', support: state.drafts, logger: state.logger, onShown: stopTyping }) : undefined;
  try {
    const history = replyHistory ?? (await state.conversations.history(key));
    const answer = await state.answerer.answer(question, history, { onDraft: stream && ((text) => stream.update(text)) });
    // The turn counts at once (a follow-up may arrive before the answer is delivered); the
    // delivery is the outbox's, so a chat held back by Telegram does not hold a worker.
    // A state store that fails here loses the turn, not the answer.
    const turns = await state.conversations.record(key, question, answer, chatId, [], replyHistory).catch((error: Error) => {
      state.logger.warn(`Could not record the conversation turn: ${error.message}`);
      return [];
    });
    void state.stateStore.increment(QUESTIONS_ANSWERED).catch((error: Error) => state.logger.warn(`Could not count an answer: ${error.message}`));
    // 👍 👎 on every answer, a refusal too: a wrong refusal is what the evaluation set most lacks.
    const keyboard = [[...(answer.citations.length ? [SOURCES_BUTTON] : []), ...VOTE_BUTTONS]];
    const options = { replyTo: message.message_id, threadId, keyboard };
    const parts = renderAnswer(answer, lead);
    const delivered = stream ? stream.finish(parts, options, state.logger) : sendHtmlParts(state.outbox, chatId, parts, options, 'answer', state.logger);
    ack.finishAfter(delivered);
    const remembered = delivered.then((ids) => state.conversations.remember(chatId, ids, answer, turns));
    state.tasks.track(remembered.catch((error: Error) => state.logger.warn(`Could not remember the answer's messages: ${error.message}`)));
  } catch (error) {
    state.logger.error(`Update ${ctx.update.update_id}: answering failed: ${(error as Error).message}`, { chatId });
    const sorry = '抱歉，处理这个问题时出了点问题，请稍后再试。';
    const options = { replyTo: message.message_id, threadId };
    // A preview already on screen becomes the apology, rather than stay as if it were the answer.
    ack.finishAfter(stream ? stream.finish([escapeHtml(sorry)], options, state.logger) : sendText(state.outbox, chatId, sorry, options, 'error notice'));
  } finally {
    stopTyping();
  }
}
