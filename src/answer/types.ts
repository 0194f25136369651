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

export interface Answer {
  /** Chinese answer text with [n] markers. */
  text: string;
  citations: Citation[];
  /** True when the articles do not answer the question (the text then says so). */
  refused: boolean;
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
