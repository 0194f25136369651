import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanLine, normalizeWidth, removeCjkSpaces } from '../../src/corpus/clean.ts';

test('spaces between every CJK character are removed', () => {
  assert.equal(removeCjkSpaces('记 者 王 伟'), '记者王伟');
  assert.equal(removeCjkSpaces('公 司 通 过 协 商 达 成 8 项 薪 酬 协 议'), '公司通过协商达成8项薪酬协议');
  assert.equal(cleanLine('阅 读 提 示').text, '阅读提示');
});

test('spaces around CJK punctuation and between CJK and digits are removed', () => {
  assert.equal(removeCjkSpaces('本报讯 （记者裴龙翔）在 2023 年已“超额”'), '本报讯（记者裴龙翔）在2023年已“超额”');
  assert.equal(removeCjkSpaces('“ 1+3”模式'), '“1+3”模式');
  assert.equal(removeCjkSpaces('据悉 ，台 山 市“零工市场”'), '据悉，台山市“零工市场”');
});

test('meaningful spaces survive: between names, headline phrases and Latin words', () => {
  assert.equal(removeCjkSpaces('（记者毛浓曦 通讯员董巨国 曹川）'), '（记者毛浓曦 通讯员董巨国 曹川）');
  assert.equal(removeCjkSpaces('试点突破 规范先行'), '试点突破 规范先行');
  assert.equal(removeCjkSpaces('Hello World'), 'Hello World');
});

test('full-width letters and digits become ASCII; ASCII punctuation in Chinese becomes full-width', () => {
  assert.equal(normalizeWidth('ＡＢＣ１２３％'), 'ABC123%');
  assert.equal(normalizeWidth('戚涵(图左)走进'), '戚涵（图左）走进');
  assert.equal(normalizeWidth('你好,世界'), '你好，世界');
  assert.equal(normalizeWidth('3.5, 4 and http://x.cn'), '3.5, 4 and http://x.cn');
});

test('markdown heading marks and bold are stripped, the level is kept', () => {
  assert.deepEqual(cleanLine('## “四个一”提升集体协商质效'), { text: '“四个一”提升集体协商质效', headingLevel: 2 });
  assert.deepEqual(cleanLine('**本报讯**（记者刘旭）'), { text: '本报讯（记者刘旭）', headingLevel: 0 });
});
