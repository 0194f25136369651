// Scoring one answer against its question, and summing scores into the figures of
// `npm run eval -- --answers`. Pure functions: no model, no index (test/unit/eval-score.test.ts).
import type { Answer } from '../answer/types.ts';
import { quantile, SINGLE_ANSWER_TYPES, UNANSWERABLE_TYPES, type EvalQuestion, type QuestionType, type Split } from './questions.ts';

/** Facts are matched whitespace-insensitively: OCR text and answers space Latin words and numbers differently. */
export const squash = (s: string) => s.replace(/\s/g, '');

export const holds = (text: string, fact: string) => squash(text).includes(squash(fact));

/** Words that say the articles do not report what was asked. */
export const NOT_REPORTED =
  /没有提到|没有提及|未提到|未提及|没有给出|未给出|未报道|没有报道|没有说明|未说明|未公布|没有公布|并未|没有披露|未披露|没有写明|未写明|没有列出|未列出/;

/** Whether the answer's first line (the first that is not blank) says what is not reported: the
 * user must learn it before anything else, not in a note at the end. */
export function firstLineSaysNotReported(text: string): boolean {
  const first = text.split('\n').find((line) => line.trim()) ?? '';
  return NOT_REPORTED.test(first);
}

/**
 * single: one article, the answer must hold all facts; list: one term per gold article, all
 * needed; summary: the share of facts held counts; notReported: the article is on topic but does
 * not say (near misses, partly answerable): refuse, or say so on the first line; offTopic: no
 * article at all: refuse.
 */
export type Category = 'single' | 'list' | 'summary' | 'notReported' | 'offTopic';

export function categoryOf(q: Pick<EvalQuestion, 'type' | 'golds'>): Category {
  if (q.golds.length === 0) return 'offTopic';
  if (UNANSWERABLE_TYPES.includes(q.type)) return 'notReported';
  if (q.type === 'list') return 'list';
  if (q.type === 'summary') return 'summary';
  if (!SINGLE_ANSWER_TYPES.includes(q.type)) throw new Error(`no scoring for question type ${q.type}`);
  return 'single';
}

export const isAnswerableCategory = (c: Category) => c === 'single' || c === 'list' || c === 'summary';

export interface QuestionScore {
  id: string;
  split: Split;
  type: QuestionType;
  category: Category;
  refused: boolean;
  /** Answerable: key facts (list: gold terms) found in the answer; 0 when refused. */
  factsHeld: number;
  factsTotal: number;
  allFacts: boolean;
  /** Answerable: a gold article among the citations; the first citation is one. */
  goldCited: boolean;
  firstCitationGold: boolean;
  /** List: the share of gold articles cited. */
  goldsCitedShare?: number;
  /** The first line says what is not reported. */
  firstLineNotReported: boolean;
  /** Unanswerable categories: refused, or (notReported only) a first line saying so. */
  handled: boolean;
  coverage: Answer['coverage'] | undefined;
  falseRefusal: boolean;
  totalMs: number;
  /** Why it counts as a miss, empty when it does not. */
  misses: string[];
  /** The first 80 characters of the answer, on one line. */
  excerpt: string;
}

/** One answer against its question; goldIds are the question's gold articles in this index, in order. */
export function scoreAnswer(q: EvalQuestion, answer: Answer, goldIds: string[]): QuestionScore {
  const category = categoryOf(q);
  const answerable = isAnswerableCategory(category);
  const text = answer.refused ? '' : answer.text;
  const held = answerable ? q.facts.filter((f) => holds(text, f)) : [];
  const cited = answer.citations.map((c) => c.articleId);
  const firstLineNotReported = firstLineSaysNotReported(answer.text);
  const score: QuestionScore = {
    id: q.id,
    split: q.split,
    type: q.type,
    category,
    refused: answer.refused,
    factsHeld: held.length,
    factsTotal: answerable ? q.facts.length : 0,
    allFacts: answerable && held.length === q.facts.length && !answer.refused,
    goldCited: answerable && cited.some((id) => goldIds.includes(id)),
    firstCitationGold: answerable && cited.length > 0 && goldIds.includes(cited[0]),
    firstLineNotReported,
    handled: category === 'offTopic' ? answer.refused : category === 'notReported' ? answer.refused || firstLineNotReported : false,
    coverage: answer.coverage,
    falseRefusal: answerable && answer.refused,
    totalMs: answer.timings?.totalMs ?? NaN,
    misses: [],
    excerpt: answer.text.replace(/\s*\n\s*/g, ' ⏎ ').slice(0, 80),
  };
  if (category === 'list') score.goldsCitedShare = goldIds.length ? goldIds.filter((id) => cited.includes(id)).length / goldIds.length : 0;
  if (answerable) {
    if (answer.refused) score.misses.push('falsely refused');
    else {
      const missing = q.facts.filter((f) => !held.includes(f));
      if (missing.length) score.misses.push(`missing ${missing.join('、')}`);
      if (!score.goldCited) score.misses.push('no gold citation');
      else if (!score.firstCitationGold) score.misses.push('first citation not gold');
    }
  } else if (!score.handled) {
    score.misses.push(category === 'offTopic' ? 'off-topic, not refused' : 'answered without saying what is not reported on its first line');
  }
  return score;
}

