// needs: model
// Extractive answers (the default, no keys) on the seeds, with the real model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goldArticleId, loadQuestions } from '../../src/eval/questions.ts';
import { seedServices } from '../helpers/services.ts';

const services = await seedServices();
const answerer = services.answerer();
const squash = (s: string) => s.replace(/\s/g, '');

test('extractive answers to the fact questions hold their key number or name and cite the gold article', async () => {
  const facts = loadQuestions().filter((q) => q.type === 'fact');
  let held = 0;
  let cited = 0;
  const misses: string[] = [];
  for (const q of facts) {
    const answer = await answerer.answer(q.question);
    assert.equal(answer.mode, 'extractive');
    assert.equal(answer.refused, false, `${q.id} refused`);
    if (q.facts.every((f) => squash(answer.text).includes(squash(f)))) held++;
    else misses.push(`${q.id}: ${q.facts.join(', ')}`);
    if (answer.citations[0]?.articleId === goldArticleId(q, services.index.current().articles)) cited++;
  }
  assert.ok(held / facts.length >= 0.9, `${held}/${facts.length} hold their facts; missing ${misses.join('; ')}`);
  assert.ok(cited / facts.length >= 0.95, `${cited}/${facts.length} cite the gold article first`);
});

test('an answer reads as an answer: a lead line with a citation, whole sentences, used citations only', async () => {
  const answer = await answerer.answer('陕煤集团的工会主席是谁？');
  const [lead] = answer.text.split('\n');
  assert.match(lead, /李向东.*。\[1\]$/);
  assert.deepEqual(answer.citations.map((c) => c.n), [1]);
  assert.ok(answer.citations[0].quote.includes('李向东'));
  for (const line of answer.text.split('\n')) assert.match(line, /[。！？”）]\[\d\]$|。$/, `a sentence fragment: ${line}`);
  assert.ok(answer.timings.totalMs >= answer.timings.retrieveMs);
});

test('for a number question the sentence holding the number comes first', async () => {
  const answer = await answerer.answer('邓州市的“爱心早餐”项目每年制作成本是多少？');
  assert.match(answer.text.split('\n')[0], /400余万元/);
});

test('unanswerable questions are refused plainly, with the closest headlines', async () => {
  const answer = await answerer.answer('杭州市总工会为外卖骑手建设了多少个爱心驿站？');
  assert.equal(answer.refused, true);
  assert.deepEqual(answer.citations, []);
  assert.match(answer.text, /^未在已收录的报道中找到/);
  assert.match(answer.text, /没有提到“杭州”/);
  assert.equal(answer.suggestions?.length, 3);
});

test('a covered topic with the asked figure missing says so on the first line, then the closest fact as context', async () => {
  const answer = await answerer.answer('上海市总工会2024年建设改善职工工间休息室计划投入多少资金？');
  assert.equal(answer.refused, false);
  assert.equal(answer.coverage, 'none');
  assert.match(answer.text.split('\n')[0], /^报道没有给出“上海市总工会2024年建设改善职工工间休息室计划投入多少资金（具体金额）”。相关报道只提到：.*\[1\]$/);
  assert.deepEqual(answer.notReported, ['上海市总工会2024年建设改善职工工间休息室计划投入多少资金（具体金额）']);
  assert.match(answer.citations[0].headline, /上海市总推进职工工间休息室建设/);
});

test('a plan is not an outcome, a total not a per-unit figure, a number the question gives not its answer', async () => {
  const outcome = await answerer.answer('上海2024年最后实际建成了多少间职工工间休息室？');
  assert.match(outcome.text, /^报道没有给出/, outcome.text);
  const perUnit = await answerer.answer('邓州爱心早餐一份早饭的成本是多少钱？');
  assert.match(perUnit.text, /^报道没有给出/, perUnit.text);
  assert.doesNotMatch(perUnit.text.split('相关报道只提到')[0], /400余万元/);
  const given = await answerer.answer('陕煤集团2023年引进的642名硕士博士里，博士有多少人？');
  assert.match(given.text, /^报道没有给出/, given.text);
  // …while the plan, asked as a plan, is the answer.
  const plan = await answerer.answer('上海工会2024年打算再建多少间职工工间休息室？');
  assert.equal(plan.coverage, 'full');
  assert.match(plan.text.split('\n')[0], /1000间以上/);
});

