// npm run eval: retrieval quality on test/fixtures/questions.json — recall@1, recall@5 and MRR
// for dense-only, keyword-only and hybrid retrieval (with each keyword tokenisation), and the
// relevance scores of unanswerable questions next to answerable ones. The main table is on the
// first 110 questions (as it always was); the later answerable single-article types are reported
// by type and split below it. Follow-ups and topic switches need their history (answer eval only);
// list questions and near misses are not scored on recall.
import { localView } from '../index/local.ts';
import { runMain } from '../errors.ts';
import { FIRST_SET_TYPES, goldArticleId, loadQuestions, percent, quantile, SPLITS, type QuestionType, type Split } from '../eval/questions.ts';
import { KeywordIndex, type KeywordMode } from '../index/keyword.ts';
import type { Fusion, RetrievalMode } from '../retrieve/search.ts';
import { evaluateAnswers } from '../eval/answers.ts';
import { parseCommand, UsageError, type CommandSpec, type OptionSpec } from './args.ts';
import { loadedServices, localIndex } from './shared.ts';

export const EVAL_COMMAND = {
  usage: 'Usage: npm run eval [-- --json]\n       npm run eval -- --answers [--split tune|holdout|all] [--verbose] [--json]',
  about:
    'Retrieval quality (recall@1, recall@5, MRR; dense, keyword and hybrid) on test/fixtures/questions.json,\n' +
    'or with --answers the quality of the answers (extractive; the LLM context a model would see, through a\n' +
    'local recording server; and the real LLM when LLM_* is set), by split (tune, holdout) and question type.',
  options: {
    answers: { type: 'boolean', description: 'evaluate the answers instead of retrieval' },
    split: { type: 'string', value: 'SPLIT', example: 'holdout', description: 'answers: tune, holdout or all (default: all, each half and both)' },
    json: { type: 'boolean', description: 'retrieval: also print the figures as one JSON line; answers: print one JSON object instead of tables' },
    verbose: { type: 'boolean', description: 'answers: list the answers that missed' },
  },
} satisfies CommandSpec<Record<string, OptionSpec>>;

interface Row {
  name: string;
  recall1: number;
  recall5: number;
  mrr: number;
  answerableTop: number[];
  unanswerableTop: number[];
  /** recall@5 hits (1/0) per question, by type: the first set's types and the later ones. */
  byType: Record<string, number[]>;
  /** The later answerable single-article types, by type and split. */
  later: Record<string, Partial<Record<Split, Recall>>>;
}

interface Recall {
  n: number;
  recall1: number;
  recall5: number;
  mrr: number;
}

/** Later types scored on recall: one gold article, no history. */
const LATER_RECALL_TYPES: readonly QuestionType[] = ['detail', 'summary', 'colloquial', 'whosaid'];

