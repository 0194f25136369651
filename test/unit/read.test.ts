import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import iconv from 'iconv-lite';
import { decodePage, isPageNotice, readPages } from '../../src/corpus/read.ts';
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

/** PAGE in UTF-8 with `bad` spliced in after its `at`-th byte. */
const withBytes = (at: number, bad: number[]) => {
  const good = Buffer.from(PAGE);
  return Buffer.concat([good.subarray(0, at), Buffer.from(bad), good.subarray(at)]);
};

test('one invalid byte in a UTF-8 page is replaced with U+FFFD and the page is kept, counted', () => {
  const decoded = decodePage(withBytes(15, [0xff])); // between two characters
  assert.ok('text' in decoded);
  assert.equal(decoded.encoding, 'utf-8');
  assert.equal(decoded.replaced, 1);
  assert.equal(decoded.text, PAGE.slice(0, 5) + '\ufffd' + PAGE.slice(5));
  // A page cut mid-character (the last bytes of a truncated download) loses only that character.
  const cut = decodePage(Buffer.from(PAGE).subarray(0, Buffer.byteLength(PAGE) - 2));
  assert.ok('text' in cut && cut.encoding === 'utf-8' && cut.replaced === 1, JSON.stringify(cut));
  // A U+FFFD the page itself contains is text, not a replacement.
  const genuine = decodePage(Buffer.concat([Buffer.from('\ufffd'), withBytes(15, [0xc0])]));
  assert.ok('text' in genuine && genuine.replaced === 1, JSON.stringify(genuine));
  const clean = decodePage(Buffer.from(PAGE));
  assert.ok('text' in clean && clean.replaced === undefined);
});

test('many invalid sequences are not papered over: a broken page is not kept as UTF-8, GBK stays GBK, a stray byte in ASCII is refused', () => {
  // Every tenth character broken: far beyond a few bad bytes.
  const good = Buffer.from(PAGE.repeat(3));
  const broken = Buffer.from(good);
  for (let i = 0; i < broken.length; i += 30) broken[i] = 0xff;
  const decoded = decodePage(broken);
  assert.ok(!('text' in decoded && decoded.encoding === 'utf-8'), JSON.stringify(decoded).slice(0, 200));
  // Its Chinese is GBK, whose bytes happen to form a few valid UTF-8 sequences too: still GB18030.
  const gbk = `Page 3, Workers' Daily, 2024-01-20\n${PAGE.repeat(3)}`;
  const gbDecoded = decodePage(iconv.encode(gbk, 'gbk'));
  assert.ok('text' in gbDecoded && gbDecoded.encoding === 'gb18030' && gbDecoded.text === gbk, JSON.stringify(gbDecoded).slice(0, 200));
  const stray = decodePage(Buffer.concat([Buffer.from('Plain ASCII notes. '.repeat(100)), Buffer.from([0xe9])]));
  assert.ok('reason' in stray && /not UTF-8 or GB18030/.test(stray.reason), JSON.stringify(stray).slice(0, 200));
});

test('a page with a bad byte is read and reported to the operator; the others are unaffected', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'good.txt'), PAGE);
  writeFileSync(path.join(dir, 'one-bad-byte.txt'), withBytes(15, [0xff]));
  writeFileSync(path.join(dir, 'png.txt'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xfe]));
  const { pages, warnings } = await readPages(dir, { maxPageBytes: 2000 });
  assert.deepEqual(pages.map((p) => p.file), ['good.txt', 'one-bad-byte.txt']);
  assert.match(pages[1].text, /^本报讯（记\ufffd者王伟）/);
  const notice = warnings.find((w) => w.file === 'one-bad-byte.txt')!;
  assert.ok(isPageNotice(notice));
  assert.equal(notice.reason, '1 invalid UTF-8 byte sequence replaced with U+FFFD; the rest of the page is indexed. To recover those characters, save the page again as UTF-8 and reindex.');
  const skipped = warnings.filter((w) => !isPageNotice(w));
  assert.deepEqual(skipped.map((w) => [w.file, /binary/.test(w.reason)]), [['png.txt', true]]);
});
