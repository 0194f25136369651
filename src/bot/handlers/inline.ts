// Inline mode: `@bot 问题` in any chat lists the answer and the articles it cites; choosing one
// posts it as the user. Only answerInlineQuery is ever called (no chat messages: the bot may not
// even be in that chat). Inline queries come as the user types, so they are debounced per user
// (only the latest is answered) and go through the question limit and queue like any question.
import { Composer, type Context } from 'telegraf';
import type { Answer } from '../../answer/types.ts';
import type { InlineQueryResult } from 'telegraf/types';
import { stripBidi } from '../render.ts';
import type { BotState } from '../context.ts';
import { inlineResults } from '../inline-results.ts';

/** Shorter than this is still being typed, or too vague to search (a name like 邓州 is 2). */
export const MIN_INLINE_CHARS = 2;
/** Telegram already waits for a pause in typing; this drops the queries a fast typist still sends. */
export const INLINE_DEBOUNCE_MS = 600;
/** The articles change with each reindex and the answer with nothing else, so a short cache. */
export const INLINE_CACHE_S = 30;
/** Telegram drops an inline query's answer after about 10 s (QUERY_ID_INVALID): past this, from
 * the query's arrival, the LLM is not waited for and the extractive answer (milliseconds) goes. */
export const INLINE_LLM_DEADLINE_MS = 6_000;

export const PRIVATE_BUTTON = { text: '私聊提问', start_parameter: 'inline' };
const BUSY_BUTTON = { text: '提问太频繁了，请稍后再试', start_parameter: 'inline' };
const FAILED_BUTTON = { text: '出了点问题，请稍后再试', start_parameter: 'inline' };

/**
 * is_personal is false for answers: they depend on the question only (no conversation history,
 * nothing about the user), so Telegram may show the same results to anyone typing the same query
 * for INLINE_CACHE_S, which saves answer work. A refusal because of *this user's* limit is
 * personal and not cached, or it would be shown to others.
 */
type ExtraAnswerInlineQuery = NonNullable<Parameters<Context['answerInlineQuery']>[1]>;

const SHARED: ExtraAnswerInlineQuery = { cache_time: INLINE_CACHE_S, is_personal: false };
const PERSONAL_NOW: ExtraAnswerInlineQuery = { cache_time: 0, is_personal: true };

export function inlineComposer(state: BotState, debounceMs = INLINE_DEBOUNCE_MS): Composer<Context> {
  const composer = new Composer<Context>();
  /** Each user's latest inline query: an older one still waiting is not answered. */
  const latest = new Map<number, string>();

  composer.on('inline_query', (ctx) => {
    const { id, from } = ctx.inlineQuery;
    const deadline = Date.now() + INLINE_LLM_DEADLINE_MS;
    const question = stripBidi(ctx.inlineQuery.query).replace(/\s+/g, ' ').trim();
    const reply: Reply = (results, extra) =>
      void state.outbox.send(from.id, 'inline answer', () => ctx.answerInlineQuery(results, extra), { kind: 'light' });
    if ([...question].length < MIN_INLINE_CHARS) return reply([], { ...SHARED, button: PRIVATE_BUTTON });
    if (question.length > state.config.maxQuestionChars) return reply([], { ...SHARED, button: PRIVATE_BUTTON });

    latest.set(from.id, id);
    // Not awaited: the handler must not hold up the next batch of updates (tasks.ts).
    state.tasks.track(new Promise((resolve) => setTimeout(resolve, debounceMs)).then(() => {
      if (latest.get(from.id) !== id) return; // typed on: the newer query gets the answer
      latest.delete(from.id);
      return answerLatest(state, from.id, question, reply, deadline);
    }));
  });

  return composer;
}

type Reply = (results: readonly InlineQueryResult[], extra: ExtraAnswerInlineQuery) => void;

/** The same limit and queue as questions in chats: an inline answer is the same work. */
async function answerLatest(state: BotState, userId: number, question: string, reply: Reply, deadline: number): Promise<void> {
  const busy = state.closing || (await state.limiter.check(userId, userId)) > 0 || state.tasks.admission(userId) !== 'queued';
  if (busy) return reply([], { ...PERSONAL_NOW, button: BUSY_BUTTON });
  state.tasks.submit(userId, userId, async () => {
    try {
      reply(inlineResults(question, await answerBy(state, question, deadline)), SHARED);
    } catch (error) {
      state.logger.warn(`An inline query failed: ${(error as Error).message}`);
      reply([], { ...PERSONAL_NOW, button: FAILED_BUTTON });
    }
  });
}

/** The answer, or if the LLM has not given it by the deadline, the extractive one (the generated
 * answer, finished later, is dropped: the query can no longer be answered). */
async function answerBy(state: BotState, question: string, deadline: number): Promise<Answer> {
  const generated = state.answerer.answer(question, []);
  if (state.answerer.mode !== 'llm') return generated;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
  });
  try {
    const first = await Promise.race([generated, late]);
    if (first) return first;
  } finally {
    clearTimeout(timer);
  }
  generated.catch((error: Error) => state.logger.debug(`A late inline LLM answer failed: ${error.message}`));
  state.logger.info('An inline answer missed its deadline waiting for the LLM: answered extractively');
  return state.answerer.answer(question, [], { extractive: true });
}
