// What handlers send, phrased for them and routed through the outbox: replies, multi-part HTML
// answers and "typing…". Handlers call these without awaiting; answer tasks await them.
import type { Message } from 'telegraf/types';
import type { Logger } from '../log.ts';
import type { Outbox } from './outbox.ts';

export interface MessageOptions {
  replyTo?: number;
  threadId?: number;
  keyboard?: { text: string; callback_data: string }[][];
  html?: boolean;
}

/** The options Telegram needs for one message. */
function extra(options: MessageOptions, first = true, last = true) {
  return {
    ...(options.html ? { parse_mode: 'HTML' as const, link_preview_options: { is_disabled: true } } : {}),
    ...(options.threadId ? { message_thread_id: options.threadId } : {}),
    ...(options.replyTo && first ? { reply_parameters: { message_id: options.replyTo, allow_sending_without_reply: true } } : {}),
    ...(last && options.keyboard ? { reply_markup: { inline_keyboard: options.keyboard } } : {}),
  };
}

/** One message; resolves with it, or undefined if it could not be delivered (the outbox logs why). */
export function sendText(outbox: Outbox, chatId: number, text: string, options: MessageOptions = {}, label = 'message'): Promise<Message.TextMessage | undefined> {
  return outbox.send(chatId, label, (telegram) => telegram.sendMessage(chatId, text, extra(options)));
}

/** Queues HTML parts together, so that nothing lands between them; the keyboard goes on the
 * last. Resolves with the sent message ids once all are settled: fewer than the parts if one could
 * not be delivered, as the rest would read out of context (and are not sent). */
export async function sendHtmlParts(outbox: Outbox, chatId: number, parts: string[], options: MessageOptions, label = 'answer', logger?: Logger): Promise<number[]> {
  const ids: (number | undefined)[] = [];
  const sends = parts.map((html, i) => {
    const settings = extra({ ...options, html: true }, i === 0, i === parts.length - 1);
    return outbox.send(chatId, `${label} (part ${i + 1}/${parts.length})`, async (telegram) => {
      if (i > 0 && ids[i - 1] === undefined) return undefined; // the part before was given up
      ids[i] = (await telegram.sendMessage(chatId, html, settings)).message_id;
      return ids[i];
    });
  });
  await Promise.all(sends);
  const sent = ids.filter((id): id is number => id !== undefined);
  if (sent.length < parts.length) logger?.warn(`${label} to chat ${chatId}: ${parts.length - sent.length} of ${parts.length} parts not sent`);
  return sent;
}

/** "typing…" once; resolves true if Telegram showed it. A chat waiting out a 429 gets none:
 * it would only add to the wait. */
export async function sendTyping(outbox: Outbox, chatId: number, threadId?: number, onCall?: () => void): Promise<boolean> {
  if (outbox.paused(chatId)) return false;
  const shown = await outbox.send(
    chatId,
    'typing',
    (telegram) => (onCall?.(), telegram.sendChatAction(chatId, 'typing', threadId ? { message_thread_id: threadId } : undefined)),
    { kind: 'light', optional: true },
  );
  return shown === true;
}

/** Shows "typing…" every 4 s until stopped (Telegram clears it after about 5 s), starting now
 * or, when the acknowledgement has just sent it (ack.ts), 4 s after that. */
export function keepTyping(outbox: Outbox, chatId: number, threadId?: number, lastSentAt = 0): () => void {
  const send = () => void sendTyping(outbox, chatId, threadId);
  let timer: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    send();
    timer = setInterval(send, 4000);
  }, Math.max(0, lastSentAt + 4000 - Date.now()));
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
