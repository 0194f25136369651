// Last in line: whatever no other handler took still gets an answer where the user expects one.
// In groups, commands for other bots and ordinary chatter are left alone.
import { Composer, type Context } from 'telegraf';
import type { BotState } from '../context.ts';
import { sendText } from '../send.ts';
import { threadOf } from './ask.ts';

export const UNKNOWN_COMMAND = '没有这个命令。直接发送问题即可提问；/help 查看使用说明，/new 开始新话题。';
export const EXPIRED_BUTTON = '这个按钮已失效，请重新提问。';
export const TEXT_ONLY = '目前只能回答文字问题，请用文字描述你想了解的新闻。';

export function fallbackComposer(state: BotState): Composer<Context> {
  const composer = new Composer<Context>();

  composer.on('message', (ctx) => {
    const message = ctx.message;
    const text = 'text' in message ? message.text : undefined;
    const reply = (line: string, label: string) =>
      void sendText(state.outbox, ctx.chat.id, line, { replyTo: message.message_id, threadId: threadOf(message) }, label);
    if (ctx.chat.type === 'private') return reply(text?.startsWith('/') ? UNKNOWN_COMMAND : TEXT_ONLY, 'fallback hint');
    // In a group, only a command addressed to this bot by name is ours.
    const target = text && /^\/\w+@(\w+)/.exec(text)?.[1];
    if (target && target.toLowerCase() === ctx.botInfo.username.toLowerCase()) reply(UNKNOWN_COMMAND, 'fallback hint');
  });

  // A button from an older version of the bot, or one whose data has expired: stop the spinner.
  composer.on('callback_query', (ctx) => {
    void state.outbox.send(ctx.chat?.id ?? ctx.from.id, 'button answer', () => ctx.answerCbQuery(EXPIRED_BUTTON), { kind: 'light' });
  });

  return composer;
}
