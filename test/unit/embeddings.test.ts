import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { OperatorError } from '../../src/errors.ts';
import { EmbeddingUnavailableError, LocalEmbeddings } from '../../src/index/embeddings.ts';
import { tempDir } from '../helpers/tmp.ts';

for (const thread of ['worker', 'main'] as const) {
  test(`a failed model load is remembered, so repeated calls fail at once instead of retrying each time (${thread} thread)`, { timeout: 60_000 }, async () => {
    const embedder = new LocalEmbeddings({ model: 'Xenova/bge-small-zh-v1.5', modelPath: path.join(tempDir(), 'no-models'), thread });
    const first = await embedder.load().catch((error: unknown) => error);
    assert.ok(first instanceof EmbeddingUnavailableError);
    // The same rejected load, not a new attempt: this is what kept a failing search loop from
    // spinning through fresh loads at 100% CPU.
    const again = await embedder.embedQuery('测试').catch((error: unknown) => error);
    assert.equal(again, first);
  });

  test(`a missing model folder is an EmbeddingUnavailableError with the remedy, also across the thread boundary (${thread} thread)`, { timeout: 60_000 }, async () => {
    const embedder = new LocalEmbeddings({ model: 'Xenova/bge-small-zh-v1.5', modelPath: path.join(tempDir(), 'no-models'), thread });
    await assert.rejects(embedder.warm(), (e: unknown) => {
      assert.ok(e instanceof EmbeddingUnavailableError && e instanceof OperatorError);
      assert.equal(e.name, 'EmbeddingUnavailableError');
      assert.match(e.message, /^EMBEDDING_MODEL_PATH=.*no-models has no complete Xenova\/bge-small-zh-v1\.5 \(missing .*model_quantized\.onnx\)\. Offline\? .*set EMBEDDING_MODEL_PATH=<folder>/);
      return true;
    });
  });
}

test('EMBEDDING_THREAD=main keeps the model on the main thread; the default is a worker', () => {
  const saved = process.env.EMBEDDING_THREAD;
  try {
    process.env.EMBEDDING_THREAD = 'main';
    assert.equal(new LocalEmbeddings({ model: 'm' }).thread, 'main');
    assert.equal(new LocalEmbeddings({ model: 'm', thread: 'worker' }).thread, 'worker');
    delete process.env.EMBEDDING_THREAD;
    assert.equal(new LocalEmbeddings({ model: 'm' }).thread, 'worker');
  } finally {
    if (saved === undefined) delete process.env.EMBEDDING_THREAD;
    else process.env.EMBEDDING_THREAD = saved;
  }
});
