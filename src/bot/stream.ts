// A generated answer shown while the LLM writes it, then replaced by the checked answer.
// Private chats get a draft (sendMessageDraft, Bot API 9.5: an animated preview that only the
// final sendMessage persists); groups, and servers without drafts, get one message edited in
// place at least 1.5 s apart. Previews are cosmetic: one call in flight at a time with the latest
// text, never retried, held back while the chat waits out a 429 and skipped while it has anything
// else to send or (a group) too few of its 20 messages a minute left. The final
// answer is not cosmetic: it goes through the outbox's retries, and if the streamed message
// cannot be edited it is sent anew, so a 429 or an error mid-stream never loses it.
import type { Telegram } from 'telegraf';
import type { Logger } from '../log.ts';
import { sendMessageDraft } from './api.ts';
import type { Outbox } from './outbox.ts';
import { sendHtmlParts, type MessageOptions } from './send.ts';

export type StreamMode = 'draft' | 'edit';

/** Whether this Bot API server has sendMessageDraft: learned once for the process. */
export interface DraftSupport {
  drafts: boolean;
}

export const STREAM_PACE = {
  /** Between two drafts: they are animated, and light for Telegram. */
  draftMs: 500,
  /** Between two edits of a message, at least 1.5 s (Telegram counts edits against the chat's
   * limits), measured from when each is sent, with a margin for the network's jitter. */
  editMs: 1600,
  /** Of a group's 20 messages a minute, previews leave this many to real messages. */
  groupReserve: 8,
  /** The first preview waits this long after the first words: an answer done sooner arrives
   * whole, rather than flash as a preview replaced at once. */
  firstAfterMs: 1000,
  /** A group message is started only once it has this much text (no one-word message). */
  firstChars: 8,
};

/** Telegram's limit for a message's text; a longer preview shows its beginning. */
const MAX_TEXT = 4096;

export interface StreamTarget {
  chatId: number;
  threadId?: number;
  /** The question's message: the answer replies to it, and its id names the draft. */
  replyTo: number;
  /** A line shown above the text (an edited question's), not counted as the model's. */
  lead?: string;
}

export interface StreamOptions {
  mode: StreamMode;
  support: DraftSupport;
  logger: Logger;
  /** Called once, when the first preview is on screen (typing… can stop). */
  onShown?: () => void;
  /** Tests pace it faster. */
  pace?: typeof STREAM_PACE;
}

export class AnswerStream {
  private mode: StreamMode | 'off';
  private latest = '';
  /** The text as of the last preview tried, and the last one shown. */
  private tried = '';
  private shown = '';
  /** The message edits go to, once it is sent. */
  private messageId?: number;
  private lastAt = 0;
  private startedAt?: number;
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private finished?: Promise<number[]>;

  private readonly support: DraftSupport;
  private readonly logger: Logger;
  private readonly onShown: () => void;
  private readonly pace: typeof STREAM_PACE;

  constructor(
    private readonly outbox: Outbox,
    private readonly target: StreamTarget,
    o: StreamOptions,
  ) {
    this.mode = o.mode === 'draft' && !o.support.drafts ? 'edit' : o.mode;
    [this.support, this.logger, this.onShown, this.pace] = [o.support, o.logger, o.onShown ?? (() => {}), o.pace ?? STREAM_PACE];
  }

  /** The generated text so far; shown at the next free moment. */
  update(text: string): void {
    if (this.finished || this.mode === 'off') return;
    this.latest = text;
    this.startedAt ??= Date.now();
    this.schedule();
  }

  /** Delivers the final answer: the streamed message edited into its first part (with the
   * keyboard when it is the only part), the rest sent after it; or, with nothing streamed or the
   * message no longer editable, all parts as new messages. Resolves with the message ids. */
  finish(parts: string[], options: MessageOptions, logger?: Logger): Promise<number[]> {
    this.finished ??= this.deliver(parts, options, logger); // once: a second call gets the first's ids
    return this.finished;
  }

  private async deliver(parts: string[], options: MessageOptions, logger?: Logger): Promise<number[]> {
    clearTimeout(this.timer);
    await this.inFlight;
    const id = this.messageId;
    if (id === undefined) return sendHtmlParts(this.outbox, this.target.chatId, parts, options, 'answer', logger);
    // The final edit keeps the pace too (Telegram counts edits against the chat's limits).
    await sleep(this.lastAt + this.pace.editMs - Date.now());
    const single = parts.length === 1;
    if (await this.editFinal(id, parts[0], single ? options.keyboard : undefined)) {
      const rest = single ? [] : await sendHtmlParts(this.outbox, this.target.chatId, parts.slice(1), { ...options, replyTo: undefined }, 'answer', logger);
      return [id, ...rest];
    }
    // Deleted meanwhile, or refused: the partial text must not pass for the answer (retried
    // through a 429 like a message).
    void this.outbox.send(this.target.chatId, 'streamed preview removal', (telegram) => telegram.deleteMessage(this.target.chatId, id));
    return sendHtmlParts(this.outbox, this.target.chatId, parts, options, 'answer', logger);
  }

