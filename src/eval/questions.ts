// The evaluation question set (test/fixtures/questions.json) and its gold articles.
//
// One file, two generations of entries, loaded into one type:
// - the first 110 (q01…q110): `gold` a {file, headline} object or null, no split (they were tuned
//   on by earlier work, so they are 'tune');
// - the later ones (n001…), written without seeing the code: `gold` an array (several articles for
//   a list question, none for an off-topic one), an explicit split, `notReported` for a near miss.
// The file now stores every entry in the second form; the first is still accepted.
import { readFileSync } from 'node:fs';
import type { Article } from '../corpus/types.ts';

/** Question types of the first set, then of the second. */
export const QUESTION_TYPES = [
  'fact',
  'paraphrase',
  'english',
  'photo',
  'unanswerable',
  'partial',
  'followup',
  'detail',
  'nearmiss',
  'list',
  'summary',
  'colloquial',
  'whosaid',
  'switch',
] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

/** The types of the first 110 questions: the retrieval table keeps its figures on these. */
export const FIRST_SET_TYPES: readonly QuestionType[] = ['fact', 'paraphrase', 'english', 'photo', 'unanswerable', 'partial', 'followup'];

/** One article answers these, and the answer holds all of `facts`. */
export const SINGLE_ANSWER_TYPES: readonly QuestionType[] = ['fact', 'paraphrase', 'english', 'photo', 'followup', 'detail', 'colloquial', 'whosaid', 'switch'];

/** The articles do not (fully) answer these: the bot should refuse or say what is not reported. */
export const UNANSWERABLE_TYPES: readonly QuestionType[] = ['nearmiss', 'unanswerable', 'partial'];

export const SPLITS = ['tune', 'holdout'] as const;
/** 'tune': may be looked at while changing the bot; 'holdout': only measured. */
export type Split = (typeof SPLITS)[number];

export interface GoldRef {
  file: string;
  headline: string;
}

export interface EvalQuestion {
  id: string;
  type: QuestionType;
  question: string;
  /** The articles that answer it (list: one per item, in the order of `facts`); [] = off-topic. */
  golds: GoldRef[];
  /** Key facts the answer must hold; for a list question, facts[i] is the term of golds[i]. */
  facts: string[];
  split: Split;
  /** Earlier turns of the conversation (follow-ups and topic switches). */
  history?: { question: string; answer?: string }[];
  /** Near misses: what was asked and is not in the articles. */
  notReported?: string[];
  traditional?: boolean;
  /** The question writer's remark (traps, synonyms); not used in scoring. */
  note?: string;
}

/** An entry as stored: either generation. */
export interface RawQuestion {
  id: string;
  type: string;
  question: string;
  gold: GoldRef | GoldRef[] | null;
  facts?: string[];
  split?: string;
  history?: { question: string; answer?: string }[];
  notReported?: string | string[] | null;
  traditional?: boolean;
  note?: string;
}

export const QUESTIONS_FILE = new URL('../../test/fixtures/questions.json', import.meta.url);

export function loadQuestions(file: URL | string = QUESTIONS_FILE): EvalQuestion[] {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(raw)) throw new Error(`${String(file)}: expected an array of questions`);
  return normaliseQuestions(raw as RawQuestion[]);
}

/** Both generations into one type; a malformed entry throws, naming its id. */
export function normaliseQuestions(raw: RawQuestion[]): EvalQuestion[] {
  const seen = new Set<string>();
  return raw.map((r, i) => {
    const where = `question ${r?.id ?? `#${i + 1}`}`;
    if (!r || typeof r.id !== 'string' || !r.id) throw new Error(`question #${i + 1}: no id`);
    if (seen.has(r.id)) throw new Error(`${where}: duplicate id`);
    seen.add(r.id);
    if (!QUESTION_TYPES.includes(r.type as QuestionType)) throw new Error(`${where}: unknown type "${r.type}" (one of ${QUESTION_TYPES.join(', ')})`);
    if (typeof r.question !== 'string' || !r.question.trim()) throw new Error(`${where}: no question text`);
    const split = r.split ?? 'tune';
    if (!SPLITS.includes(split as Split)) throw new Error(`${where}: split must be tune or holdout, not "${split}"`);
    const golds = r.gold == null ? [] : Array.isArray(r.gold) ? r.gold : [r.gold];
    for (const g of golds) {
      if (!g || typeof g.file !== 'string' || typeof g.headline !== 'string') throw new Error(`${where}: each gold needs a file and a headline`);
    }
    const facts = r.facts ?? [];
    if (!Array.isArray(facts) || facts.some((f) => typeof f !== 'string')) throw new Error(`${where}: facts must be strings`);
    const type = r.type as QuestionType;
    if (type === 'list' && facts.length !== golds.length) throw new Error(`${where}: a list question needs one fact per gold article`);
    const q: EvalQuestion = { id: r.id, type, question: r.question, golds: golds.map(({ file, headline }) => ({ file, headline })), facts, split: split as Split };
    if (r.history?.length) q.history = r.history;
    if (r.notReported != null) q.notReported = Array.isArray(r.notReported) ? r.notReported : [r.notReported];
    if (r.traditional) q.traditional = true;
    if (r.note) q.note = r.note;
    return q;
  });
}

const squashSpace = (s: string) => s.replace(/\s/g, '');

/** Every gold article's id in this index, matched by page file and headline, in order. */
export function goldArticleIds(question: EvalQuestion, articles: Article[]): string[] {
  return question.golds.map((gold) => {
    const found = articles.find((a) => a.file === gold.file && squashSpace(a.headline) === squashSpace(gold.headline));
    if (!found) throw new Error(`${question.id}: gold article "${gold.headline}" (${gold.file}) is not in the index: update test/fixtures/questions.json`);
    return found.id;
  });
}

/** The (first) gold article's id in this index; undefined when the question has none. */
export function goldArticleId(question: EvalQuestion, articles: Article[]): string | undefined {
  return question.golds.length ? goldArticleIds({ ...question, golds: question.golds.slice(0, 1) }, articles)[0] : undefined;
}

/** Answerable: it has a gold article and asks for something the articles hold. */
export const isAnswerable = (q: EvalQuestion) => q.golds.length > 0 && !UNANSWERABLE_TYPES.includes(q.type);

export const percent = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : '–');
export const quantile = (values: number[], q: number) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
};
