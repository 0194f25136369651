import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, renderAnswer, renderSources, splitMessage } from '../../src/bot/render.ts';
import { answer, citation } from '../helpers/answers.ts';
import { telegramText, validateTelegramHtml } from '../helpers/telegram-html.ts';

const HOSTILE = ['<script>alert(1)</script>', '</b><b>', 'a & b', '&amp;', '<unbalanced', '👨‍👩‍👧 😀', 'x > y', '&#x41; &nbsp;'];
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function assertValid(parts: string[], limit = 4096) {
  assert.ok(parts.length > 0, 'at least one message');
  for (const [k, part] of parts.entries()) {
    assert.ok(part.length <= limit, `part ${k} is ${part.length} > ${limit} units`);
    assert.deepEqual(validateTelegramHtml(part), [], `part ${k}: ${part.slice(0, 200)}`);
    assert.doesNotMatch(part, LONE_SURROGATE, `part ${k} splits a surrogate pair`);
  }
}

const visible = (parts: string[]) => parts.map(telegramText);
const squeeze = (text: string) => text.replace(/\s+/g, '');

/** Every part's text appears, in order, in the whole text, and nothing but whitespace is lost at the cuts. */
function assertNothingLost(parts: string[], whole: string) {
  const texts = visible(parts);
  assert.equal(squeeze(texts.join('')), squeeze(telegramText(whole)));
  let from = 0;
  for (const text of texts) {
    const at = telegramText(whole).indexOf(text.trim(), from);
    assert.ok(at >= from, `part text not found in order: ${text.slice(0, 40)}`);
    from = at + text.trim().length;
  }
}

test('escapeHtml escapes &, < and > and nothing else', () => {
  assert.equal(escapeHtml('<script>alert(1)</script> a & b &amp; "引号" >'), '&lt;script&gt;alert(1)&lt;/script&gt; a &amp; b &amp;amp; "引号" &gt;');
  assert.equal(escapeHtml('表情😀'), '表情😀');
  assert.equal(escapeHtml('半个\uD83D'), '半个\uFFFD', 'a lone surrogate cannot be sent');
});

test('an answer renders as text, notice, then the 来源 list in an expandable blockquote', () => {
  const parts = renderAnswer(answer({ notice: '大模型暂不可用，以下为摘录式回答。', citations: [citation(1), citation(2)] }));
  assert.deepEqual(parts, [
    '上海市总工会在2023年已建成1400间职工工间休息室[1]。\n\n<i>大模型暂不可用，以下为摘录式回答。</i>\n\n' +
      '<b>来源</b>\n<blockquote expandable>[1] 《第1篇报道的标题》 · 001_page.txt\n[2] 《第2篇报道的标题》 · 002_page.txt</blockquote>',
  ]);
  assertValid(parts);
});

test('a refusal lists the suggested articles under 相关报道', () => {
  const parts = renderAnswer(answer({
    text: '现有报道没有提到这个问题。', citations: [], refused: true,
    suggestions: [{ headline: '职工休息室', file: 'a.txt' }, { headline: '快递员慰问', file: 'b.txt' }],
  }));
  assert.deepEqual(parts, ['现有报道没有提到这个问题。\n\n<b>相关报道</b>\n• 《职工休息室》 · a.txt\n• 《快递员慰问》 · b.txt']);
});

test('hostile text in every field is escaped: valid HTML whose visible text round-trips', () => {
  const hostile = HOSTILE.join(' ');
  const a = answer({
    text: `问题：${hostile}\n回答：${hostile}[1]`,
    notice: hostile,
    citations: [citation(1, { headline: hostile, file: `${HOSTILE[0]}.txt`, quote: hostile }), citation(2, { headline: '</i>', quote: '<blockquote>' })],
    refused: true,
    suggestions: [{ headline: hostile, file: '&lt;.txt' }],
  });
  for (const parts of [renderAnswer(a), renderSources(a)]) {
    assertValid(parts);
    const text = visible(parts).join('\n');
    for (const piece of HOSTILE) assert.ok(text.includes(piece), `"${piece}" is shown as written`);
    assert.doesNotMatch(parts.join(''), /<(?!\/?(b|i|blockquote)>|blockquote expandable>)/, 'only the tags the renderer writes');
  }
  assert.ok(visible(renderAnswer(a))[0].startsWith(`问题：${hostile}\n回答：${hostile}[1]`));
  assert.ok(visible(renderSources(a))[0].includes('《</i>》\n002_page.txt\n<blockquote>'));
});