const ratio = (count: number, n: number) => ({ n, count, share: n ? count / n : NaN });
type Ratio = ReturnType<typeof ratio>;

export interface Figures {
  questions: number;
  /** Single-answer types: answers holding all facts. */
  singleAllFacts: Ratio;
  /** List: answers holding every gold article's term; mean share of terms held; mean share of gold articles cited. */
  listAllTerms: Ratio;
  listMeanTermsHeld: number;
  listMeanGoldsCited: number;
  /** Summary: mean share of facts held; answers holding all. */
  summaryMeanFactsHeld: number;
  summaryAllFacts: Ratio;
  /** Answerable questions: a gold article among the citations; the first citation a gold article. */
  goldCited: Ratio;
  firstCitationGold: Ratio;
  /** On topic but not reported (near misses with a gold article, partly answerable): refused or said so on the first line. */
  notReportedHandled: Ratio;
  notReportedRefused: Ratio;
  /** Off-topic (no gold article): refused. */
  offTopicRefused: Ratio;
  /** Unanswerable answers (both kinds) whose coverage is not 'full'; and how many carry no coverage at all. */
  unanswerableCoverageNotFull: Ratio;
  coverageMissing: number;
  /** Answerable questions refused. */
  falseRefusals: Ratio;
  /** Answerable questions whose answer's first line says something is not reported (a wrong
   * "not reported" is no refusal, yet the user is told the articles do not say). */
  answerableSaysNotReported: Ratio;
  latencyMs: { p50: number; p95: number };
}

const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);
const count = <T>(items: T[], test: (item: T) => boolean) => items.filter(test).length;

export function summarise(scores: QuestionScore[]): Figures {
  const of = (c: Category) => scores.filter((s) => s.category === c);
  const single = of('single');
  const list = of('list');
  const summary = of('summary');
  const answerable = scores.filter((s) => isAnswerableCategory(s.category));
  const notReported = of('notReported');
  const offTopic = of('offTopic');
  const unanswerable = [...notReported, ...offTopic];
  const latencies = scores.map((s) => s.totalMs).filter((ms) => Number.isFinite(ms));
  return {
    questions: scores.length,
    singleAllFacts: ratio(count(single, (s) => s.allFacts), single.length),
    listAllTerms: ratio(count(list, (s) => s.allFacts), list.length),
    listMeanTermsHeld: mean(list.map((s) => s.factsHeld / s.factsTotal)),
    listMeanGoldsCited: mean(list.map((s) => s.goldsCitedShare ?? 0)),
    summaryMeanFactsHeld: mean(summary.map((s) => s.factsHeld / s.factsTotal)),
    summaryAllFacts: ratio(count(summary, (s) => s.allFacts), summary.length),
    goldCited: ratio(count(answerable, (s) => s.goldCited), answerable.length),
    firstCitationGold: ratio(count(answerable, (s) => s.firstCitationGold), answerable.length),
    notReportedHandled: ratio(count(notReported, (s) => s.handled), notReported.length),
    notReportedRefused: ratio(count(notReported, (s) => s.refused), notReported.length),
    offTopicRefused: ratio(count(offTopic, (s) => s.refused), offTopic.length),
    unanswerableCoverageNotFull: ratio(count(unanswerable, (s) => s.coverage !== 'full'), unanswerable.length),
    coverageMissing: count(scores, (s) => s.coverage === undefined),
    falseRefusals: ratio(count(answerable, (s) => s.falseRefusal), answerable.length),
    answerableSaysNotReported: ratio(count(answerable, (s) => !s.refused && s.firstLineNotReported), answerable.length),
    latencyMs: { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95) },
  };
}

/** Context recall of one question: its key facts (list: each gold term) found in the text sent. */
export function contextFacts(q: EvalQuestion, sent: string | undefined): { held: number; total: number; missing: string[] } {
  const missing = sent === undefined ? [...q.facts] : q.facts.filter((f) => !holds(sent, f));
  return { held: q.facts.length - missing.length, total: q.facts.length, missing };
}
