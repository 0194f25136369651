// npm run bench: speed and memory on this machine, in one run.
//  1. cold index build (pages/s, chunks/s) against the bare model's throughput on the same chunks;
//  2. warm retrieval latency over 200+ questions against one bare query embedding;
//  3. the embedding model in its worker thread against the main thread: query latency, throughput,
//     and how long the main thread's event loop stalls while a build's batches are embedded;
//  4. the same retrieval over synthetic corpora of 10k and 100k chunks (the real chunks
//     replicated with variations), and HNSW recall against an exact search at several ef.
// Options: --sizes 10000,100000  --queries 240
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { text } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { loadCorpus } from '../corpus/index.ts';
import { OperatorError, runMain } from '../errors.ts';
import { LocalEmbeddings } from '../index/embeddings.ts';
import { localView } from '../index/local.ts';
import { loadQuestions, quantile } from '../eval/questions.ts';
import { chunkArticles, type Chunk } from '../index/chunk.ts';
import { KeywordIndex } from '../index/keyword.ts';
import { buildIndex, buildVectorStore, type IndexSnapshot } from '../index/store.ts';
import { IndexService } from '../index/service.ts';
import { Retriever } from '../retrieve/search.ts';
import { parseCommand, type CommandSpec, type OptionSpec } from './args.ts';
import { cliServices } from './shared.ts';

export const BENCH_COMMAND = {
  usage: 'Usage: npm run bench [-- --sizes 10000,100000] [--queries 240]',
  about:
    'Build speed, retrieval latency and memory on this machine: a cold build of CORPUS_DIR in a temporary\n' +
    'directory, warm retrieval, the embedding worker thread against the main thread, and synthetic corpora\n' +
    'of the given sizes. Takes minutes at 100,000 chunks.',
  options: {
    sizes: { type: 'integers', value: 'N,N', min: 1, example: '10000,100000', description: 'synthetic corpus sizes in chunks (default 10000,100000)' },
    queries: { type: 'integer', value: 'N', min: 1, max: 100000, example: '240', description: 'how many questions to time (default 240)' },
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

    // 4. Synthetic corpora: the real chunks and their vectors, replicated with variations.
    const base = service.current();
    const baseVectors = base.chunks.map((_, label) => base.vectors!.index.getPoint(label));
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
      const recall = [10, 64, 128].map((ef) => hnswRecall(store, synthetic.vectors, [...queryVectors.values()].slice(0, 100), ef));
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

/** Replicates chunks with changed numbers and a varying place, and vectors with small noise,
 * so that the copies are near, not identical, neighbours. */
function replicate(chunks: Chunk[], vectors: number[][], size: number): { chunks: Chunk[]; vectors: number[][] } {
  const places = ['东城', '西城', '南岗', '北塘', '中原', '江岸', '河口', '山阳', '海湾', '湖滨'];
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const outChunks: Chunk[] = [];
  const outVectors: number[][] = [];
  for (let i = 0; i < size; i++) {
    const source = chunks[i % chunks.length];
    const copy = Math.floor(i / chunks.length);
    const place = `${places[copy % places.length]}${copy}`;
    const text = source.text.replace(/\d+/g, (d) => String((Number(d) + copy) % 100000)).replace(/(?<=[省市县区])/, place);
    outChunks.push({ ...source, id: `${source.id}~${copy}`, articleId: `${source.articleId}~${copy}`, text, indexText: `${source.headline}\n${text}` });
    const noisy = vectors[i % chunks.length].map((v) => v + (random() - 0.5) * 0.04);
    const norm = Math.hypot(...noisy);
    outVectors.push(noisy.map((v) => v / norm));
  }
  return { chunks: outChunks, vectors: outVectors };
}

/** Share of the exact top-10 neighbours (brute force) that HNSW returns at this ef. */
function hnswRecall(store: { index: { setEf(ef: number): void; searchKnn(q: number[], k: number): { neighbors: number[] } } }, vectors: number[][], queries: number[][], ef: number): number {
  store.index.setEf(ef);
  const dim = vectors[0].length;
  const flat = new Float32Array(vectors.length * dim);
  vectors.forEach((v, i) => flat.set(v, i * dim));
  let found = 0;
  for (const q of queries) {
    const dots = new Float32Array(vectors.length);
    for (let i = 0; i < vectors.length; i++) {
      let dot = 0;
      for (let j = 0, o = i * dim; j < dim; j++) dot += flat[o + j] * q[j];
      dots[i] = dot;
    }
    const exact = [...dots.keys()].sort((a, b) => dots[b] - dots[a]).slice(0, 10);
    const approx = new Set(store.index.searchKnn(q, 10).neighbors);
    found += exact.filter((label) => approx.has(label)).length;
  }
  return found / (queries.length * 10);
}
