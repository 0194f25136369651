// npm run eval -- --answers: answer quality on the question set, by split (tune, holdout, both) and
// question type:
// - extractive answers (no keys): key facts held, citations, refusals, "not reported" first lines,
//   false refusals, latency;
// - the LLM context, without an LLM: the pipeline in LLM mode talks to a local recording server,
//   and the share of key facts that reach the model is measured (src/eval/context.ts);
// - with LLM_* set, the real LLM's answers, scored like the extractive ones.
// Each pass has its own Answerer: none affects another.
import { Answerer } from '../answer/answer.ts';
import { cliLogger, createServices } from '../cli/shared.ts';
import { loadCorpus } from '../corpus/index.ts';
import { loadConfig } from '../config.ts';
import { answerWithHistory, recordContexts, summariseContext, type ContextFigures, type ContextRecord } from './context.ts';
import { goldArticleIds, isAnswerable, loadQuestions, percent, QUESTION_TYPES, SPLITS, type Split } from './questions.ts';
import { scoreAnswer, summarise, type Figures, type QuestionScore } from './score.ts';

export type SplitChoice = Split | 'all';

export interface AnswerEvalOptions {
  split: SplitChoice;
  verbose: boolean;
  json: boolean;
}

/** One pass's figures per shown split ('tune', 'holdout', 'all'), overall and by question type. */
interface Report<F, Miss> {
  name: string;
  seconds: number;
  figures: Partial<Record<SplitChoice, F>>;
  byType: Partial<Record<SplitChoice, Record<string, F>>>;
  misses: ({ id: string; split: Split; type: string } & Miss)[];
}

type ModeReport = Report<Figures, { why: string[]; answer: string }>;
type ContextReport = Report<ContextFigures, { missing: string[]; sent: boolean }>;

/** The splits shown: one, or both halves and all. */
const shownSplits = (choice: SplitChoice): SplitChoice[] => (choice === 'all' ? [...SPLITS, 'all'] : [choice]);
const inSplit = (split: SplitChoice) => <T extends { split: Split }>(items: T[]) => (split === 'all' ? items : items.filter((i) => i.split === split));

function groupByType<T extends { type: string }>(items: T[]): Record<string, T[]> {
  const groups: Record<string, T[]> = {};
  for (const type of QUESTION_TYPES) {
    const of = items.filter((i) => i.type === type);
    if (of.length) groups[type] = of;
  }
  return groups;
}

