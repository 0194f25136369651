// The evaluation question set (test/fixtures/questions.json) and its gold articles.
import { readFileSync } from 'node:fs';
import type { Article } from '../corpus/types.ts';

export type QuestionType = 'fact' | 'paraphrase' | 'english' | 'photo' | 'unanswerable' | 'partial' | 'followup';

export interface EvalQuestion {
  id: string;
  type: QuestionType;
  question: string;
  gold: { file: string; headline: string } | null;
  facts: string[];
  history?: { question: string; answer?: string }[];
  traditional?: boolean;
}

export const QUESTIONS_FILE = new URL('../../test/fixtures/questions.json', import.meta.url);

export function loadQuestions(file: URL | string = QUESTIONS_FILE): EvalQuestion[] {
  return JSON.parse(readFileSync(file, 'utf8')) as EvalQuestion[];
}

/** The gold article's id in this index, matched by page file and headline. */
export function goldArticleId(question: EvalQuestion, articles: Article[]): string | undefined {
  if (!question.gold) return undefined;
  const squash = (s: string) => s.replace(/\s/g, '');
  const found = articles.find((a) => a.file === question.gold!.file && squash(a.headline) === squash(question.gold!.headline));
  if (!found) throw new Error(`${question.id}: gold article "${question.gold.headline}" (${question.gold.file}) is not in the index: update test/fixtures/questions.json`);
  return found.id;
}

export const percent = (n: number) => `${(n * 100).toFixed(1)}%`;
export const quantile = (values: number[], q: number) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
};
