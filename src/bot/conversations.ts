// Conversation memory per chat and thread, bounded in turns, in age and in number of chats.
import type { Answer, Turn } from '../answer/types.ts';

export interface ConversationOptions {
  maxTurns: number;
  maxAgeMs: number;
  maxConversations: number;
}

interface Conversation {
  turns: Turn[];
  updated: number;
}

export class ConversationStore {
  private readonly conversations = new Map<string, Conversation>();
  /** Answers by their Telegram message, for the 查看原文 button and for replies to an old answer. */
  private readonly answersByMessage = new Map<string, { answer: Answer; turns: Turn[] }>();

  constructor(
    private readonly options: ConversationOptions = { maxTurns: 5, maxAgeMs: 30 * 60_000, maxConversations: 5_000 },
    private readonly now: () => number = Date.now,
  ) {}

  static key(chatId: number, threadId?: number): string {
    return `${chatId}:${threadId ?? 0}`;
  }

  history(key: string): Turn[] {
    const conversation = this.conversations.get(key);
    if (!conversation || this.now() - conversation.updated > this.options.maxAgeMs) {
      this.conversations.delete(key);
      return [];
    }
    return conversation.turns;
  }

  /** The conversation up to and including an earlier answer, when the user replies to it. */
  historyAt(chatId: number, messageId: number): Turn[] | undefined {
    return this.answersByMessage.get(`${chatId}:${messageId}`)?.turns;
  }

  answerAt(chatId: number, messageId: number): Answer | undefined {
    return this.answersByMessage.get(`${chatId}:${messageId}`)?.answer;
  }

  /** Adds a turn to the conversation (after `base`, when the user replied to an older answer),
   * and, if already known, the messages that carry the answer. Returns the turns, for `remember`. */
  record(key: string, question: string, answer: Answer, chatId: number, messageIds: number[], base?: Turn[]): Turn[] {
    const turn: Turn = { question: answer.rewrittenQuestion ?? question, answer: answer.text, articleIds: answer.citations.map((c) => c.articleId) };
    const turns = [...(base ?? this.history(key)), turn].slice(-this.options.maxTurns);
    this.conversations.delete(key); // re-insert: Map order doubles as least-recently-used order
    this.conversations.set(key, { turns, updated: this.now() });
    while (this.conversations.size > this.options.maxConversations) this.conversations.delete(this.conversations.keys().next().value!);
    this.remember(chatId, messageIds, answer, turns);
    return turns;
  }

  /** The messages an answer was sent in, once they are delivered (the 查看原文 button, replies). */
  remember(chatId: number, messageIds: number[], answer: Answer, turns: Turn[]): void {
    for (const id of messageIds) this.answersByMessage.set(`${chatId}:${id}`, { answer, turns });
    while (this.answersByMessage.size > this.options.maxConversations * 4) this.answersByMessage.delete(this.answersByMessage.keys().next().value!);
  }

  reset(key: string): void {
    this.conversations.delete(key);
  }
}
