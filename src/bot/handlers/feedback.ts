// 👍 and 👎 under every answer: the press is stored (one vote per user per answer, a later press
// replaces it) and answered with a toast only, never a chat message, so a vote adds no noise.
import { createHash } from 'node:crypto';
import { Composer, type Context } from 'telegraf';
import type { Answer, Turn } from '../../answer/types.ts';
import type { FeedbackVote, Vote } from '../../state/port.ts';
import type { BotState } from '../context.ts';

export const VOTE_BUTTONS = [
  { text: '👍', callback_data: 'vote:up' },
  { text: '👎', callback_data: 'vote:down' },
];

const EMOJI: Record<Vote, string> = { up: '👍', down: '👎' };

/** Ids as stored: a hash, never the id. A fixed prefix (not a per-install salt) keeps hashes
 * comparable across installs and restarts; it hides ids from a reader of the export, not from
 * someone who tries every Telegram id. */
export function hashId(id: number): string {
  return createHash('sha256').update(`newsbot-feedback:v1:${id}`).digest('hex').slice(0, 16);
}

/** The toast for a press, given this user's earlier vote on the answer. */
export function voteToast(vote: Vote, previous: Vote | undefined): string {
  return previous && previous !== vote ? `已改为 ${EMOJI[vote]}` : `已记录：${EMOJI[vote]}`;
}

/** The vote as stored: the question is the last turn's (the standalone, rewritten question of a
 * follow-up), so that it reads on its own in the evaluation set. */
export function voteRecord(input: { vote: Vote; chatId: number; chatType: FeedbackVote['chatType']; messageId: number; userId: number; answer: Answer; turns?: Turn[]; time: number }): FeedbackVote {
  const { answer } = input;
  const chatHash = hashId(input.chatId);
  return {
    time: input.time,
    vote: input.vote,
    answerId: `${chatHash}:${input.messageId}`,
    userHash: hashId(input.userId),
    chatHash,
    chatType: input.chatType,
    question: input.turns?.at(-1)?.question ?? answer.rewrittenQuestion ?? '',
    answer: answer.text,
    citations: answer.citations.map((c) => ({ articleId: c.articleId, headline: c.headline })),
    mode: answer.mode,
    refused: answer.refused,
    timings: answer.timings,
  };
}

export function feedbackComposer(state: BotState): Composer<Context> {
  const composer = new Composer<Context>();
  composer.action(/^vote:(up|down)$/, async (ctx) => {
    const toast = (text: string) => void state.outbox.send(ctx.chat?.id ?? ctx.from.id, 'button answer', () => ctx.answerCbQuery(text), { kind: 'light' });
    const message = ctx.callbackQuery.message;
    if (!message || !ctx.chat) return toast('无法评价这条消息。');
    const conversations = state.conversations;
    const [answer, turns] = await Promise.all([conversations.answerAt(ctx.chat.id, message.message_id), conversations.historyAt(ctx.chat.id, message.message_id)]);
    if (!answer) return toast('这条回答已过期，无法评价。');
    const vote = ctx.match[1] as Vote;
    const record = voteRecord({ vote, chatId: ctx.chat.id, chatType: ctx.chat.type, messageId: message.message_id, userId: ctx.from.id, answer, turns, time: Date.now() });
    try {
      toast(voteToast(vote, await state.stateStore.feedback.vote(record)));
    } catch (error) {
      state.logger.warn(`Could not store a vote on an answer: ${(error as Error).message}`);
      toast('暂时无法记录评价，请稍后再试。');
    }
  });
  return composer;
}
