// needs: model, postgres
// The done-when of the storage port: the same pages in PostgreSQL answer the question set exactly
// as the local index does (same text, same citations), through the same retrieval and answers.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Answerer } from '../../src/answer/answer.ts';
import { answerWithHistory } from '../../src/eval/context.ts';
import { loadQuestions } from '../../src/eval/questions.ts';
import { PostgresChunkStore } from '../../src/index/postgres/store.ts';
import { Retriever } from '../../src/retrieve/search.ts';
import { freshDatabaseUrl } from '../helpers/postgres.ts';
import { seedServices } from '../helpers/services.ts';

const services = await seedServices();
const snapshot = services.index.current();
const store = await PostgresChunkStore.open({ url: await freshDatabaseUrl(), identity: snapshot.manifest.embedding!, keywordMode: snapshot.keyword.mode });
after(() => store.close());

test('the seeds upserted page by page into PostgreSQL answer a sample of the question set exactly as the local index', { timeout: 120_000 }, async () => {
  for (const [file, { sha256 }] of Object.entries(snapshot.manifest.pages)) {
    const positions = snapshot.chunks.flatMap((c, i) => (c.file === file ? [i] : []));
    await store.upsertPage({
      file,
      contentHash: sha256,
      articles: snapshot.articles.filter((a) => a.file === file),
      chunks: positions.map((i) => snapshot.chunks[i]),
      vectors: positions.map((i) => snapshot.vectors!.index.getPoint(i)),
    });
  }
  assert.deepEqual(await store.status(), { backend: 'postgres', pages: 5, articles: 49, chunks: snapshot.chunks.length, embedding: snapshot.manifest.embedding });
  const local = services.answerer();
  const views = () => store.view();
  const remote = new Answerer({ retriever: new Retriever(views, services.embedder), views, embedder: services.embedder });
  // Every 7th question: every type, follow-ups with their history, English, refusals.
  const sample = loadQuestions().filter((_, i) => i % 7 === 0);
  assert.ok(sample.length >= 70);
  for (const q of sample) {
    const [a, b] = [await answerWithHistory(local, q), await answerWithHistory(remote, q)];
    assert.equal(b.text, a.text, `${q.id} ${q.question}`);
    assert.deepEqual(b.citations, a.citations, q.id);
    assert.equal(b.refused, a.refused, q.id);
  }
});
