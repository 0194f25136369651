import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeywordIndex, mentions, namedEntities, suffixedPlaces, tokenize } from '../../src/index/keyword.ts';

const docs = [
  '邓州市总工会为环卫工人免费提供爱心早餐，2000名环卫工人受益。',
  '钦州市总组建一支由15名专职集体协商指导员组成的队伍。',
  '青岛“惠工商城”服务平台上线，试运行3个月成交额度1500万元。',
];

test('BM25 ranks the document that shares the question\'s words first, for every tokenisation', () => {
  for (const mode of ['words', 'bigrams', 'both'] as const) {
    const index = KeywordIndex.build(docs, mode);
    assert.equal(index.search('邓州的爱心早餐有多少环卫工人受益？', 3)[0].doc, 0, mode);
    assert.equal(index.search('惠工商城成交额是多少', 3)[0].doc, 2, mode);
    assert.deepEqual(index.search('完全无关的天气预报', 3), [], mode);
  }
});

test('question words do not count as terms, numbers and Latin words are whole tokens', () => {
  const tokens = tokenize('邓州有多少名环卫工人？AED 1400间', 'bigrams', true);
  assert.ok(!tokens.some((t) => t.includes('多少')));
  assert.ok(tokens.includes('aed') && tokens.includes('1400'));
});

test('an English question reaches Chinese place names through pinyin', () => {
  const index = KeywordIndex.build(docs, 'both');
  assert.equal(index.search('How many instructors are on Qinzhou\'s team?', 3)[0]?.doc, 1);
  assert.equal(index.search('Dengzhou breakfast', 3)[0]?.doc, 0);
});

test('the index survives a JSON round trip unchanged', () => {
  const index = KeywordIndex.build(docs, 'both');
  const copy = KeywordIndex.fromJSON(JSON.parse(JSON.stringify(index)));
  assert.deepEqual(copy.search('专职集体协商指导员', 3), index.search('专职集体协商指导员', 3));
  assert.throws(() => KeywordIndex.fromJSON({} as never), /unknown format/);
});

test('named places and organisations are found; generic geographic words are not', () => {
  assert.deepEqual(namedEntities('杭州市总工会为外卖骑手建设了多少个爱心驿站？'), ['杭州']);
  assert.deepEqual(namedEntities('哪座城市的工会每天清早免费请扫大街的工人吃饭？'), []);
  assert.ok(namedEntities('大庆油田今年有多少名职工获得全国五一劳动奖章？').includes('大庆油田'));
});

test('places printed with their unit: the stem must be one naming word, not a verb or 园区', () => {
  const names = (text: string) => suffixedPlaces(text).map((p) => p.name);
  assert.deepEqual(names('广东深圳龙岗区龙城街道吉祥商贸园区工会联合会'), ['龙岗区']);
  assert.deepEqual(names('湖北7部门联合发文，2027年实现市、州、县工人文化宫全覆盖'), []);
  assert.deepEqual(names('甘肃临夏州积石山县受灾地区'), ['临夏州', '积石山县']);
  assert.ok(names('山东省青岛市市南区首届调饮师职业技能竞赛').includes('市南区'));
});


test('a name is mentioned as printed or as the full form it abbreviates, never as scattered characters', () => {
  assert.ok(mentions('市总工会第十四届委员会第六次全体会议召开', '全委会'));
  assert.ok(mentions('中国职工保险互助会（中互会）第一时间出资', '中国职工保险互助会'));
  assert.ok(mentions('中国职工保险互助会第一时间出资100万元', '中互会'));
  // Two characters must be literal, and a long stretch does not make an abbreviation.
  assert.equal(mentions('吴江的工人说忠于职守', '吴忠'), false);
  assert.equal(mentions(`火车${'一'.repeat(30)}星期${'二'.repeat(30)}工会`, '火星工会'), false);
});

test('withChanges equals a build over the new documents: scores, order, unknown terms', () => {
  const more = ['杭州市总工会为外卖骑手建设爱心驿站。', '邓州市环卫工人的爱心早餐每年制作成本400余万元。'];
  for (const mode of ['words', 'bigrams', 'both'] as const) {
    const before = KeywordIndex.build(docs, mode);
    // docs[1] removed; more[0] inserted first, more[1] between docs[0] and docs[2].
    const after = before.withChanges(Int32Array.from([1, -1, 3]), 4, [{ doc: 0, text: more[0] }, { doc: 2, text: more[1] }]);
    const rebuilt = KeywordIndex.build([more[0], docs[0], more[1], docs[2]], mode);
    assert.equal(after.size, 4);
    for (const query of ['邓州的爱心早餐有多少环卫工人受益？', '专职集体协商指导员', '杭州外卖骑手驿站', '惠工商城成交额度']) {
      assert.deepEqual(after.search(query, 4), rebuilt.search(query, 4), `${mode}: ${query}`);
      assert.equal(after.idealScore(query, true), rebuilt.idealScore(query, true), `${mode}: ${query}`);
      assert.deepEqual(after.coverageOfDocs(query, [0, 1, 2, 3]), rebuilt.coverageOfDocs(query, [0, 1, 2, 3]));
    }
    assert.deepEqual(after.search('钦州指导员', 3), [], `${mode}: the removed document's own terms are gone`);
    assert.throws(() => before.withChanges(Int32Array.from([1, 0, 2]), 3, []), /keep their order/);
  }
});

test('the binary form round-trips, and a cut or foreign file is refused', () => {
  const index = KeywordIndex.build(docs, 'both');
  const bytes = Buffer.concat(index.toBinary());
  const copy = KeywordIndex.fromBinary(bytes);
  assert.equal(copy.mode, 'both');
  assert.deepEqual(copy.search('专职集体协商指导员', 3), index.search('专职集体协商指导员', 3));
  assert.deepEqual(copy.toJSON(), index.toJSON());
  // Unaligned in memory (a Buffer from a pool) still reads.
  const shifted = Buffer.alloc(bytes.length + 1);
  bytes.copy(shifted, 1);
  assert.deepEqual(KeywordIndex.fromBinary(shifted.subarray(1)).search('惠工商城', 3), index.search('惠工商城', 3));
  assert.throws(() => KeywordIndex.fromBinary(bytes.subarray(0, bytes.length - 3)), /wrong size|cut short/);
  assert.throws(() => KeywordIndex.fromBinary(Buffer.from('{"format":1}')), /cut short|unknown format/);
});