test('a neighbouring fact is not the answer: 4万余名劳动者 are not the 配送员, a year is not the day', async () => {
  for (const question of [
    '广东那4万多名吃年夜饭的劳动者代表里，外卖配送员有多少人？',
    '湖北《关于推动全省工人文化宫高质量发展的意见》是哪一天出台的？',
    '碑林区那个王某的案子，拖欠他工资的那家陕西公司叫什么名字？',
    '盐田那个讨薪的货车司机魏师傅，是被哪家物流公司欠的工资？',
    '青岛市南区调饮师比赛的冠军冯欣，后来正式进了“市南工匠”人才库没有？',
  ]) {
    const answer = await answerer.answer(question);
    assert.match(answer.text, /^报道没有给出/, `${question}\n${answer.text}`);
    assert.notEqual(answer.coverage, 'full');
  }
  // …while what the article does print is still answered.
  const asked = await answerer.answer('青岛市南区的调饮师比赛有多少人报名？');
  assert.match(asked.text.split('\n')[0], /185名/);
});

test('the clause stating the asked detail leads: money raised is not the annual cost, the workers served are not the volunteers', async () => {
  const served = await answerer.answer('邓州每天有多少环卫工人能吃上爱心早餐？');
  assert.match(served.text.split('\n')[0], /2000名环卫工人/);
  const subsidy = await answerer.answer('吴忠德悦纺织的职工拿到国家认定的职称证书，每个月能补贴多少钱？');
  assert.match(subsidy.text.split('\n')[0], /800元～1800元/);
});

test('who said it: the speaker is named, from the sentence after the quote too', async () => {
  const answer = await answerer.answer('浏阳说“给花炮工人放一场焰火一直是我们的心愿”的是谁？');
  assert.match(answer.text, /^说这话的是大瑶镇党委书记潘定一/);
  assert.equal(answer.coverage, 'full');
});

test('a list across articles: one line per article, each naming its place and cited on its own', async () => {
  const answer = await answerer.answer('哪些地方组建了集体协商指导员队伍？');
  const lines = answer.text.split('\n').filter((l) => l.startsWith('・'));
  assert.ok(lines.length >= 2, answer.text);
  assert.ok(answer.citations.length >= 2);
  assert.match(answer.text, /阜宁/);
  assert.match(answer.text, /钦州/);
  for (const line of lines) assert.match(line, /\[\d\]$/, line);
  assert.equal(new Set(lines.map((l) => /\[(\d)\]$/.exec(l)![1])).size, lines.length, 'each line cites its own article');
});

test('a list labels each line with its place as printed, not a phrase that ends like one', async () => {
  const answer = await answerer.answer('工会都为环卫工人做了哪些暖心的事？');
  for (const place of ['邓州', '龙岗', '上海']) assert.match(answer.text, new RegExp(place), answer.text);
  assert.doesNotMatch(answer.text, /・(贸园区|年实现市|现乡镇)：/);
  const lines = answer.text.split('\n').filter((l) => l.startsWith('・'));
  assert.ok(lines.length >= 4 && lines.length <= 6, answer.text);
});

test('a summary: the article\'s main points and figures in a few short lines, at most ~300 characters', async () => {
  const answer = await answerer.answer('上海给一线职工建工间休息室这件事，主要讲了什么？');
  const body = answer.text.split('\n').slice(1).join('').replace(/\[\d\]|・/g, '');
  assert.match(answer.text, /^《上海市总推进职工工间休息室建设/);
  assert.ok(body.length <= 320, `${body.length} characters`);
  for (const figure of ['1400间', '4大行业', '5种']) assert.match(answer.text, new RegExp(figure));
  assert.equal(answer.citations.length, 1);
});

