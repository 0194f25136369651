import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanLine } from '../../src/corpus/clean.ts';
import { segmentPage } from '../../src/corpus/segment.ts';
import type { Article, Page } from '../../src/corpus/types.ts';

const page = (file: string, text: string): Page => ({ file, text, encoding: 'utf-8', bytes: Buffer.byteLength(text) });
const squash = (s = '') => s.replace(/\s/g, '');

// Headlines after the body, a headline touching the next article's opening, spaced-out
// characters, a headline printed before its body, a kicker ending in ——, and a photo caption.
const PLAIN = `本报讯 （记者张三）近日，某省总工会为一线快递
员送去冬季慰问品，覆盖快递员、外卖员等新就
业形态劳动者 3200 人。
慰问活动将持续到春节前，各地工会计划走访
快递网点 120 个，送去棉衣和热饮。
某省总工会冬季慰问快递员
本 报 讯 （记 者 李 四 通 讯 员 赵 六）记者日前获悉，某市
图书馆与市总工会合作开设职工夜校，首批开设摄
影、书法、编程等 12 门课程，报名职工超过 800 人。
职工夜校每周开课三次，学费全免，课程由
志愿者教师讲授。

职工夜校开课
首批 12门课程受职工欢迎
某县总工会举办职工篮球赛
本报讯（记者钱七）日前，某县总工会举办职工
篮球赛，来自 16 家企业的 200 余名职工参赛。
比赛历时 5 天，县总工会为获奖球队颁发奖杯。
本报讯（记者孙八）某市总工会日前发布通知，
今年将为 5000 名困难职工子女发放助学金，每人
2000 元，申请截止到 9 月 30 日。
某市总工会启动助学行动——

5000名困难职工子女获助学金

10月 1日，某市劳动公园里，职工合唱团为市民
表演合唱节目，吸引众多市民驻足观看。 本报记者 周九 摄

劳动公园歌声扬
`;

// Markdown: headlines before bodies, a kicker, a banner, a 阅读提示 box, subheads and a photo.
const MARKDOWN = `# 某市出台新政支持职工创新

**本报讯**（记者吴十）近日，某市总工会出台《职工创新支持办法》，每年安排 300 万元资金奖励职工创新成果。

办法明确，获评市级优秀创新成果的职工每人可获 2 万元奖励。

## G 工会工作巡礼

某区工会推进职工之家建设——

# 职工之家遍布街道

## 阅读提示

某区工会三年建成 60 个职工之家，覆盖全区所有街道。

本报记者 郑一

走进某区的职工之家，阅览室、健身房一应俱全。

## 三年建成 60 个

三年来，某区工会投入资金 900 万元，建成 60 个职工之家。

## 四季都有活动

职工之家每季度举办读书会、运动会等活动，参与职工超过 1 万人次。

## 职工摄影展开幕

5月 2日，某市职工摄影展开幕，展出作品 300 幅。

本报通讯员 王二 摄
`;

function summary(articles: Article[]) {
  return articles.map((a) => ({ kind: a.kind, headline: squash(a.headline), kicker: squash(a.kicker) }));
}

test('plain page: headlines after, before and touching their neighbours are each given to the right article', () => {
  const articles = segmentPage(page('plain.txt', PLAIN));
  assert.deepEqual(summary(articles), [
    { kind: 'news', headline: '某省总工会冬季慰问快递员', kicker: '' },
    { kind: 'news', headline: '职工夜校开课首批12门课程受职工欢迎', kicker: '' },
    { kind: 'news', headline: '某县总工会举办职工篮球赛', kicker: '' },
    { kind: 'news', headline: '5000名困难职工子女获助学金', kicker: '某市总工会启动助学行动——' },
    { kind: 'photo', headline: '劳动公园歌声扬', kicker: '' },
  ]);
  const [first, second, third, fourth, photo] = articles;
  assert.equal(second.byline, '记者李四通讯员赵六');
  assert.match(second.text, /^本报讯（记者李四通讯员赵六）记者日前获悉，某市图书馆与市总工会合作开设职工夜校/);
  assert.equal(first.paragraphs.length, 2, 'a short line ending a sentence ends the paragraph');
  assert.match(first.paragraphs[0].text, /外卖员等新就业形态劳动者3200人。$/, 'lines broken mid-word and mid-number are joined');
  assert.match(third.text, /颁发奖杯。$/);
  assert.match(fourth.text, /9月30日。$/);
  assert.equal(photo.byline, '本报记者 周九 摄');
  for (const article of articles) {
    for (const other of articles.filter((a) => a !== article)) {
      assert.ok(!squash(article.text).includes(squash(other.headline)), `${other.headline} leaked into ${article.headline}`);
    }
  }
});

test('markdown page: titles before bodies, kicker, banner dropped, 阅读提示 and subheads kept apart', () => {
  const articles = segmentPage(page('md.md', MARKDOWN));
  assert.deepEqual(summary(articles), [
    { kind: 'news', headline: '某市出台新政支持职工创新', kicker: '' },
    { kind: 'feature', headline: '职工之家遍布街道', kicker: '某区工会推进职工之家建设——' },
    { kind: 'photo', headline: '职工摄影展开幕', kicker: '' },
  ]);
  const feature = articles[1];
  assert.equal(feature.byline, '本报记者 郑一');
  assert.equal(feature.summary, '某区工会三年建成60个职工之家，覆盖全区所有街道。');
  assert.deepEqual(feature.paragraphs.filter((p) => p.subhead).map((p) => p.text), ['三年建成60个', '四季都有活动']);
  assert.ok(!articles.some((a) => a.text.includes('工会工作巡礼')), 'the column banner belongs to no article');
  assert.ok(!articles[0].text.includes('**'), 'markdown bold is stripped');
});

test('paragraph offsets point back at the lines they came from', () => {
  for (const text of [PLAIN, MARKDOWN]) {
    for (const article of segmentPage(page('x.txt', text))) {
      for (const paragraph of article.paragraphs) {
        const source = text
          .slice(paragraph.start, paragraph.end)
          .split('\n')
          .map((line) => cleanLine(line).text)
          .join('');
        assert.equal(squash(source), squash(paragraph.text));
      }
    }
  }
});

test('ids depend on the article alone', () => {
  const before = segmentPage(page('plain.txt', PLAIN));
  const again = segmentPage(page('plain.txt', PLAIN));
  assert.deepEqual(before.map((a) => a.id), again.map((a) => a.id));
  assert.equal(new Set(before.map((a) => a.id)).size, before.length);
  const edited = segmentPage(page('plain.txt', PLAIN.replace('学费全免', '学费减半')));
  assert.notEqual(edited[1].id, before[1].id, 'an edited article gets a new id');
  assert.equal(edited[0].id, before[0].id, 'its neighbours keep theirs');
});

test('a page with no recognisable article yields none, without throwing', () => {
  assert.deepEqual(segmentPage(page('empty.txt', '\n\n  \n')), []);
  assert.deepEqual(segmentPage(page('noise.txt', '第3版\n广告\n')), []);
});