test('an empty answer or quote still yields a non-empty message', () => {
  assertValid(renderAnswer(answer({ text: '  ', citations: [] })));
  assertValid(renderSources(answer({ citations: [citation(1, { quote: '' })] })));
  assert.deepEqual(renderSources(answer({ citations: [] })), ['这条回答没有引用原文。']);
});

test('a 20,000-character answer with 30 citations splits into valid parts without losing text or markers', () => {
  const sentence = (i: number) => `第${i}句说明某市总工会为职工办实事的具体做法，涉及${i * 37}名职工与A&B公司<合作>${i % 7 === 0 ? '😀' : ''}[${(i % 30) + 1}]。`;
  const paragraphs: string[] = [];
  for (let i = 0, p = ''; paragraphs.join('\n\n').length < 20_000; i++) {
    p += sentence(i);
    if (i % 9 === 8) (paragraphs.push(p), (p = ''));
  }
  const text = paragraphs.join('\n\n');
  assert.ok(text.length >= 20_000);
  const a = answer({ text, citations: Array.from({ length: 30 }, (_, k) => citation(k + 1)), notice: '仅关键词检索' });
  const parts = renderAnswer(a);
  assert.ok(parts.length >= 6, `${parts.length} parts`);
  assertValid(parts);

  const whole = visible(parts).join('');
  const markers = (s: string) => (s.match(/\[\d+\]/g) ?? []).sort().join();
  assert.equal(markers(whole), markers(`${text}${a.citations.map((c) => `[${c.n}]`).join('')}`), 'every [n] arrives whole');
  for (const part of visible(parts)) {
    assert.doesNotMatch(part.trim(), /\[\d*$/, 'no marker cut at the end');
    assert.doesNotMatch(part.trim(), /^\d*\]/, 'no marker cut at the start');
  }
  assert.equal(squeeze(whole), squeeze(`${text}仅关键词检索来源${a.citations.map((c) => `[${c.n}]《${c.headline}》·${c.file}`).join('')}`));
  // The paragraphs end in 。 and parts are cut at paragraph breaks.
  for (const part of visible(parts).slice(0, -1)) assert.match(part.trim(), /。$/);
});

test('the sources of a long answer split into valid parts, re-opening a blockquote cut in two', () => {
  const quote = Array.from({ length: 400 }, (_, i) => `这是原文第${i}句，记者获悉相关工作已经全面展开。`).join('');
  assert.ok(quote.length > 9000);
  const a = answer({ citations: [citation(1), citation(2, { quote }), citation(3)] });
  const parts = renderSources(a);
  assertValid(parts);
  assert.ok(parts.length >= 3);
  assert.match(parts[1], /^<blockquote>/, 'the quote goes on in a blockquote');
  assert.match(parts[1], /<\/blockquote>$/);
  assert.match(parts[0], /<\/blockquote>$/);
  assert.match(telegramText(parts[0]).trim(), /展开。$/, 'cut after a sentence, not inside one');
  assertNothingLost(parts, a.citations.map((c) => `<b>[${c.n}] 《${c.headline}》</b>\n${c.file}\n<blockquote>${c.quote}</blockquote>`).join('\n\n'));
});

