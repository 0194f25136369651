// EMBEDDINGS_BASE_URL swaps the local model for an OpenAI-compatible /embeddings endpoint, by
// configuration alone: the real LangChain client against a local server.
import { localView } from '../../src/index/local.ts';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createEmbeddings, LocalEmbeddings } from '../../src/index/embeddings.ts';
import { buildIndex, IndexInvalidError, loadIndex } from '../../src/index/store.ts';
import { Retriever } from '../../src/retrieve/search.ts';
import { testConfig } from '../helpers/config.ts';
import { startFakeOpenAI } from '../helpers/fake-openai.ts';
import { seedCorpus } from '../helpers/corpus.ts';

const server = await startFakeOpenAI();
after(() => server.close());
const { corpusDir, indexDir, env: corpusEnv } = seedCorpus();

test('an index built and searched through an OpenAI-compatible embeddings endpoint', async () => {
  const config = testConfig({ ...corpusEnv, EMBEDDINGS_BASE_URL: server.baseUrl, EMBEDDINGS_API_KEY: 'k', EMBEDDINGS_MODEL: 'fake-embed' });
  const embedder = await createEmbeddings(config);
  assert.ok(!(embedder instanceof LocalEmbeddings));
  const summary = await buildIndex({ config, embedder });
  assert.deepEqual(summary.manifest.embedding, { model: `fake-embed@${server.baseUrl}`, dimension: 64 });
  assert.ok(server.embeddingRequests.length > 0 && server.embeddingRequests.every((r) => r.model === 'fake-embed'));
  const snapshot = await loadIndex(config.indexDir, embedder, 64);
  const result = await new Retriever(async () => localView(snapshot), embedder).search('浏阳大瑶镇花炮上下游企业有多少家？', { k: 3 });
  assert.equal(result.mode, 'hybrid');
  assert.match(result.results[0].headline, /浏阳/);
  // The local model cannot read vectors made by another model.
  const local = await createEmbeddings(testConfig({ CORPUS_DIR: corpusDir, INDEX_DIR: indexDir }));
  await assert.rejects(loadIndex(config.indexDir, local, 64), (e: unknown) => e instanceof IndexInvalidError && /built with the embedding model fake-embed/.test((e as Error).message));
});
