// pages.jsonl lines (src/index/records.ts): what is left out is rebuilt exactly, and what cannot
// be rebuilt is stored as it is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readPage } from '../../src/corpus/read.ts';
import { segmentPage } from '../../src/corpus/segment.ts';
import type { Page } from '../../src/corpus/types.ts';
import { chunkArticles } from '../../src/index/chunk.ts';
import { decodePage, encodePage } from '../../src/index/records.ts';

const pages = await Promise.all(['000_4b243fa835f211e8.txt', '001_de5b9526f34a1a69.txt', '002_ca5b28cd01bd8cb6.txt'].map((file) => readPage('seeds', file, { maxPageBytes: 2_000_000 }) as Promise<Page>));

test('a seed page round-trips: articles and chunks equal, kickers and summaries included', { timeout: 10_000 }, () => {
  let kickers = 0;
  let summaries = 0;
  for (const page of pages) {
    const articles = segmentPage(page);
    const chunks = chunkArticles(articles, { size: 300, overlap: 60 });
    kickers += chunks.filter((c) => c.kicker).length;
    summaries += chunks.filter((c) => c.start === -1).length;
    const line = encodePage(page.file, articles, chunks);
    assert.ok(!line.includes('\n'), 'one line');
    const decoded = decodePage(line);
    assert.equal(decoded.file, page.file);
    assert.deepEqual(decoded.articles, articles);
    assert.deepEqual(decoded.chunks, chunks);
    // The texts the articles hold are not stored twice.
    assert.ok(line.length < JSON.stringify({ articles, chunks }).length / 2, `${line.length} of ${JSON.stringify({ articles, chunks }).length}`);
  }
  assert.ok(kickers > 0 && summaries > 0, `${kickers} chunks with a kicker, ${summaries} summary chunks`);
});

test('chunks and articles that do not follow the rules are stored as they are', { timeout: 10_000 }, () => {
  const articles = segmentPage(pages[1]);
  const chunks = chunkArticles(articles, { size: 300, overlap: 60 });
  const odd = structuredClone(articles);
  odd[0].paragraphs[0].text = `${odd[0].paragraphs[0].text}（改）`; // no longer a piece of the text
  const changed = chunks.map((c, i) => {
    if (i === 0) return { ...c, text: `${c.text}变`, indexText: `${c.headline}\n${c.text}变` }; // a synthetic copy's text
    if (i === 1) return { ...c, headline: '另一个标题', kicker: undefined }; // a field not from its article
    if (i === 2) return { ...c, articleId: 'no-such-article', extra: 7 }; // no article, an unknown field
    return c;
  });
  delete (changed[1] as { kicker?: string }).kicker;
  const decoded = decodePage(encodePage('x.txt', odd, changed));
  assert.deepEqual(decoded.articles, odd);
  assert.deepEqual(decoded.chunks, changed);
});