test('a source list longer than a message is cut between its lines, each part a whole expandable blockquote', () => {
  const citations = Array.from({ length: 60 }, (_, k) => citation(k + 1, { headline: `第${k + 1}篇报道的标题，${'很长的标题'.repeat(12)}` }));
  const a = answer({ text: '短回答[1]。', citations });
  const parts = renderAnswer(a);
  assertValid(parts);
  assert.ok(parts.length >= 2, `${parts.length} parts`);
  assert.match(parts[0], /^短回答\[1\]。\n\n<b>来源<\/b>\n<blockquote expandable>\[1\] /);
  for (const [k, part] of parts.entries()) {
    assert.equal((part.match(/<blockquote expandable>/g) ?? []).length, 1, `part ${k} opens one expandable blockquote`);
    assert.match(part, /<\/blockquote>$/, `part ${k} closes it`);
    if (k > 0) assert.match(part, /^<blockquote expandable>\[\d+\] 《/, `part ${k} re-opens it at the start of a line`);
  }
  assertNothingLost(parts, `短回答[1]。\n\n<b>来源</b>\n${citations.map((c) => `[${c.n}] 《${c.headline}》 · ${c.file}`).join('\n')}`);
});

test('splitMessage re-opens an expandable blockquote with its attribute, at any limit', () => {
  const html = `<b>来源</b>\n<blockquote expandable>${Array.from({ length: 40 }, (_, i) => `[${i + 1}] 《标题${i}》 · 00${i}.txt`).join('\n')}</blockquote>`;
  for (const limit of [60, 97, 150, 400]) {
    const parts = splitMessage(html, limit);
    assertValid(parts, limit);
    assert.equal(squeeze(visible(parts).join('')), squeeze(telegramText(html)), `limit ${limit}`);
    for (const part of parts.slice(1)) assert.match(part, /^<blockquote expandable>/, `limit ${limit}`);
  }
});

test('splitMessage prefers a blank line, then a line break, then a sentence end', () => {
  const a = 'a'.repeat(60);
  assert.deepEqual(splitMessage(`${a}\n\n${'b'.repeat(30)}\n${'c'.repeat(30)}`, 100), [a, `${'b'.repeat(30)}\n${'c'.repeat(30)}`]);
  assert.deepEqual(splitMessage(`${a}\n${'b'.repeat(30)}。${'c'.repeat(30)}`, 80), [a, `${'b'.repeat(30)}。${'c'.repeat(30)}`]);
  assert.deepEqual(splitMessage(`${a}。${'b'.repeat(60)}`, 100), [`${a}。`, 'b'.repeat(60)]);
  assert.deepEqual(splitMessage('x'.repeat(250), 100), ['x'.repeat(100), 'x'.repeat(100), 'x'.repeat(50)]);
  // A break too early is not worth a nearly empty part.
  assert.deepEqual(splitMessage(`ab\n\n${'c'.repeat(200)}`, 100).map((p) => p.length), [100, 100, 4]);
});

test('splitMessage keeps short messages whole and sends nothing for nothing', () => {
  assert.deepEqual(splitMessage('<b>来源</b>\n[1] 短'), ['<b>来源</b>\n[1] 短']);
  assert.deepEqual(splitMessage(''), []);
  assert.deepEqual(splitMessage(' \n<b></b>'), []);
});

test('splitMessage closes and re-opens tags open at a cut', () => {
  const parts = splitMessage(`<b>${'粗'.repeat(50)}<i>${'斜'.repeat(50)}</i></b>`, 40);
  assertValid(parts, 40);
  assert.ok(parts.every((p) => p.startsWith('<b>') && p.endsWith('</b>')));
  assert.ok(parts.some((p) => p.startsWith('<b><i>斜') && p.endsWith('</i></b>')));
  assert.equal(visible(parts).join(''), `${'粗'.repeat(50)}${'斜'.repeat(50)}`);
});

test('splitMessage never cuts a tag, an entity, a marker or a surrogate pair, whatever the limit', () => {
  const html = `<blockquote>${'&amp;[12]😀中&lt;&#x4e2d;👍🏽'.repeat(60)}</blockquote>`;
  for (let limit = 33; limit <= 120; limit++) {
    const parts = splitMessage(html, limit);
    assertValid(parts, limit);
    assert.equal(visible(parts).join(''), telegramText(html), `limit ${limit}`);
    for (const part of parts) assert.doesNotMatch(telegramText(part), /\[\d*$|^\d*\]|^🏽/, `limit ${limit}`);
  }
  const emoji = '😀'.repeat(5000);
  for (const limit of [4096, 101, 7]) {
    const parts = splitMessage(emoji, limit);
    assertValid(parts, limit);
    assert.equal(parts.join(''), emoji);
  }
  assert.throws(() => splitMessage('<blockquote>长文</blockquote>', 20), RangeError);
});

