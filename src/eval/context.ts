// LLM context recall without an LLM: the answer pipeline talks to a local OpenAI-compatible
// server (src/eval/fake-openai.ts) that records every request and replies by quoting the first
// sentence of passage [1] with a [1] marker. What matters is what was SENT: the share of the key
// facts that reach the model in the last answer request of each question, and how long it is.
import type { Answer, Turn } from '../answer/types.ts';
import { createChatModel, type ChatModel } from '../answer/llm.ts';
import { startFakeOpenAI, type ChatRequest, type Reply } from './fake-openai.ts';
import { quantile, type EvalQuestion, type QuestionType, type Split } from './questions.ts';
import { contextFacts } from './score.ts';

/** The start of numbered material: "[1]" or "【1】" at the start of a line. */
const markerAt = (n: number) => new RegExp(`^[ \\t]*(?:\\[${n}\\]|【${n}】)`, 'm');

/** The text of every user message of a request: what the model is given besides its instructions. */
export const userContent = (request: ChatRequest) =>
  request.messages
    .filter((m) => m.role === 'user')
    .map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)))
    .join('\n');

/** An answer request carries numbered material; a follow-up rewrite does not. */
export const isAnswerRequest = (request: ChatRequest) => markerAt(1).test(userContent(request));

/** Passage [1]: from its marker to the next passage's marker or a closing tag (e.g. </资料>). */
export function firstPassage(content: string): string | undefined {
  const start = markerAt(1).exec(content);
  if (!start) return undefined;
  let block = content.slice(start.index + start[0].length);
  const end = new RegExp(`${markerAt(2).source}|<\\/[^<>\\n]{1,20}>`, 'm').exec(block);
  if (end) block = block.slice(0, end.index);
  return block.trim();
}

/** The first whole sentence of a passage. A header line (headline, file) has no full stop and is
 * passed over; a passage without one gives its first body line. */
export function firstSentence(passage: string): string {
  const sentence = /[^。！？!?\n]*[。！？!?][”’」』）)]*/.exec(passage)?.[0].trim();
  if (sentence) return sentence.replace(/^(?:正文|内容|原文)[：:]\s*/, '');
  const lines = passage.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.length > 1 ? lines[1] : (lines[0] ?? '')).slice(0, 120);
}

/** The recorder's reply: the first sentence of passage [1], cited; nothing to anything else (a
 * follow-up rewrite then falls back to the answerer's own carrying-over of terms). */
export function quoteFirstPassage(request: ChatRequest): Reply {
  const passage = firstPassage(userContent(request));
  if (passage === undefined) return { content: '' };
  return { content: `${firstSentence(passage)}[1]` };
}

export interface ContextRecord {
  id: string;
  split: Split;
  type: QuestionType;
  held: number;
  total: number;
  missing: string[];
  /** Characters of the user message(s) of the last answer request; undefined: none was sent. */
  chars?: number;
}

export interface ContextFigures {
  questions: number;
  facts: number;
  held: number;
  recall: number;
  /** Questions for which no answer request reached the server (refused before the model). */
  noRequest: number;
  chars: { p50: number; p95: number };
}

export function summariseContext(records: ContextRecord[]): ContextFigures {
  const facts = records.reduce((a, r) => a + r.total, 0);
  const held = records.reduce((a, r) => a + r.held, 0);
  const chars = records.map((r) => r.chars).filter((c): c is number => c !== undefined);
  return {
    questions: records.length,
    facts,
    held,
    recall: facts ? held / facts : NaN,
    noRequest: records.length - chars.length,
    chars: { p50: quantile(chars, 0.5), p95: quantile(chars, 0.95) },
  };
}

export interface Answering {
  answer(question: string, history?: Turn[]): Promise<Answer>;
}

/** Answers a question after its history, each earlier turn answered by the same answerer;
 * `beforeQuestion` runs between the last earlier turn and the question itself. */
export async function answerWithHistory(answerer: Answering, q: Pick<EvalQuestion, 'question' | 'history'>, beforeQuestion?: () => void): Promise<Answer> {
  const history: Turn[] = [];
  for (const turn of q.history ?? []) {
    const previous = await answerer.answer(turn.question, history);
    history.push({ question: turn.question, answer: previous.text, articleIds: previous.citations.map((c) => c.articleId) });
  }
  beforeQuestion?.();
  return answerer.answer(q.question, history);
}

/**
 * Runs every question (with its history) through an answerer built on a recording server
 * (127.0.0.1, port 0, closed at the end) and measures what the last answer request for the
 * question itself held.
 */
export async function recordContexts(questions: EvalQuestion[], makeAnswerer: (llm: ChatModel) => Answering): Promise<ContextRecord[]> {
  const server = await startFakeOpenAI(quoteFirstPassage);
  try {
    const llm = createChatModel({ baseUrl: server.baseUrl, apiKey: 'none', model: 'recorder', timeoutMs: 10000, maxRetries: 0 });
    const answerer = makeAnswerer(llm);
    const records: ContextRecord[] = [];
    for (const q of questions) {
      let mark = server.requests.length;
      await answerWithHistory(answerer, q, () => (mark = server.requests.length));
      const last = server.requests.slice(mark).filter(isAnswerRequest).at(-1);
      const sent = last ? userContent(last) : undefined;
      records.push({ id: q.id, split: q.split, type: q.type, ...contextFacts(q, sent), ...(sent !== undefined ? { chars: [...sent].length } : {}) });
    }
    return records;
  } finally {
    await server.close();
  }
}
