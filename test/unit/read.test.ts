import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import iconv from 'iconv-lite';
import { decodePage, readPages } from '../../src/corpus/read.ts';
import { tempDir } from '../helpers/tmp.ts';

const PAGE = '本报讯（记者王伟）近日，某市总工会为环卫工人送去早餐，惠及职工500人。\n\n环卫工人送早餐\n';

test('a GBK-encoded page is detected and decoded', () => {
  const decoded = decodePage(iconv.encode(PAGE, 'gbk'));
  assert.ok('text' in decoded);
  assert.equal(decoded.encoding, 'gb18030');
  assert.equal(decoded.text, PAGE);
});

test('UTF-8 with a BOM and CRLF line ends is read as plain text', () => {
  const decoded = decodePage(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(PAGE.replace(/\n/g, '\r\n'))]));
  assert.ok('text' in decoded);
  assert.equal(decoded.text, PAGE);
});

test('bad pages are skipped with a warning naming the file, and the good ones are read', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'good.txt'), PAGE);
  writeFileSync(path.join(dir, 'gbk.txt'), iconv.encode(PAGE, 'gbk'));
  writeFileSync(path.join(dir, 'empty.txt'), '');
  writeFileSync(path.join(dir, 'blank.md'), '  \n\n ');
  writeFileSync(path.join(dir, 'binary.txt'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0x02, 0x03]));
  writeFileSync(path.join(dir, 'huge.txt'), PAGE.repeat(100));
  writeFileSync(path.join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xe0, 0x20, 0x6c, 0x61, 0x20, 0x63, 0x72, 0xe8, 0x6d, 0x65]));
  writeFileSync(path.join(dir, 'notes.pdf'), 'ignored: not a page extension');
  symlinkSync(path.join(dir, 'missing-target.txt'), path.join(dir, 'dangling.txt'));

  const { pages, warnings } = await readPages(dir, { maxPageBytes: 2000 });
  assert.deepEqual(pages.map((p) => p.file).sort(), ['gbk.txt', 'good.txt']);
  const reasons = Object.fromEntries(warnings.map((w) => [w.file, w.reason]));
  assert.deepEqual(Object.keys(reasons).sort(), ['binary.txt', 'blank.md', 'dangling.txt', 'empty.txt', 'huge.txt', 'latin1.txt']);
  assert.match(reasons['empty.txt'], /empty/);
  assert.match(reasons['blank.md'], /empty/);
  assert.match(reasons['binary.txt'], /binary/);
  assert.match(reasons['huge.txt'], /MAX_PAGE_BYTES/);
  assert.match(reasons['dangling.txt'], /cannot be read/);
  assert.match(reasons['latin1.txt'], /not UTF-8 or GB18030/);
});
