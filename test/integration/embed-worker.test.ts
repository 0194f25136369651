// needs: model
// The local model in its worker thread: it runs off the main thread, gives the main thread's
// vectors, reports load errors as the app's own error class, survives its worker stopping, and
// never keeps a finished process alive.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import { EmbeddingUnavailableError, LocalEmbeddings } from '../../src/index/embeddings.ts';
import { tempDir } from '../helpers/tmp.ts';

const model = process.env.EMBEDDING_MODEL || 'Xenova/bge-small-zh-v1.5';
const modelPath = process.env.EMBEDDING_MODEL_PATH;
const worker = new LocalEmbeddings({ model, modelPath, thread: 'worker' });
const texts = ['上海市总工会推进职工工间休息室建设。', '邓州市的爱心早餐项目', '2023年', 'A short English line.'];
const query = '邓州的爱心早餐多少钱？';

const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i], 0) / (Math.hypot(...a) * Math.hypot(...b));
const embeddingsModule = JSON.stringify(fileURLToPath(new URL('../../src/index/embeddings.ts', import.meta.url)));
const tsxCli = path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'cli.mjs');

/** Runs a TypeScript snippet in a new process (`node --import tsx` unless told otherwise); a
 * process still running after 60 s is killed and reported as such. */
async function runScript(source: string, runner: string[] = ['--import', 'tsx'], env: NodeJS.ProcessEnv = process.env) {
  const file = path.join(tempDir(), 'script.mts');
  writeFileSync(file, source);
  const child = spawn(process.execPath, [...runner, file], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

test('the model runs in a worker thread, not the main one', { timeout: 60_000 }, async () => {
  await worker.warm();
  assert.equal(threadId, 0);
  assert.ok((await worker.threadId()) > 0);
});

test('the worker gives the same vectors as the main thread', { timeout: 90_000 }, async () => {
  // In another process: onnxruntime-node cannot run in two threads of one process.
  const inThread = await runScript(
    `import { LocalEmbeddings } from ${embeddingsModule};
const embedder = new LocalEmbeddings({ model: ${JSON.stringify(model)}, modelPath: ${JSON.stringify(modelPath)}, thread: 'main' });
console.log(JSON.stringify({ threadId: await embedder.threadId(), documents: await embedder.embedDocuments(${JSON.stringify(texts)}), query: await embedder.embedQuery(${JSON.stringify(query)}) }));
`,
  );
  assert.equal(inThread.code, 0, inThread.stderr);
  const fromMain = JSON.parse(inThread.stdout) as { threadId: number; documents: number[][]; query: number[] };
  assert.equal(fromMain.threadId, 0);
  const fromWorker = await worker.embedDocuments(texts);
  assert.equal(fromWorker.length, texts.length);
  fromWorker.forEach((vector, i) => assert.ok(cosine(vector, fromMain.documents[i]) > 0.9999, `text ${i}`));
  assert.ok(cosine(await worker.embedQuery(query), fromMain.query) > 0.9999);
});

test('a process that runs the model in the worker refuses to run it on the main thread too, instead of crashing', { timeout: 60_000 }, async () => {
  const inThread = new LocalEmbeddings({ model, modelPath, thread: 'main' });
  await assert.rejects(inThread.embedQuery('测试'), /already runs the embedding model on the worker thread.*EMBEDDING_THREAD/);
});

test('a model that fails to load in the worker arrives as EmbeddingUnavailableError with the remedy', { timeout: 60_000 }, async () => {
  // Every file present, but the weights are not ONNX: the failure happens inside the worker.
  const folder = tempDir();
  cpSync(path.join(modelPath ?? '', model), path.join(folder, model), { recursive: true, filter: (file) => !file.endsWith('.onnx') });
  mkdirSync(path.join(folder, model, 'onnx'), { recursive: true });
  writeFileSync(path.join(folder, model, 'onnx', 'model_quantized.onnx'), 'not a model');
  const broken = new LocalEmbeddings({ model, modelPath: folder, thread: 'worker' });
  await assert.rejects(broken.embedQuery('测试'), (e: unknown) => {
    assert.ok(e instanceof EmbeddingUnavailableError);
    assert.match((e as Error).message, /^The embedding model in EMBEDDING_MODEL_PATH=.* could not be loaded \(.+\)\. Check that .* there is complete\. Offline\? /);
    return true;
  });
  // The worker it shares with the good model still serves that one.
  assert.equal((await worker.embedQuery('测试')).length, 512);
});

// A CLI must end when its work is done, with the work done: the idle worker must not hold the
// process open, nor may the process end while a request is in flight.
const embedOnce = `import { LocalEmbeddings } from ${embeddingsModule};
const embedder = new LocalEmbeddings({ model: ${JSON.stringify(model)}, modelPath: ${JSON.stringify(modelPath)} });
console.log((await embedder.embedQuery('测试')).length, await embedder.threadId());
`;
for (const [name, runner] of Object.entries({ 'node --import tsx': ['--import', 'tsx'], 'the tsx CLI': [tsxCli] })) {
  test(`a process that embeds once exits on its own (${name})`, { timeout: 90_000 }, async () => {
    const { code, signal, stdout, stderr } = await runScript(embedOnce, runner);
    assert.equal(signal, null, `still running after 60 s: ${stdout}${stderr}`);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^512 [1-9]\d*$/m);
  });
}

test('a process that exits while the worker runs a batch exits with its own code, not an abort', { timeout: 90_000 }, async () => {
  const { code, signal, stderr } = await runScript(`import { LocalEmbeddings } from ${embeddingsModule};
const embedder = new LocalEmbeddings({ model: ${JSON.stringify(model)}, modelPath: ${JSON.stringify(modelPath)}, batchSize: 64 });
await embedder.warm();
void embedder.embedDocuments(Array.from({ length: 1000 }, (_, i) => '上海市总工会推进职工工间休息室建设，邓州市的爱心早餐项目第' + i + '期。'.repeat(4)));
setTimeout(() => process.exit(3), 300);
`);
  assert.equal(signal, null, stderr);
  assert.equal(code, 3, stderr);
});

// Last: with onnxruntime-node 1.21 the runtime cannot be loaded again in this process once its worker stopped.
test('calls in flight when the worker stops reject with a clear error, and the next call starts a new worker', { timeout: 60_000 }, async () => {
  const many = Array.from({ length: 200 }, (_, i) => `${texts[i % texts.length]}（第${i}段）`);
  const inFlight = worker.embedDocuments(many).then(() => 'finished', (error: Error) => error.message);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await worker.close();
  assert.equal(await inFlight, 'The embedding worker was stopped before it answered.');
  // A new worker answers: with vectors, or (onnxruntime-node 1.21) with the runtime's load error.
  const next = await worker.embedQuery('测试').then(
    (vector) => vector.length,
    (error: Error) => error,
  );
  if (typeof next !== 'number') assert.ok(next instanceof EmbeddingUnavailableError && /runtime .* could not be loaded.*restart the process/.test(next.message), next.message);
  else assert.equal(next, 512);
});