export async function evaluateAnswers(options: AnswerEvalOptions): Promise<void> {
  const config = loadConfig();
  const logger = cliLogger(config);
  const services = await createServices(config, logger);
  await services.index.loadOrBuild();
  // Gold articles from CORPUS_DIR itself (ids depend only on the page), whichever store holds them.
  const { articles } = await loadCorpus(config.corpusDir, { maxPageBytes: config.maxPageBytes });
  const questions = inSplit(options.split)(loadQuestions());
  // Every gold article must be in the index before anything runs.
  const golds = new Map(questions.map((q) => [q.id, goldArticleIds(q, articles)]));
  const splits = shownSplits(options.split);
  const base = { retriever: services.retriever, views: () => services.index.view(), embedder: services.embedder, maxQuestionChars: config.maxQuestionChars };

  const modes: ModeReport[] = [];
  const runMode = async (name: string, answerer: Answerer) => {
    const started = performance.now();
    const scores: QuestionScore[] = [];
    for (const q of questions) scores.push(scoreAnswer(q, await answerWithHistory(answerer, q), golds.get(q.id)!));
    modes.push(modeReport(name, (performance.now() - started) / 1000, scores, splits));
  };

  // Loading the model and the first searches take longer: warm up outside the timings, with an
  // answerer of its own (a question not in the set), so latency is the same for either split.
  await new Answerer(base).answer('职工工间休息室建了多少间？');
  await runMode('extractive', new Answerer(base));

  const answerable = questions.filter(isAnswerable);
  const started = performance.now();
  const records = await recordContexts(answerable, (llm) => new Answerer({ ...base, llm }));
  const context = contextReport('LLM context (recording server, no model)', (performance.now() - started) / 1000, records, splits);

  if (services.answerer.mode === 'llm') await runMode(`LLM (${config.llm!.model})`, services.answerer);

  if (options.json) {
    const count = (s: Split) => questions.filter((q) => q.split === s).length;
    process.stdout.write(`${JSON.stringify({ split: options.split, questions: { tune: count('tune'), holdout: count('holdout') }, modes, context })}\n`);
    return;
  }
  const lines: string[] = [];
  for (const mode of modes) lines.push(...modeTables(mode, splits, options.verbose));
  lines.push(...contextTables(context, splits, options.verbose));
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** A pass's report: `summarise` per shown split and per question type; `miss` describes what an
 * item lacks, or undefined when it lacks nothing. */
function buildReport<T extends { id: string; split: Split; type: string }, F, Miss>(
  name: string,
  seconds: number,
  items: T[],
  splits: SplitChoice[],
  summarise: (items: T[]) => F,
  miss: (item: T) => Miss | undefined,
): Report<F, Miss> {
  const report: Report<F, Miss> = { name, seconds, figures: {}, byType: {}, misses: [] };
  for (const split of splits) {
    const of = inSplit(split)(items);
    report.figures[split] = summarise(of);
    report.byType[split] = Object.fromEntries(Object.entries(groupByType(of)).map(([type, group]) => [type, summarise(group)]));
  }
  for (const item of items) {
    const missed = miss(item);
    if (missed) report.misses.push({ id: item.id, split: item.split, type: item.type, ...missed });
  }
  return report;
}

function modeReport(name: string, seconds: number, scores: QuestionScore[], splits: SplitChoice[]): ModeReport {
  return buildReport(name, seconds, scores, splits, summarise, (s) => (s.misses.length ? { why: s.misses, answer: s.excerpt } : undefined));
}

function contextReport(name: string, seconds: number, records: ContextRecord[], splits: SplitChoice[]): ContextReport {
  return buildReport(name, seconds, records, splits, summariseContext, (r) => (r.missing.length ? { missing: r.missing, sent: r.chars !== undefined } : undefined));
}

// ---- markdown ----

const frac = (r: { n: number; count: number; share: number }) => (r.n ? `${percent(r.share)} (${r.count}/${r.n})` : '–');
const share = (n: number) => (Number.isFinite(n) ? percent(n) : '–');
const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)}` : '–');

const MEASURES: [string, (f: Figures) => string][] = [
  ['key facts: single-answer questions holding all facts', (f) => frac(f.singleAllFacts)],
  ['key facts: list questions holding every gold article\'s term', (f) => frac(f.listAllTerms)],
  ['key facts: list terms held, mean / gold articles cited, mean', (f) => (f.listAllTerms.n ? `${share(f.listMeanTermsHeld)} / ${share(f.listMeanGoldsCited)}` : '–')],
  ['key facts: summaries, mean share of facts held', (f) => share(f.summaryMeanFactsHeld)],
  ['key facts: summaries holding all facts', (f) => frac(f.summaryAllFacts)],
  ['citations: a gold article among them (answerable)', (f) => frac(f.goldCited)],
  ['citations: the first is a gold article (answerable)', (f) => frac(f.firstCitationGold)],
  ['not reported (near misses, partly answerable): refused, or said so on the first line', (f) => frac(f.notReportedHandled)],
  ['not reported: of which refused', (f) => frac(f.notReportedRefused)],
  ['off-topic (no gold article): refused', (f) => frac(f.offTopicRefused)],
  ['unanswerable (both kinds): coverage not "full"', (f) => frac(f.unanswerableCoverageNotFull)],
  ['false refusals (answerable refused)', (f) => frac(f.falseRefusals)],
  ['answerable, answered, but the first line says "not reported"', (f) => frac(f.answerableSaysNotReported)],
  ['latency p50 / p95 (ms)', (f) => `${ms(f.latencyMs.p50)} / ${ms(f.latencyMs.p95)}`],
];

function modeTables(mode: ModeReport, splits: SplitChoice[], verbose: boolean): string[] {
  const lines: string[] = [];
  const all = mode.figures[splits.at(-1)!]!;
  lines.push(`### ${mode.name}: ${all.questions} questions in ${mode.seconds.toFixed(1)} s`, '');
  lines.push(`| measure | ${splits.join(' | ')} |`, `|---|${splits.map(() => '---|').join('')}`);
  for (const [label, value] of MEASURES) lines.push(`| ${label} | ${splits.map((s) => value(mode.figures[s]!)).join(' | ')} |`);
  const missing = Math.max(...splits.map((s) => mode.figures[s]!.coverageMissing));
  if (missing) lines.push('', `(${missing} answers carry no \`coverage\`: counted as not "full".)`);
  lines.push('');
  for (const split of splits) {
    lines.push(`By type, ${split}:`, '');
    lines.push('| type | questions | key facts (all held) | facts held, mean | gold cited | first citation gold | false refusals | refused or noted (unanswerable) | coverage ≠ full (unanswerable) | p50 ms |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const [type, f] of Object.entries(mode.byType[split]!)) {
      const keyFacts = f.singleAllFacts.n ? f.singleAllFacts : f.listAllTerms.n ? f.listAllTerms : f.summaryAllFacts;
      const meanHeld = f.listAllTerms.n ? f.listMeanTermsHeld : f.summaryAllFacts.n ? f.summaryMeanFactsHeld : NaN;
      const handled = f.notReportedHandled.n || f.offTopicRefused.n ? `${percent((f.notReportedHandled.count + f.offTopicRefused.count) / (f.notReportedHandled.n + f.offTopicRefused.n))} (${f.notReportedHandled.count + f.offTopicRefused.count}/${f.notReportedHandled.n + f.offTopicRefused.n})` : '–';
      lines.push(`| ${type} | ${f.questions} | ${frac(keyFacts)} | ${share(meanHeld)} | ${frac(f.goldCited)} | ${frac(f.firstCitationGold)} | ${frac(f.falseRefusals)} | ${handled} | ${frac(f.unanswerableCoverageNotFull)} | ${ms(f.latencyMs.p50)} |`);
    }
    lines.push('');
  }
  if (verbose) {
    lines.push(`Misses (${mode.misses.length}):`, '');
    for (const m of mode.misses) lines.push(`- ${m.id} ${m.split} ${m.type}: ${m.why.join('; ')} → ${m.answer}`);
    lines.push('');
  }
  return lines;
}