  private schedule(): void {
    if (this.timer || this.inFlight || this.finished) return;
    const pace = this.mode === 'draft' ? this.pace.draftMs : this.pace.editMs;
    const now = Date.now();
    const first = this.shown ? 0 : this.startedAt! + this.pace.firstAfterMs - now;
    const wait = Math.max(0, this.lastAt + pace - now, this.outbox.pausedFor(this.target.chatId), first);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.preview().finally(() => {
        this.inFlight = undefined;
        if (this.latest !== this.tried) this.schedule();
      });
    }, wait);
  }

  private async preview(): Promise<void> {
    if (this.finished || this.mode === 'off') return;
    this.tried = this.latest;
    const text = previewText(this.target.lead ? `${this.target.lead}\n${this.latest}` : this.latest, this.mode === 'edit');
    if (text === this.shown || (this.mode === 'edit' && this.messageId === undefined && this.latest.trim().length < this.pace.firstChars)) return;
    // An edit is a message to Telegram: it waits for room, rather than delay a real message.
    if (this.mode === 'edit' && !this.outbox.hasRoom(this.target.chatId, this.pace.groupReserve)) return;
    const shown = this.mode === 'draft' ? await this.draft(text) : await this.edit(text);
    if (!shown) return;
    if (!this.shown) this.onShown();
    this.shown = text;
  }

  private async draft(text: string): Promise<boolean> {
    const { chatId, threadId, replyTo } = this.target;
    const result = await this.outbox.send(
      chatId,
      'answer draft',
      async (telegram) => {
        try {
          this.lastAt = Date.now();
          await sendMessageDraft(telegram, { chat_id: chatId, draft_id: replyTo, text, ...(threadId ? { message_thread_id: threadId } : {}) });
          return 'shown' as const;
        } catch (error) {
          const status = (error as { response?: { error_code?: number } }).response?.error_code;
          if (status === 404) return 'unknown method' as const;
          if (status === 400 || status === 403) return 'refused' as const;
          throw error;
        }
      },
      { kind: 'light', optional: true },
    );
    if (result === 'shown') return true;
    if (result === 'unknown method' || result === 'refused') {
      // An older or self-hosted Bot API server lacks the method (404), or allows drafts only to
      // bots in forum mode (400, Bot API 9.3–9.4): every later answer edits instead.
      this.support.drafts = false;
      this.logger.info(`Chat ${chatId}: ${result === 'unknown method' ? 'this Bot API server has no sendMessageDraft' : 'sendMessageDraft refused'}; streaming by editing a message instead`);
      this.mode = 'edit';
      this.lastAt = 0;
    }
    return false;
  }

  private async edit(text: string): Promise<boolean> {
    const { chatId, threadId, replyTo } = this.target;
    const done = this.messageId === undefined
      ? await this.outbox.send(chatId, 'answer (streaming)', async (telegram) => {
          this.lastAt = Date.now();
          const sent = await telegram.sendMessage(chatId, text, {
            ...(threadId ? { message_thread_id: threadId } : {}),
            reply_parameters: { message_id: replyTo, allow_sending_without_reply: true },
            link_preview_options: { is_disabled: true },
          });
          this.messageId = sent.message_id;
          return true;
        }, { optional: true })
      : await this.outbox.send(chatId, 'answer (streaming edit)', (telegram) => ((this.lastAt = Date.now()), editText(telegram, chatId, this.messageId!, text)), { optional: true });
    // Not shown while a 429 lasts: the next preview waits it out. Anything else: stop previewing;
    // the final answer still comes (finish()).
    if (!done && !this.outbox.paused(chatId)) this.mode = 'off';
    return done === true;
  }

  private async editFinal(id: number, html: string, keyboard: MessageOptions['keyboard']): Promise<boolean> {
    const { chatId } = this.target;
    const extra = { parse_mode: 'HTML' as const, link_preview_options: { is_disabled: true }, ...(keyboard ? { reply_markup: { inline_keyboard: keyboard } } : {}) };
    const edited = await this.outbox.send(chatId, 'answer (final edit)', (telegram) => editText(telegram, chatId, id, html, extra));
    return edited === true;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** An edit that counts "not modified" (the text was already shown) as done. */
async function editText(telegram: Telegram, chatId: number, messageId: number, text: string, extra: Parameters<Telegram['editMessageText']>[4] = { link_preview_options: { is_disabled: true } }): Promise<true> {
  try {
    await telegram.editMessageText(chatId, messageId, undefined, text, extra);
  } catch (error) {
    const description = (error as { response?: { description?: string } }).response?.description ?? '';
    if (!/message is not modified/i.test(description)) throw error;
  }
  return true;
}

/** What a preview shows: the text so far, at most a message long; an edited message also says
 * it is still being written (a draft shows that itself). */
export function previewText(text: string, writing: boolean): string {
  const marker = writing ? ' …' : '';
  const trimmed = text.trim();
  const limit = MAX_TEXT - marker.length - 1;
  return trimmed.length > limit ? `${trimmed.slice(0, limit)}…` : `${trimmed}${marker}`;
}
