// npm run eval: retrieval quality on test/fixtures/questions.json — recall@1, recall@5 and MRR
// for dense-only, keyword-only and hybrid retrieval (with each keyword tokenisation), and the
// relevance scores of unanswerable questions next to answerable ones.
import { runMain } from '../errors.ts';
import { goldArticleId, loadQuestions, percent, quantile } from '../eval/questions.ts';
import { KeywordIndex, type KeywordMode } from '../index/keyword.ts';
import type { Fusion, RetrievalMode } from '../retrieve/search.ts';
import { evaluateAnswers } from '../eval/answers.ts';
import { parseCommand, type CommandSpec, type OptionSpec } from './args.ts';
import { loadedServices } from './shared.ts';

export const EVAL_COMMAND = {
  usage: 'Usage: npm run eval [-- --json]\n       npm run eval -- --answers [--verbose]',
  about:
    'Retrieval quality (recall@1, recall@5, MRR; dense, keyword and hybrid) on test/fixtures/questions.json,\n' +
    'or with --answers the quality of the answers (extractive, and the LLM when LLM_* is set).',
  options: {
    answers: { type: 'boolean', description: 'evaluate the answers instead of retrieval' },
    json: { type: 'boolean', description: 'retrieval: also print the figures as one JSON line' },
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
  byType: Record<string, number[]>;
}

await runMain(async () => {
  const args = parseCommand(EVAL_COMMAND);
  if (!args) return;
  if (args.values.answers) return evaluateAnswers(); // reads --verbose itself
  const services = await loadedServices();
  const snapshot = services.index.current();
  const questions = loadQuestions().filter((q) => q.type !== 'followup');
  const vectors = new Map<string, number[]>();
  for (const q of questions) vectors.set(q.id, await services.embedder.embedQuery(q.question));
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
    const row: Row = { name: config.name, recall1: 0, recall5: 0, mrr: 0, answerableTop: [], unanswerableTop: [], byType: {} };
    let answerable = 0;
    for (const q of questions) {
      const result = await services.retriever.search(q.question, {
        k: 10,
        mode: config.mode,
        queryVector: vectors.get(q.id),
        keywordIndex: keywordIndexes.get(config.keyword ?? 'both'),
        fusion: config.fusion,
      });
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
    rows.push(row);
  }

  const answerableCount = questions.filter((q) => q.gold).length;
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
  out.push(`Hybrid (words + bigrams) recall@5 by question type: ${Object.entries(hybrid.byType).map(([t, v]) => `${t} ${percent(v.reduce((a, b) => a + b, 0) / v.length)} (${v.length})`).join(', ')}`);
  process.stdout.write(`${out.join('\n')}\n`);
  if (args.values.json) process.stdout.write(`${JSON.stringify(rows.map(({ byType, ...r }) => ({ ...r, byType })))}\n`);
});
