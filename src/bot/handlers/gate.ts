// First in line for every update: a user flooding the bot with anything it would reply to
// (stickers, unknown commands, /help, button presses) is cut off before any other check, with
// one notice per window. Questions also have their own, stricter limit (ask.ts).
import type { Context, MiddlewareFn } from 'telegraf';
import type { BotState } from '../context.ts';
import { sendText } from '../send.ts';
import { mentionsBot, repliesToBot, threadOfUpdate } from './ask.ts';

export const TOO_FAST = '操作太频繁了，请稍后再试。';

/** Whether the bot would answer this update at all: in groups, only what is addressed to it
 * (a command for another bot, /x@OtherBot, is not). */
function addressed(ctx: Context): boolean {
  if (ctx.callbackQuery || ctx.chat?.type === 'private') return true;
  const message = (ctx.message ?? ctx.editedMessage) as { text?: string; entities?: never[]; reply_to_message?: unknown } | undefined;
  if (!message?.text) return false;
  const { username, id } = ctx.botInfo;
  const target = /^\/\w+(?:@(\w+))?/.exec(message.text);
  if (target) return !target[1] || target[1].toLowerCase() === username.toLowerCase();
  return repliesToBot(message, id) || mentionsBot(message.text, message.entities, username, id);
}

export function gate(state: BotState): MiddlewareFn<Context> {
  return async (ctx, next) => {
    const userId = ctx.from?.id;
    // Admins are not limited: uploading a batch of pages is many actions in a row.
    if (userId === undefined || state.config.telegram.adminUserIds.includes(userId) || !addressed(ctx)) return next();
    if ((await state.actions.check(userId, ctx.chat?.id ?? userId)) === 0) return next();
    state.logger.debug(`Dropped an update from user ${userId}: over the action limit`);
    if (ctx.callbackQuery) {
      void state.outbox.send(ctx.chat?.id ?? userId, 'button answer', () => ctx.answerCbQuery(TOO_FAST), { kind: 'light' });
    } else if (ctx.chat && (await state.notices.allow(userId, 'flood'))) {
      void sendText(state.outbox, ctx.chat.id, TOO_FAST, { threadId: threadOfUpdate(ctx) }, 'flood notice');
    }
  };
}