await runMain(async () => {
  const args = parseCommand(EVAL_COMMAND);
  if (!args) return;
  const split = args.values.split ?? 'all';
  if (split !== 'tune' && split !== 'holdout' && split !== 'all') throw new UsageError('--split takes tune, holdout or all', EVAL_COMMAND.usage);
  if (args.values.answers) return evaluateAnswers({ split, verbose: args.values.verbose ?? false, json: args.values.json ?? false });
  if (args.values.split) throw new UsageError('--split goes with --answers (the retrieval tables show both halves).', EVAL_COMMAND.usage);
  const services = await loadedServices();
  const snapshot = localIndex(services, 'npm run eval').current();
  const all = loadQuestions();
  // The first set, as always (follow-ups need their history), and the later single-article types.
  const questions = all.filter((q) => FIRST_SET_TYPES.includes(q.type) && q.type !== 'followup');
  const later = all.filter((q) => LATER_RECALL_TYPES.includes(q.type) && q.golds.length === 1 && !q.history?.length);
  const vectors = new Map<string, number[]>();
  for (const q of [...questions, ...later]) vectors.set(q.id, await services.embedder.embedQuery(q.question));
  const keywordIndexes = new Map<KeywordMode, KeywordIndex>();
  for (const mode of ['words', 'bigrams', 'both'] as KeywordMode[]) {
    keywordIndexes.set(mode, mode === snapshot.keyword.mode ? snapshot.keyword : KeywordIndex.build(snapshot.chunks.map((c) => c.indexText), mode));
  }

  const configs: { name: string; mode: RetrievalMode; keyword?: KeywordMode; fusion?: Fusion }[] = [
    { name: 'dense only', mode: 'dense' },
    { name: 'keyword only (jieba words)', mode: 'keyword', keyword: 'words' },
    { name: 'keyword only (bigrams)', mode: 'keyword', keyword: 'bigrams' },
    { name: 'keyword only (words + bigrams)', mode: 'keyword', keyword: 'both' },
    { name: 'hybrid (words)', mode: 'hybrid', keyword: 'words' },
    { name: 'hybrid (bigrams)', mode: 'hybrid', keyword: 'bigrams' },
    { name: 'hybrid (words + bigrams), reciprocal rank fusion', mode: 'hybrid', keyword: 'both', fusion: 'rrf' },
    { name: 'hybrid (words + bigrams), score fusion', mode: 'hybrid', keyword: 'both', fusion: 'convex' },
  ];
  const rows: Row[] = [];
  for (const config of configs) {
    const row: Row = { name: config.name, recall1: 0, recall5: 0, mrr: 0, answerableTop: [], unanswerableTop: [], byType: {}, later: {} };
    const search = (q: (typeof all)[number]) =>
      services.retriever.search(q.question, {
        k: 10,
        mode: config.mode,
        queryVector: vectors.get(q.id),
        view: localView(snapshot, { keyword: keywordIndexes.get(config.keyword ?? 'both') }),
        fusion: config.fusion,
      });
    let answerable = 0;
    for (const q of questions) {
      const result = await search(q);
      const top = result.results[0]?.score ?? 0;
      const gold = goldArticleId(q, snapshot.articles);
      if (!gold || q.type === 'partial') {
        (gold ? row.answerableTop : row.unanswerableTop).push(top);
        if (!gold) continue;
      } else row.answerableTop.push(top);
      answerable++;
      const rank = result.results.findIndex((r) => r.articleId === gold) + 1;
      if (rank === 1) row.recall1++;
      if (rank >= 1 && rank <= 5) row.recall5++;
      if (rank >= 1) row.mrr += 1 / rank;
      (row.byType[q.type] ??= []).push(rank >= 1 && rank <= 5 ? 1 : 0);
    }
    row.recall1 /= answerable;
    row.recall5 /= answerable;
    row.mrr /= answerable;
    for (const q of later) {
      const gold = goldArticleId(q, snapshot.articles)!;
      const rank = (await search(q)).results.findIndex((r) => r.articleId === gold) + 1;
      const r = ((row.later[q.type] ??= {})[q.split] ??= { n: 0, recall1: 0, recall5: 0, mrr: 0 });
      r.n++;
      if (rank === 1) r.recall1++;
      if (rank >= 1 && rank <= 5) r.recall5++;
      if (rank >= 1) r.mrr += 1 / rank;
      (row.byType[q.type] ??= []).push(rank >= 1 && rank <= 5 ? 1 : 0);
    }
    for (const bySplit of Object.values(row.later)) {
      for (const r of Object.values(bySplit)) {
        r.recall1 /= r.n;
        r.recall5 /= r.n;
        r.mrr /= r.n;
      }
    }
    rows.push(row);
  }

  const answerableCount = questions.filter((q) => q.golds.length).length;
  const out: string[] = [];
  out.push(`Retrieval on ${questions.length} questions (${answerableCount} with a gold article, ${questions.length - answerableCount} unanswerable); index ${snapshot.manifest.buildId}, ${snapshot.manifest.counts.chunks} chunks.`);
  out.push('');
  out.push('| retrieval | recall@1 | recall@5 | MRR | top score, answerable (p10 / median) | top score, unanswerable (median / p90) |');
  out.push('|---|---|---|---|---|---|');
  for (const r of rows) {
    out.push(`| ${r.name} | ${percent(r.recall1)} | ${percent(r.recall5)} | ${r.mrr.toFixed(3)} | ${quantile(r.answerableTop, 0.1).toFixed(2)} / ${quantile(r.answerableTop, 0.5).toFixed(2)} | ${quantile(r.unanswerableTop, 0.5).toFixed(2)} / ${quantile(r.unanswerableTop, 0.9).toFixed(2)} |`);
  }
  const hybrid = rows.at(-1)!;
  out.push('');
  const firstTypes = Object.entries(hybrid.byType).filter(([t]) => FIRST_SET_TYPES.includes(t as QuestionType));
  out.push(`Hybrid (words + bigrams) recall@5 by question type: ${firstTypes.map(([t, v]) => `${t} ${percent(v.reduce((a, b) => a + b, 0) / v.length)} (${v.length})`).join(', ')}`);
  if (later.length) {
    out.push('');
    out.push(`Later questions with one gold article and no history (${later.length}), hybrid score fusion, by type and split (list questions, near misses and topic switches are in the answer evaluation):`);
    out.push('');
    out.push('| type | split | questions | recall@1 | recall@5 | MRR |');
    out.push('|---|---|---|---|---|---|');
    for (const [type, bySplit] of Object.entries(hybrid.later)) {
      for (const s of SPLITS) {
        const r = bySplit[s];
        if (r) out.push(`| ${type} | ${s} | ${r.n} | ${percent(r.recall1)} | ${percent(r.recall5)} | ${r.mrr.toFixed(3)} |`);
      }
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  if (args.values.json) process.stdout.write(`${JSON.stringify(rows.map(({ byType, ...r }) => ({ ...r, byType })))}\n`);
});
