// needs: model, postgres
// The index in DATABASE_URL is shared by every process that names it: starting one with another
// (or an empty, unmounted) CORPUS_DIR must leave it alone, and a reindex that would delete most
// of it is refused unless asked for with --full.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createServices, type Services } from '../../src/app.ts';
import { isOperatorError, type OperatorError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { seedCorpus } from '../helpers/corpus.ts';
import { freshDatabaseUrl } from '../helpers/postgres.ts';
import { tempDir } from '../helpers/tmp.ts';

const DATABASE_URL = await freshDatabaseUrl();
const opened: Services[] = [];
after(() => Promise.all(opened.map((s) => s.close())));

async function servicesOn(corpusDir: string): Promise<Services> {
  const services = await createServices(testConfig({ DATABASE_URL, CORPUS_DIR: corpusDir, INDEX_DIR: tempDir() }), silentLogger);
  opened.push(services);
  return services;
}

const pages = async (s: Services) => (await s.index.status()).pages;

test('the first start fills an empty database; a start with an empty CORPUS_DIR leaves it alone', { timeout: 120_000 }, async () => {
  const seeded = await servicesOn(seedCorpus().corpusDir);
  await seeded.index.loadOrBuild();
  assert.equal(await pages(seeded), 5);
  const elsewhere = await servicesOn(tempDir());
  await elsewhere.index.loadOrBuild();
  assert.equal(await pages(elsewhere), 5);
  const answer = await elsewhere.answerer.answer('浏阳大瑶镇有多少家花炮上下游企业？');
  assert.match(answer.text, /400多家/);
});

test('a reindex from a folder lacking most pages is refused with its remedy; --full deletes them', { timeout: 120_000 }, async () => {
  const empty = await servicesOn(tempDir());
  const refused = await empty.index.reindex().then(() => undefined, (error: unknown) => error);
  assert.ok(isOperatorError(refused), `refused with an operator error, got ${refused}`);
  assert.match((refused as Error).message, /lacks 5 of the 5 pages in DATABASE_URL.*npm run reindex -- --full/);
  assert.equal((refused as OperatorError).code, 'CORPUS_MOSTLY_MISSING', 'an admin hears it in Chinese (adminReason)');
  assert.equal(await pages(empty), 5);
  const purged = await empty.index.reindex(undefined, { full: true });
  assert.deepEqual(purged.changed, { added: 0, replaced: 0, removed: 5 });
  assert.equal(await pages(empty), 0);
});
