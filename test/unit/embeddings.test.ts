import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { EmbeddingUnavailableError, LocalEmbeddings } from '../../src/index/embeddings.ts';
import { tempDir } from '../helpers/tmp.ts';

test('a failed model load is remembered, so repeated calls fail at once instead of retrying each time', async () => {
  const embedder = new LocalEmbeddings({ model: 'Xenova/bge-small-zh-v1.5', modelPath: path.join(tempDir(), 'no-models') });
  const first = await embedder.load().catch((error: unknown) => error);
  assert.ok(first instanceof EmbeddingUnavailableError);
  // The same rejected load, not a new attempt: this is what kept a failing search loop from
  // spinning through fresh loads at 100% CPU.
  const again = await embedder.embedQuery('测试').catch((error: unknown) => error);
  assert.equal(again, first);
});
