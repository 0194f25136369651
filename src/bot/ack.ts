// Instant acknowledgement: an answer takes from a fraction of a second to many seconds (longer
// when the queue is busy), so a question the bot has taken gets 👀 on it and "typing…" at once,
// before any work. The reaction is removed once the answer is out. Both are cosmetic: they go
// through the outbox as light, optional calls (outbox.ts), so they never wait behind or delay an
// answer, a chat waiting out a 429 gets none, and their own 429 pauses the chat like any other.
import type { Context, MiddlewareFn } from 'telegraf';
import type { Logger } from '../log.ts';
import { setMessageReaction, type ReactionType } from './api.ts';
import type { Outbox } from './outbox.ts';
import { sendTyping } from './send.ts';

export const WORKING: ReactionType[] = [{ type: 'emoji', emoji: '👀' }];

/** First in the chain: when the update reached the bot, for the acknowledgement's latency. */
export const stampReceipt: MiddlewareFn<Context> = (ctx, next) => {
  ctx.state.receivedAt ??= Date.now();
  return next();
};

export const receivedAt = (ctx: Context): number => (ctx.state.receivedAt as number | undefined) ?? Date.now();

/** The last `size` acknowledgements, in ms since the update was received: `issued` when the
 * first Bot API call left, `answered` when Telegram confirmed it. */
export class AckLatency {
  readonly issued: number[] = [];
  readonly answered: number[] = [];
  constructor(private readonly size = 1000) {}

  record(series: 'issued' | 'answered', ms: number): void {
    const values = this[series];
    values.push(ms);
    if (values.length > this.size) values.shift();
  }

  percentile(series: 'issued' | 'answered', p: number): number | undefined {
    const sorted = [...this[series]].sort((a, b) => a - b);
    return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] : undefined;
  }
}

export interface Ack {
  /** When "typing…" was sent, so that the answer's own typing does not repeat it at once. */
  typingAt: number;
  /** Removes the reaction once `delivered` settles (the answer, or the error notice, is out). */
  finishAfter(delivered: Promise<unknown>): void;
}

export class Acknowledger {
  readonly latency = new AckLatency();
  /** Chats that refused a reaction (reactions off, or 👀 not allowed): not tried again. */
  private readonly noReactions = new Set<number>();

  constructor(
    private readonly outbox: Outbox,
    private readonly logger: Logger,
  ) {}

  start(chatId: number, messageId: number, since: number, threadId?: number): Ack {
    const firstCall = once(() => this.latency.record('issued', Date.now() - since));
    const firstReply = once(() => this.latency.record('answered', Date.now() - since));
    const reacted = this.react(chatId, messageId, WORKING, firstCall, firstReply);
    void sendTyping(this.outbox, chatId, threadId, firstCall).then((shown) => shown && firstReply());
    let finished = false;
    return {
      typingAt: Date.now(),
      finishAfter: (delivered) => {
        if (finished) return;
        finished = true;
        void Promise.all([reacted, delivered]).then(([ok]) => ok && this.react(chatId, messageId, []));
      },
    };
  }

  /** Resolves true once the reaction is set; false if it was not (never rejects). */
  private async react(chatId: number, messageId: number, reaction: ReactionType[], onCall = () => {}, onReply = () => {}): Promise<boolean> {
    if (this.noReactions.has(chatId)) return false;
    const label = reaction.length ? 'reaction' : 'reaction removal';
    const result = await this.outbox.send(
      chatId,
      label,
      async (telegram) => {
        onCall();
        try {
          const set = await setMessageReaction(telegram, chatId, messageId, reaction);
          onReply();
          return set;
        } catch (error) {
          // 429 and network errors are the outbox's; a 400 means this chat takes no reaction.
          if ((error as { response?: { error_code?: number } }).response?.error_code !== 400) throw error;
          this.refused(chatId, error);
          return false;
        }
      },
      { kind: 'light', optional: true },
    );
    return result === true;
  }

  /** Logged once per chat: the chat is remembered and not tried again (questions sent together
   * before the first refusal came back may each have tried). */
  private refused(chatId: number, error: unknown): void {
    if (this.noReactions.has(chatId)) return;
    if (this.noReactions.size >= 10_000) this.noReactions.clear(); // bounded; forgetting costs one more try
    this.noReactions.add(chatId);
    const why = (error as { response?: { description?: string } }).response?.description ?? String(error);
    this.logger.info(`Chat ${chatId} takes no reaction (${why}): questions there are acknowledged with typing only`);
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) (done = true), fn();
  };
}
