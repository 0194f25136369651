import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkArticle, splitSentences } from '../../src/index/chunk.ts';
import type { Article } from '../../src/corpus/types.ts';

const article = (text: string, extra: Partial<Article> = {}): Article => ({
  id: 'p:1', file: 'p.txt', headline: '某市总工会慰问快递员', kind: 'news', text, start: 0, end: text.length,
  paragraphs: text.split('\n').map((t) => ({ text: t, start: 0, end: 0 })), ...extra,
});

test('sentences end at 。！？； and paragraph breaks, not inside quotes or numbers', () => {
  const text = '他说：“今年建成1400间。明年再建1000间！”记者获悉，投入3.5亿元；惠及6.2万人。\n第二段没有句号';
  const sentences = splitSentences(text).map((s) => text.slice(s.start, s.end));
  assert.deepEqual(sentences, ['他说：“今年建成1400间。明年再建1000间！”', '记者获悉，投入3.5亿元；', '惠及6.2万人。', '第二段没有句号']);
});

test('chunks hold whole sentences within the size, overlap by trailing sentences, and carry the headline', () => {
  const sentence = (i: number) => `第${i}句话讲述某市总工会为职工办实事的具体做法和成效，涉及${i * 100}名职工。`;
  const text = Array.from({ length: 20 }, (_, i) => sentence(i + 1)).join('');
  const chunks = chunkArticle(article(text, { kicker: '引题' }), { size: 200, overlap: 60 });
  assert.ok(chunks.length >= 4);
  for (const chunk of chunks) {
    assert.ok(chunk.text.length <= 200, `${chunk.text.length} characters`);
    assert.match(chunk.text, /^第\d+句/);
    assert.match(chunk.text, /名职工。$/);
    assert.equal(chunk.indexText, `引题 某市总工会慰问快递员\n${chunk.text}`);
    assert.equal(text.slice(chunk.start, chunk.end), chunk.text);
  }
  const firstOfSecond = chunks[1].text.slice(0, 5);
  assert.ok(chunks[0].text.includes(firstOfSecond), 'the second chunk starts with the end of the first');
  assert.equal(new Set(chunks.map((c) => c.id)).size, chunks.length);
});

test('a short article such as a photo caption is one chunk, and a 阅读提示 box its own passage', () => {
  const caption = '12月21日，某县总工会设置“爱心拉面”帐篷，平均每天出餐3000碗。本报记者 王伟 摄';
  assert.equal(chunkArticle(article(caption, { kind: 'photo' }), { size: 300, overlap: 60 }).length, 1);
  const withBox = chunkArticle(article(caption, { summary: '某县工会为受灾群众送去热饭。' }), { size: 300, overlap: 60 });
  assert.deepEqual(withBox.map((c) => c.text), [caption, '某县工会为受灾群众送去热饭。']);
});

test('a sentence longer than the chunk size is cut at a comma, never inside a number', () => {
  const long = `${'工会组织职工开展技能培训，'.repeat(30)}共计培训12345.67人次。`;
  const chunks = chunkArticle(article(long), { size: 100, overlap: 0 });
  for (const chunk of chunks) assert.ok(chunk.text.length <= 110, `${chunk.text.length}`);
  assert.ok(chunks.some((c) => c.text.includes('12345.67')), 'the number stays whole');
});
