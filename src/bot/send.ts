// Sending with Telegram's rules: wait out 429 retry_after, give up quietly on 403 (the user
// blocked the bot), and let other errors surface to the handler's catch.
import type { Telegram } from 'telegraf';
import type { Logger } from '../log.ts';

interface TelegramFailure {
  code?: number;
  response?: { error_code?: number; parameters?: { retry_after?: number } };
}

export async function withTelegramRetry<T>(call: () => Promise<T>, logger?: Logger, attempts = 3): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const failure = error as TelegramFailure;
      const code = failure.response?.error_code ?? failure.code;
      if (code === 429 && attempt < attempts) {
        const seconds = failure.response?.parameters?.retry_after ?? 1;
        logger?.warn(`Telegram asked to slow down: retrying in ${seconds} s`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(seconds, 60) * 1000));
        continue;
      }
      if (code === 403) {
        logger?.info('A user blocked the bot or left the chat: message not delivered');
        return undefined;
      }
      throw error;
    }
  }
}

export interface SendOptions {
  replyTo?: number;
  threadId?: number;
  keyboard?: { text: string; callback_data: string }[][];
}

/** Sends HTML parts in order; the keyboard goes on the last part. Returns the sent message ids. */
export async function sendHtmlParts(telegram: Telegram, chatId: number, parts: string[], options: SendOptions, logger?: Logger): Promise<number[]> {
  const ids: number[] = [];
  for (const [i, html] of parts.entries()) {
    const last = i === parts.length - 1;
    const sent = await withTelegramRetry(
      () =>
        telegram.sendMessage(chatId, html, {
          parse_mode: 'HTML',
          link_preview_options: { is_disabled: true },
          ...(options.threadId ? { message_thread_id: options.threadId } : {}),
          ...(options.replyTo && i === 0 ? { reply_parameters: { message_id: options.replyTo, allow_sending_without_reply: true } } : {}),
          ...(last && options.keyboard ? { reply_markup: { inline_keyboard: options.keyboard } } : {}),
        }),
      logger,
    );
    if (!sent) break;
    ids.push(sent.message_id);
  }
  return ids;
}

/** Shows "typing…" now and every 4 s until stopped (Telegram clears it after about 5 s). */
export function keepTyping(telegram: Telegram, chatId: number, threadId?: number, logger?: Logger): () => void {
  let warned = false;
  const send = () =>
    telegram.sendChatAction(chatId, 'typing', threadId ? { message_thread_id: threadId } : undefined).catch((error: Error) => {
      if (!warned) logger?.debug(`sendChatAction failed (carrying on): ${error.message}`);
      warned = true;
    });
  void send();
  const timer = setInterval(send, 4000);
  return () => clearInterval(timer);
}
