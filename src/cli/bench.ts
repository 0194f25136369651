// npm run bench: speed and memory on this machine, in one run.
//  1. cold index build (pages/s, chunks/s) against the bare model's throughput on the same chunks;
//  2. warm retrieval latency over 200+ questions against one bare query embedding;
//  3. the embedding model in its worker thread against the main thread: query latency, throughput,
//     and how long the main thread's event loop stalls while a build's batches are embedded;
//  3b. the bot's acknowledgement latency (👀 and typing) against the Bot API emulator;
//  4. the same retrieval over synthetic corpora of 10k and 100k chunks (the real chunks
//     replicated with variations), and HNSW recall against an exact search at several ef.
// With --backend local|postgres, only the storage benchmark of that backend (src/cli/bench-store.ts).
// Options: --sizes 10000,100000  --queries 240  --backend local|postgres  --database-url URL
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { text } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.ts';
import { loadCorpus } from '../corpus/index.ts';
import { OperatorError, runMain } from '../errors.ts';
import { LocalEmbeddings } from '../index/embeddings.ts';
import { localView } from '../index/local.ts';
import { loadQuestions, quantile } from '../eval/questions.ts';
import { exactTopK, replicate } from '../eval/synthetic.ts';
import { chunkArticles, type Chunk } from '../index/chunk.ts';
import { KeywordIndex } from '../index/keyword.ts';
import { buildIndex, buildVectorStore, labelOf, loadIndex, type IndexSnapshot } from '../index/store.ts';
import { IndexService } from '../index/service.ts';
import { Retriever } from '../retrieve/search.ts';
import { parseCommand, UsageError, type CommandSpec, type OptionSpec, type ParsedArgs } from './args.ts';
import { benchAcknowledgement } from './bench-ack.ts';
import { benchStore } from './bench-store.ts';
import { cliServices } from './shared.ts';