test('a follow-up naming another place switches to it; a question naming its own topic is not a follow-up', async () => {
  const first = await answerer.answer('广西的能级工资集体协商试点涉及多少家企业？');
  const history = [{ question: '广西的能级工资集体协商试点涉及多少家企业？', answer: first.text, articleIds: first.citations.map((c) => c.articleId) }];
  const switched = await answerer.answer('那吴忠呢？', history);
  assert.match(switched.citations[0].headline, /吴忠/);
  assert.match(switched.text, /10家企业/);
  const hubei = await answerer.answer('湖北计划哪一年实现工人文化宫全覆盖？');
  const own = await answerer.answer('哪些报道提到了环卫工人？', [{ question: '湖北计划哪一年实现工人文化宫全覆盖？', answer: hubei.text, articleIds: hubei.citations.map((c) => c.articleId) }]);
  assert.equal(own.rewrittenQuestion, undefined, 'not treated as a follow-up');
  assert.ok(own.citations.every((c) => !/湖北/.test(c.headline)), own.text);
});

test('a follow-up carries the previous turn\'s article and terms', async () => {
  const first = await answerer.answer('邓州市的爱心早餐项目每年制作成本多少？');
  const history = [{ question: '邓州市的爱心早餐项目每年制作成本多少？', answer: first.text, articleIds: first.citations.map((c) => c.articleId) }];
  const followUp = await answerer.answer('那有多少名志愿者参与？', history);
  assert.match(followUp.rewrittenQuestion ?? '', /邓州/);
  assert.equal(followUp.citations[0].articleId, first.citations[0].articleId);
  assert.match(followUp.text, /65名志愿者/);
  const standalone = await answerer.answer('浏阳大瑶镇有多少家花炮上下游企业？', history);
  assert.equal(standalone.rewrittenQuestion, undefined, 'a standalone question is not rewritten');
});

test('questions in English and Traditional Chinese get answers in Simplified Chinese from the right article', async () => {
  const english = await answerer.answer('How many volunteers take part in the Dengzhou free breakfast project?');
  assert.match(english.citations[0]?.headline ?? '', /邓州/);
  const traditional = await answerer.answer('浙江省總工會要求每年培育多少個省級職工文體活動優秀興趣小組？');
  assert.match(traditional.text, /120个/);
});

test('off-topic, nonsense and emoji-only input is refused, not answered from a loosely related article', async () => {
  for (const question of ['What is the capital of France?', 'asdfgh', '今天北京的天气怎么样？', 'Who won the football World Cup in 2022?']) {
    const answer = await answerer.answer(question);
    assert.equal(answer.refused, true, `${question} → ${answer.text.slice(0, 60)}`);
    assert.deepEqual(answer.citations, []);
  }
  const history = [{ question: '邓州市的爱心早餐项目每年制作成本多少？', answer: '400余万元', articleIds: [] }];
  const emoji = await answerer.answer('👍', history);
  assert.equal(emoji.refused, true);
  assert.match(emoji.text, /请用文字写下你的问题/);
  const long = await services.answerer().answer('请问'.repeat(300));
  assert.match(long.text, /问题太长了（600 字），请精简到 500 字以内再问/);
});

test('a refusal names a place as missing only when no retrieved article mentions it', async () => {
  const answer = await answerer.answer('贵阳市总工会为环卫工人设置了多少个爱心早餐点？');
  assert.equal(answer.refused, true);
  assert.match(answer.text, /没有提到“贵阳”/);
  assert.doesNotMatch(answer.text, /没有提到“[^”]*邓州/);
});

test('a follow-up that names another place switches to it instead of staying on the last article', async () => {
  const first = await answerer.answer('浏阳焰火晚会邀请了多少名花炮工人？');
  assert.match(first.citations[0]?.headline ?? '', /浏阳/);
  const history = [{ question: '浏阳焰火晚会邀请了多少名花炮工人？', answer: first.text, articleIds: first.citations.map((c) => c.articleId) }];
  const switched = await answerer.answer('那深圳盐田区呢？', history);
  assert.equal(switched.refused, false, switched.text);
  assert.match(switched.citations[0]?.headline ?? '', /盐田/);
});
