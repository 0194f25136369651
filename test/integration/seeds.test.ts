// The five seed pages against the hand-written fixture in test/fixtures/seed-articles.json.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadCorpus } from '../../src/corpus/index.ts';
import { tempDir } from '../helpers/tmp.ts';

type Expected = { headline: string; kicker?: string; kind: string; bodyStart: string };
const fixture = JSON.parse(readFileSync(new URL('../fixtures/seed-articles.json', import.meta.url), 'utf8')) as Record<string, Expected[]>;
const seedsDir = path.resolve('seeds');
const squash = (s = '') => s.replace(/\s/g, '');
const corpus = await loadCorpus(seedsDir, { maxPageBytes: 2_000_000 });

test('every seed page is read without warnings', () => {
  assert.deepEqual(corpus.warnings, []);
  assert.equal(corpus.pages.length, 5);
});

for (const [file, expected] of Object.entries(fixture).filter(([key]) => !key.startsWith('_'))) {
  test(`${file}: article count, headlines, kickers, kinds and openings match the fixture`, () => {
    const articles = corpus.articles.filter((a) => a.file === file);
    assert.deepEqual(
      articles.map((a) => ({ headline: squash(a.headline), kicker: squash(a.kicker), kind: a.kind })),
      expected.map((e) => ({ headline: squash(e.headline), kicker: squash(e.kicker), kind: e.kind })),
    );
    articles.forEach((a, i) => assert.ok(squash(a.text).startsWith(squash(expected[i].bodyStart)), `${a.headline} starts "${a.text.slice(0, 20)}"`));
  });
}

test('no article holds another article\'s headline, and no banner or 阅读提示 is left in a body', () => {
  for (const article of corpus.articles) {
    const body = squash(article.text);
    for (const other of corpus.articles.filter((a) => a !== article && a.file === article.file)) {
      for (const part of other.headline.split(' ').filter((p) => p.length >= 8)) {
        assert.ok(!body.includes(squash(part)), `"${part}" (headline of ${other.id}) is inside ${article.headline}`);
      }
    }
    assert.ok(!/工会工作巡礼|工会在行动G|阅读提示/.test(body), `banner or box left in ${article.headline}`);
    assert.ok(!/^#|\*\*/m.test(article.text), `markdown left in ${article.headline}`);
    assert.ok(!/[\u4e00-\u9fff] [\u4e00-\u9fff] [\u4e00-\u9fff]/.test(article.text), `spaced-out characters left in ${article.headline}`);
  }
});

test('photo captions are articles of their own, with their own headline and credit', () => {
  const photos = corpus.articles.filter((a) => a.kind === 'photo');
  assert.equal(photos.length, 8);
  for (const photo of photos) {
    assert.match(photo.text, /摄(\/\S+)?$/);
    assert.ok(photo.text.length < 400, `${photo.headline} is a caption, not a story`);
    assert.match(photo.byline ?? '', /摄/);
  }
});

test('阅读提示 boxes end up on the article they describe', () => {
  const withSummary = corpus.articles.filter((a) => a.summary).map((a) => squash(a.headline));
  assert.deepEqual(withSummary.sort(), ['“1+3”模式打出维权组合拳', '“技高者多得”在企业落地后……', '聚焦“四件大事”开创雪域高原工会工作新局面', '让职工反映诉求有渠道、有着落'].sort());
});

test('ids are unique, and unchanged for every other page when one page is edited', async () => {
  const ids = corpus.articles.map((a) => a.id);
  assert.equal(new Set(ids).size, ids.length);
  const dir = tempDir();
  cpSync(seedsDir, dir, { recursive: true });
  const edited = '001_de5b9526f34a1a69.txt';
  writeFileSync(path.join(dir, edited), readFileSync(path.join(dir, edited), 'utf8').replace('2000名环卫工人', '2100名环卫工人'));
  const after = await loadCorpus(dir, { maxPageBytes: 2_000_000 });
  const unchanged = (c: typeof corpus) => c.articles.filter((a) => a.file !== edited).map((a) => a.id);
  assert.deepEqual(unchanged(after), unchanged(corpus));
  assert.notDeepEqual(after.articles.filter((a) => a.file === edited).map((a) => a.id), corpus.articles.filter((a) => a.file === edited).map((a) => a.id));
});