function contextTables(report: ContextReport, splits: SplitChoice[], verbose: boolean): string[] {
  const lines: string[] = [];
  const all = report.figures[splits.at(-1)!]!;
  lines.push(`### ${report.name}: ${all.questions} answerable questions in ${report.seconds.toFixed(1)} s`, '');
  lines.push('Context recall: the share of key facts (list: each gold term) in the last answer request sent for the question.', '');
  const row = (label: string, f: ContextFigures) =>
    `| ${label} | ${f.questions} | ${f.facts ? `${percent(f.recall)} (${f.held}/${f.facts})` : '–'} | ${ms(f.chars.p50)} / ${ms(f.chars.p95)} | ${f.noRequest} |`;
  const header = (first: string) => [`| ${first} | questions | context recall | characters sent p50 / p95 | no request sent |`, '|---|---|---|---|---|'];
  lines.push(...header('split'));
  for (const split of splits) lines.push(row(split, report.figures[split]!));
  lines.push('');
  for (const split of splits) {
    lines.push(`By type, ${split}:`, '', ...header('type'));
    for (const [type, f] of Object.entries(report.byType[split]!)) lines.push(row(type, f));
    lines.push('');
  }
  if (verbose) {
    lines.push(`Facts the model would not see (${report.misses.length} questions):`, '');
    for (const m of report.misses) lines.push(`- ${m.id} ${m.split} ${m.type}: ${m.sent ? `not sent: ${m.missing.join('、')}` : 'no answer request sent'}`);
    lines.push('');
  }
  return lines;
}

