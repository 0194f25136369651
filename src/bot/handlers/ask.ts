// Asking: any text in a private chat; in groups only a mention, a reply to the bot, or /ask.
import { Composer, type Context } from 'telegraf';
import type { Message, MessageEntity } from 'telegraf/types';
import type { Turn } from '../../answer/types.ts';
import { ConversationStore } from '../conversations.ts';
import type { BotState } from '../context.ts';
import { renderAnswer, renderSources } from '../render.ts';
import { keepTyping, sendHtmlParts } from '../send.ts';

export const SOURCES_BUTTON = { text: '查看原文', callback_data: 'sources' };

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

  composer.command('ask', async (ctx) => {
    const question = stripMention(ctx.message.text.replace(/^\/ask(@\w+)?/i, ''), ctx.botInfo.username);
    await ask(ctx, state, question, ctx.message);
  });

  composer.command('new', async (ctx) => {
    state.conversations.reset(ConversationStore.key(ctx.chat.id, threadOf(ctx.message)));
    await ctx.reply('好的，开始新话题。');
  });

  composer.on('text', async (ctx, next) => {
    const message = ctx.message;
    if (message.text.startsWith('/')) return next(); // other commands: not questions
    const { username, id: botId } = ctx.botInfo;
    const repliedTo = message.reply_to_message;
    const replyToBot = repliedTo?.from?.id === botId;
    if (isGroup(ctx) && !replyToBot && !mentionsBot(message.text, message.entities, username, botId)) return; // not for us
    const history = replyToBot && repliedTo ? state.conversations.historyAt(ctx.chat.id, repliedTo.message_id) : undefined;
    await ask(ctx, state, stripMention(message.text, username), message, history);
  });

  composer.action('sources', async (ctx) => {
    const message = ctx.callbackQuery.message;
    const answer = message && ctx.chat ? state.conversations.answerAt(ctx.chat.id, message.message_id) : undefined;
    if (!answer) {
      await ctx.answerCbQuery('这条回答的原文已过期，请重新提问。');
      return;
    }
    await ctx.answerCbQuery();
    await sendHtmlParts(ctx.telegram, ctx.chat!.id, renderSources(answer), { replyTo: message!.message_id, threadId: threadOf(message) }, state.logger);
  });

  return composer;
}

function threadOf(message: unknown): number | undefined {
  const m = message as { is_topic_message?: boolean; message_thread_id?: number } | undefined;
  return m?.is_topic_message ? m.message_thread_id : undefined;
}

async function ask(ctx: Context, state: BotState, question: string, message: Message.TextMessage, replyHistory?: Turn[]): Promise<void> {
  const chatId = ctx.chat!.id;
  const threadId = threadOf(message);
  const reply = (text: string) => ctx.reply(text, { reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true } });
  if (state.closing) {
    await reply('机器人正在重启，请稍后再问。');
    return;
  }
  if (!question) {
    await reply(`请把问题写在后面，例如：/ask 上海今年建成了多少间职工休息室？`);
    return;
  }
  if (question.length > state.config.maxQuestionChars) {
    await reply(`问题太长了（${question.length} 字），请精简到 ${state.config.maxQuestionChars} 字以内再问。`);
    return;
  }
  const waitMs = state.limiter.check(ctx.from?.id ?? chatId, chatId);
  if (waitMs > 0) {
    await reply(`提问太频繁了，请 ${Math.ceil(waitMs / 1000)} 秒后再试。`);
    return;
  }
  const key = ConversationStore.key(chatId, threadId);
  const updateId = ctx.update.update_id;
  // Off the update loop: other chats are served while this answer is being written.
  void state.tasks.run(chatId, async () => {
    const stopTyping = keepTyping(ctx.telegram, chatId, threadId, state.logger);
    try {
      const history = replyHistory ?? state.conversations.history(key);
      const answer = await state.answerer.answer(question, history);
      const ids = await sendHtmlParts(
        ctx.telegram,
        chatId,
        renderAnswer(answer),
        { replyTo: message.message_id, threadId, keyboard: answer.citations.length ? [[SOURCES_BUTTON]] : undefined },
        state.logger,
      );
      state.conversations.record(key, question, answer, chatId, ids, replyHistory);
      state.stats.questionsAnswered++;
    } catch (error) {
      state.logger.error(`Update ${updateId}: answering failed: ${(error as Error).message}`, { chatId });
      await reply('抱歉，处理这个问题时出了点问题，请稍后再试。').catch(() => {});
    } finally {
      stopTyping();
    }
  });
}