test('the validator accepts what Telegram accepts', () => {
  const ok = [
    '<b>粗</b><strong>粗</strong> <i>斜</i><em>斜</em> <u>下</u><ins>下</ins> <s>删</s><strike>删</strike><del>删</del>',
    '<span class="tg-spoiler">剧透</span> <tg-spoiler>剧透</tg-spoiler> <a href="https://example.com/?a=1&b=2">链接</a>',
    '<code>x</code> <pre><code class="language-python">print(1)</code></pre> <blockquote expandable>引文</blockquote>',
    '<b>粗<i>粗斜</i></b> <blockquote><b>引</b>文</blockquote> &lt;&gt;&amp;&quot;&#20013;&#x4e2d; 😀',
    '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
    '&amp;'.repeat(4096),
  ];
  for (const html of ok) assert.deepEqual(validateTelegramHtml(html), [], html.slice(0, 60));
});

test('the validator rejects what Telegram rejects or would show wrongly', () => {
  const bad: [string, RegExp][] = [
    ['<div>块</div>', /unsupported start tag "div"/],
    ['<br/>换行', /unsupported start tag "br\/"/],
    ['<b>没关', /can't find end tag corresponding to start tag "b"/],
    ['多了</b>', /unexpected end tag/],
    ['<b><i>交叉</b></i>', /unmatched end tag/],
    ['a & b', /bare "&"/],
    ['&amp', /bare "&"/],
    ['&nbsp;', /unsupported entity/],
    ['&#0;', /invalid character reference/],
    ['&#xD83D;', /invalid character reference/],
    ['a < b', /unsupported start tag ""/],
    ['a <b', /unclosed start tag/],
    ['x > y', /bare ">"/],
    ['<b class="x">粗</b>', /attribute class="x" is not allowed on <b>/],
    ['<span>无类</span>', /must have class "tg-spoiler"/],
    ['<blockquote>外<blockquote>内</blockquote></blockquote>', /can't be nested/],
    ['<code><b>码</b></code>', /pre and code hold no other entities/],
    ['<b> \n </b>', /message text is empty/],
    ['', /message text is empty/],
    ['中'.repeat(4097), /too long: 4097/],
    ['😀'.repeat(2049), /too long: 4098/],
    ['断\uD83D开', /unpaired surrogate/],
  ];
  for (const [html, problem] of bad) {
    const problems = validateTelegramHtml(html);
    assert.ok(problems.some((p) => problem.test(p)), `${html.slice(0, 40)} → ${JSON.stringify(problems)}`);
  }
});

test('a partial answer shows what is not reported first, in Telegram and in the terminal', async () => {
  const { answerAsText } = await import('../../src/cli/format.ts');
  const partial = answer({ text: '2024年计划建设改善1000间以上职工工间休息室[1]。', coverage: 'partial', notReported: ['上海2024年实际建成的数量'] });
  const [message] = renderAnswer(partial);
  assert.match(message, /^报道没有给出：上海2024年实际建成的数量。\n2024年计划/);
  assert.deepEqual(validateTelegramHtml(message), []);
  assert.match(answerAsText(partial), /^报道没有给出：上海2024年实际建成的数量。\n/);
  // An answer that already says so first is left as it is.
  const said = answer({ text: '报道没有给出实际数量。只提到计划1000间以上[1]。', coverage: 'none', notReported: ['实际数量'] });
  assert.match(renderAnswer(said)[0], /^报道没有给出实际数量。只提到/);
});

test('bidirectional controls are stripped from every escaped text, and nothing else is', () => {
  assert.equal(escapeHtml('\u202E问题\u2066<b>\u200F'), '问题&lt;b&gt;');
  assert.equal(escapeHtml('邓州 · “爱心早餐” 1,000元'), '邓州 · “爱心早餐” 1,000元');
});