export const BENCH_COMMAND = {
  usage:
    'Usage: npm run bench [-- --sizes 10000,100000] [--queries 240]\n' +
    '       npm run bench -- --backend local|postgres [--sizes 100000] [--queries 200] [--database-url URL]',
  about:
    'Build speed, retrieval latency and memory on this machine: a cold build of CORPUS_DIR in a temporary\n' +
    'directory, warm retrieval, the embedding worker thread against the main thread, and synthetic corpora\n' +
    'of the given sizes. Takes minutes at 100,000 chunks.\n' +
    'With --backend, only that storage backend on synthetic corpora: build or ingest, adding one page, and\n' +
    'retrieval, recall and memory in a fresh process that only opens the index. PostgreSQL runs in a\n' +
    'throwaway cluster under /tmp (scripts/postgres.sh), never in DATABASE_URL.',
  options: {
    sizes: { type: 'integers', value: 'N,N', min: 1, example: '10000,100000', description: 'synthetic corpus sizes in chunks (default 10000,100000; with --backend 100000)' },
    queries: { type: 'integer', value: 'N', min: 1, max: 100000, example: '240', description: 'how many questions to time (default 240; with --backend 200)' },
    backend: { type: 'string', value: 'local|postgres', example: 'postgres', description: 'benchmark only this storage backend' },
    'database-url': { type: 'string', value: 'URL', example: 'postgres://127.0.0.1:5432/bench', description: 'with --backend postgres: an empty database to use instead of a throwaway cluster' },
  },
} satisfies CommandSpec<Record<string, OptionSpec>>;
const ms = (n: number) => `${n.toFixed(1)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;

async function time<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

/** Set in the child processes that measure one embedding thread mode each. */
const PROBE_ENV = 'NEWSBOT_BENCH_THREAD_PROBE';

if (process.env[PROBE_ENV]) await runMain(threadProbe);
else await runMain(async () => {
  const args = parseCommand(BENCH_COMMAND);
  if (!args) return;
  if (args.values.backend !== undefined || args.values['database-url'] !== undefined) return storageBench(args);
  const sizes = args.values.sizes ?? [10000, 100000];
  const queryCount = args.values.queries ?? 240;
  const services = await cliServices();
  const { config, embedder, logger } = services;
  const out: string[] = [];
  const say = (line: string) => {
    out.push(line);
    process.stdout.write(`${line}\n`);
  };
  say(`Benchmark on ${os.cpus().length} cores, Node ${process.version}, model ${embedder.modelId}, ${new Date().toISOString()}`);

  // 1. Bare model throughput on exactly the chunks a build embeds, then a cold build.
  const corpus = await loadCorpus(config.corpusDir, { maxPageBytes: config.maxPageBytes });
  const chunks = chunkArticles(corpus.articles, config.chunking);
  const texts = chunks.map((c) => c.indexText);
  await embedder.embedDocuments(texts.slice(0, 8)); // load the model: a build in a running bot finds it loaded
  // The bare model: the same chunk texts in batches of 16, in corpus order (what a plain loop
  // does), and length-sorted (what our embedder does). Same loaded model, no pipeline around it.
  const settings = config.embeddings.provider === 'local' ? config.embeddings : undefined;
  const bare = (sortByLength: boolean) => new LocalEmbeddings({ model: settings?.model ?? '', modelPath: settings?.modelPath, batchSize: 16, sortByLength });
  if (!settings) throw new OperatorError('npm run bench measures the local embedding model: unset EMBEDDINGS_BASE_URL.');
  let [, bareMs] = await time(() => bare(false).embedDocuments(texts));
  let [, bareSortedMs] = await time(() => bare(true).embedDocuments(texts));
  const indexDir = mkdtempSync(path.join(os.tmpdir(), 'newsbot-bench-'));
  try {
    const buildConfig = { ...config, indexDir };
    const [summary, buildMs] = await time(() => buildIndex({ config: buildConfig, embedder, logger }));
    const buildRate = summary.manifest.counts.chunks / (buildMs / 1000);
    // Measured on both sides of the build, the better kept: warm-up order must not flatter the ratio.
    bareMs = Math.min(bareMs, (await time(() => bare(false).embedDocuments(texts)))[1]);
    bareSortedMs = Math.min(bareSortedMs, (await time(() => bare(true).embedDocuments(texts)))[1]);
    const bareRate = chunks.length / (bareMs / 1000);
    const bareSortedRate = chunks.length / (bareSortedMs / 1000);
    say('');
    say('## Cold index build (seeds)');
    say(`| pages | chunks | build | pages/s | chunks/s | bare model chunks/s (corpus order / length-sorted) | build / bare (corpus order / length-sorted) |`);
    say(`|---|---|---|---|---|---|---|`);
    say(`| ${summary.manifest.counts.pages} | ${summary.manifest.counts.chunks} | ${(buildMs / 1000).toFixed(2)} s | ${(summary.manifest.counts.pages / (buildMs / 1000)).toFixed(2)} | ${buildRate.toFixed(1)} | ${bareRate.toFixed(1)} / ${bareSortedRate.toFixed(1)} | ${(buildRate / bareRate).toFixed(2)} / ${(buildRate / bareSortedRate).toFixed(2)} |`);

    // 2. Warm retrieval on the seed index against one bare query embedding.
    const service = new IndexService(buildConfig, embedder, logger);
    await service.reload();
    const retriever = new Retriever(() => service.view(), embedder, logger);
    const questions = benchQuestions(queryCount, chunks);
    for (const q of questions.slice(0, 10)) await retriever.search(q); // warm-up
    const embedTimes: number[] = [];
    const searchTimes: number[] = [];
    const searchOnlyTimes: number[] = [];
    for (const q of questions) {
      const [vector, embedMs] = await time(() => embedder.embedQuery(q));
      embedTimes.push(embedMs);
      searchTimes.push((await time(() => retriever.search(q, { k: 5 })))[1]);
      searchOnlyTimes.push((await time(() => retriever.search(q, { k: 5, queryVector: vector })))[1]);
    }
    say('');
    say(`## Warm retrieval, ${questions.length} questions (hybrid, k = 5, ef = ${config.hnsw.efSearch})`);
    say(`| corpus | retrieval p50 | retrieval p95 | bare query embedding p50 | p95 | p50 retrieval / embedding | search without the embedding p50 |`);
    say(`|---|---|---|---|---|---|---|`);
    const embedP50 = quantile(embedTimes, 0.5);
    say(`| seeds (${chunks.length} chunks) | ${ms(quantile(searchTimes, 0.5))} | ${ms(quantile(searchTimes, 0.95))} | ${ms(embedP50)} | ${ms(quantile(embedTimes, 0.95))} | ${(quantile(searchTimes, 0.5) / embedP50).toFixed(2)} | ${ms(quantile(searchOnlyTimes, 0.5))} |`);

    // 3. The model in its worker thread (the default) against the main thread.
    const threadRuns: ProbeResult[] = [];
    for (const thread of ['worker', 'main'] as const) threadRuns.push(await probeThread(thread, { model: settings.model, modelPath: settings.modelPath, texts, questions }));
    say('');
    say(`## Embedding thread (${chunks.length} chunks in length-sorted batches of 16, ${questions.length} queries; each mode in a fresh process)`);
    say('| model runs on | query embedding p50 | p95 | embedDocuments chunks/s | main event loop while embedding the chunks: worst delay | p99 delay |');
    say('|---|---|---|---|---|---|');
    for (const r of threadRuns) say(`| ${r.thread} thread (id ${r.threadId}) | ${ms(r.queryP50)} | ${ms(r.queryP95)} | ${r.chunksPerSecond.toFixed(1)} | ${ms(r.worstDelayMs)} | ${ms(r.p99DelayMs)} |`);

    // 3b. The bot's acknowledgement (👀 and typing) against the Bot API emulator.
    const ack = await benchAcknowledgement(config, questions);
    say('');
    say('## Acknowledgement (the real bot polling the Bot API emulator, 20 questions in two bursts of ten, extractive)');
    if (!ack) say('Skipped: the emulator (telegram-test-api) is a devDependency; run `npm install` with them.');
    else {
      say('| from the update received | p50 | p95 |');
      say('|---|---|---|');
      say(`| to the first Bot API call sent (👀 or typing) | ${ms(ack.issued[0])} | ${ms(ack.issued[1])} |`);
      say(`| to the emulator confirming it | ${ms(ack.confirmed[0])} | ${ms(ack.confirmed[1])} |`);
    }

    // 4. Synthetic corpora: the real chunks and their vectors, replicated with variations.
    const base = service.current();
    const baseVectors = base.chunks.map((_, i) => base.vectors!.index.getPoint(labelOf(base, i)));
    const queryVectors = new Map<string, number[]>();
    for (const q of questions) queryVectors.set(q, await embedder.embedQuery(q));
    say('');
    say('## Synthetic corpora (real chunks replicated with varied numbers, names and vectors)');
    say('| chunks | HNSW build | keyword build | retrieval p50 | retrieval p95 | search only p50 (no embedding) | RSS after build | HNSW recall@10 vs exact, ef = 10 / 64 / 128 |');
    say('|---|---|---|---|---|---|---|---|');
    for (const size of sizes) {
      const synthetic = replicate(base.chunks, baseVectors, size);
      const [store, hnswMs] = await time(() => buildVectorStore(synthetic.vectors, synthetic.chunks, embedder, config.hnsw));
      const [keyword, keywordMs] = await time(() => KeywordIndex.build(synthetic.chunks.map((c) => c.indexText), 'both'));
      const snapshot: IndexSnapshot = { ...base, chunks: synthetic.chunks, keyword, vectors: store, articlesById: base.articlesById };
      const syntheticRetriever = new Retriever(async () => localView(snapshot), embedder, logger);
      const recallQueries = [...queryVectors.values()].slice(0, 100);
      const exact = exactTopK(synthetic.vectors, recallQueries, 10);
      const recall = [10, 64, 128].map((ef) => hnswRecall(store, recallQueries, exact, ef));
      store.index.setEf(config.hnsw.efSearch);
      const full: number[] = [];
      const searchOnly: number[] = [];
      for (const q of questions.slice(0, 10)) await syntheticRetriever.search(q);
      for (const q of questions) {
        full.push((await time(() => syntheticRetriever.search(q, { k: 5 })))[1]);
        searchOnly.push((await time(() => syntheticRetriever.search(q, { k: 5, queryVector: queryVectors.get(q) })))[1]);
      }
      say(`| ${size} | ${(hnswMs / 1000).toFixed(1)} s | ${(keywordMs / 1000).toFixed(1)} s | ${ms(quantile(full, 0.5))} | ${ms(quantile(full, 0.95))} | ${ms(quantile(searchOnly, 0.5))} | ${mb(process.memoryUsage().rss)} | ${recall.map((r) => r.toFixed(3)).join(' / ')} |`);
    }
    say('');
    say(`Peak RSS of the whole run: ${mb(peakRss())}`);
  } finally {
    rmSync(indexDir, { recursive: true, force: true });
  }
});

