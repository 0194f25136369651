// The product's core output, shared by the terminal, the JSON scripts and Telegram.

export interface Citation {
  /** The marker number as it appears in the text: [1], [2], … in order of first use. */
  n: number;
  articleId: string;
  headline: string;
  file: string;
  /** The passage the answer used, quoted from the article. */
  quote: string;
}

export type AnswerMode = 'llm' | 'extractive';

export type Coverage = 'full' | 'partial' | 'none';

export interface Answer {
  /** Chinese answer text with [n] markers. */
  text: string;
  citations: Citation[];
  /** True only when nothing relevant was found (the text then says so). */
  refused: boolean;
  /** How much of what was asked the cited articles hold: all of it, some (see notReported), or
   * nothing (refused, or the topic is covered but not the detail asked). */
  coverage: Coverage;
  /** What was asked and is not in the articles, in Chinese (e.g. 上海2024年实际建成的数量). */
  notReported: string[];
  mode: AnswerMode;
  /** A short note for the user when something ran degraded (LLM down, keyword-only search). */
  notice?: string;
  /** The standalone question actually searched, when a follow-up was rewritten. */
  rewrittenQuestion?: string;
  /** Claims the citation check removed from an LLM answer (numbers or names no passage has). */
  removedClaims?: string[];
  /** Headlines offered when refusing: the closest articles. */
  suggestions?: { headline: string; file: string }[];
  timings: { totalMs: number; retrieveMs: number; generateMs: number };
}

export interface Turn {
  question: string;
  answer?: string;
  /** Articles the answer cited, so that a follow-up can stay on them. */
  articleIds?: string[];
}