interface ProbeInput {
  model: string;
  modelPath?: string;
  texts: string[];
  questions: string[];
}

interface ProbeResult {
  thread: 'worker' | 'main';
  threadId: number;
  queryP50: number;
  queryP95: number;
  chunksPerSecond: number;
  worstDelayMs: number;
  p99DelayMs: number;
}

/** Measures one thread mode in a child process: onnxruntime-node cannot run in two threads of one
 * process, and a fresh process keeps the two modes from warming each other. */
async function probeThread(thread: 'worker' | 'main', input: ProbeInput): Promise<ProbeResult> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, [PROBE_ENV]: '1', EMBEDDING_THREAD: thread },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end(JSON.stringify(input));
  const [output, code] = await Promise.all([text(child.stdout), new Promise((resolve) => child.on('close', resolve))]);
  if (code !== 0) throw new Error(`The ${thread}-thread measurement failed (exit code ${code}).`);
  return { thread, ...JSON.parse(output) };
}

/** The child side of probeThread: the texts and questions come on stdin, the figures go to stdout. */
async function threadProbe(): Promise<void> {
  const input = JSON.parse(await text(process.stdin)) as ProbeInput;
  const embedder = new LocalEmbeddings({ model: input.model, modelPath: input.modelPath, batchSize: 16 });
  await embedder.warm();
  await embedder.embedDocuments(input.texts.slice(0, 32)); // a fresh session's first batches are slower
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const [, documentsMs] = await time(() => embedder.embedDocuments(input.texts));
  delay.disable();
  const queryTimes: number[] = [];
  for (const q of input.questions) queryTimes.push((await time(() => embedder.embedQuery(q)))[1]);
  const result: Omit<ProbeResult, 'thread'> = {
    threadId: await embedder.threadId(),
    queryP50: quantile(queryTimes, 0.5),
    queryP95: quantile(queryTimes, 0.95),
    chunksPerSecond: input.texts.length / (documentsMs / 1000),
    worstDelayMs: delay.max / 1e6,
    p99DelayMs: delay.percentile(99) / 1e6,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** The evaluation questions, then questions made from chunk openings, up to `count`. */
function benchQuestions(count: number, chunks: Chunk[]): string[] {
  const questions = loadQuestions().map((q) => q.question);
  for (let i = 0; questions.length < count; i++) {
    const chunk = chunks[i % chunks.length];
    const clause = chunk.text.replace(/^本报讯（[^）]*）/, '').split(/[，。；]/)[0].slice(0, 24);
    questions.push(`${clause}是怎么回事？`);
  }
  return questions.slice(0, count);
}

/** Share of the exact top-10 neighbours (brute force) that HNSW returns at this ef. */
function hnswRecall(store: { index: { setEf(ef: number): void; searchKnn(q: number[], k: number): { neighbors: number[] } } }, queries: number[][], exact: number[][], ef: number): number {
  store.index.setEf(ef);
  let found = 0;
  queries.forEach((q, i) => {
    const approx = new Set(store.index.searchKnn(q, 10).neighbors);
    found += exact[i].filter((label) => approx.has(label)).length;
  });
  return found / (queries.length * 10);
}

/** --backend local|postgres: the storage benchmark alone. The model only embeds the questions and
 * the seed chunks (a seed build in a temporary directory); DATABASE_URL is never used. */
async function storageBench(args: ParsedArgs<typeof BENCH_COMMAND.options>): Promise<void> {
  const { backend, 'database-url': databaseUrl } = args.values;
  if (databaseUrl !== undefined && backend !== 'postgres') throw new UsageError('--database-url goes with --backend postgres', BENCH_COMMAND.usage);
  if (backend !== 'local' && backend !== 'postgres') throw new UsageError('--backend takes local or postgres', BENCH_COMMAND.usage);
  const { config, embedder, logger } = await cliServices({ ...loadConfig(), databaseUrl: undefined });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`Benchmark on ${os.cpus().length} cores, Node ${process.version}, model ${embedder.modelId}, ${new Date().toISOString()}`);
  const seedDir = mkdtempSync(path.join(os.tmpdir(), 'newsbot-bench-seeds-'));
  const removeSeeds = () => rmSync(seedDir, { recursive: true, force: true });
  process.once('exit', removeSeeds); // also when an interrupted PostgreSQL run exits at once
  try {
    await buildIndex({ config: { ...config, indexDir: seedDir }, embedder, logger });
    const seed = await loadIndex(seedDir, embedder, config.hnsw.efSearch);
    if (!seed.vectors) throw new OperatorError('The seed build has no vectors: npm run bench -- --backend needs the embedding model (EMBEDDING_MODEL_PATH).');
    const questions = spread(loadQuestions().map((q) => q.question), args.values.queries ?? 200);
    const queryVectors: number[][] = [];
    for (const q of questions) queryVectors.push(await embedder.embedQuery(q));
    await benchStore({ backend, sizes: args.values.sizes ?? [100000], config, embedder, seed, questions, queryVectors, databaseUrl, say });
  } finally {
    removeSeeds();
  }
}

/** `count` items spread evenly over the list (the questions come grouped by type). */
function spread<T>(items: T[], count: number): T[] {
  if (count >= items.length) return items;
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]);
}
