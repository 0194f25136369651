import assert from 'node:assert/strict';
import { test } from 'node:test';
import { looksLikeFollowUp, switchTargets } from '../../src/answer/followup.ts';
import { notReportedPhrase, splitAsks, understand } from '../../src/answer/question.ts';

test('what is asked: a detail, a list across articles, a summary, a comparison', () => {
  assert.equal(understand('邓州市总工会为爱心早餐项目筹资多少钱？').kind, 'detail');
  assert.equal(understand('哪些地方的工会在推能级工资集体协商？').kind, 'list');
  assert.equal(understand('工会给环卫工人办了哪些实事？').kind, 'list');
  assert.equal(understand('广西工会最近都有哪些动态？').kind, 'list');
  // 哪些 inside one named place's story is a detail of it.
  assert.equal(understand('邓州市的爱心早餐资金来自哪些渠道？').kind, 'detail');
  assert.equal(understand('宁夏吴忠推行能级工资那篇报道讲了啥？').kind, 'summary');
  assert.equal(understand('重庆万州那个劳动纠纷五方联动机制是怎么回事？').kind, 'summary');
  assert.equal(understand('上海和深圳相比，哪个建的休息室更多？').kind, 'comparison');
});

test('the slot: amount, count with its unit and thing counted, person, speaker, place, date, ratio, name', () => {
  assert.deepEqual(understand('邓州市总工会为爱心早餐项目筹资多少钱？').slot, 'amount');
  assert.deepEqual(understand('上海重点打造了多少间职工工间休息室样板间？'), { kind: 'detail', slot: 'count', unit: '间', counted: '职工' });
  const people = understand('柳州钢铁集团能级工资集体协商的成果惠及多少职工？');
  assert.equal(people.slot, 'count');
  assert.equal(people.unit, '人', '多少职工 counts people');
  assert.equal(understand('海南月饼行业技能竞赛的冠军是谁？').slot, 'person');
  assert.equal(understand('谁说“为花炮工人放一场焰火一直是我们的心愿”？').slot, 'speaker');
  assert.equal(understand('沈阳哪位工会干部说明确了目标路径时限后思路更清晰了？').slot, 'speaker');
  assert.equal(understand('哪个县的工会每个星期让辅导员亮成绩？').slot, 'place');
  assert.equal(understand('中互会采购的救灾物资是哪天送到积石山县的？').slot, 'date');
  assert.equal(understand('陕煤集团有多大比例的员工搞过小发明？').slot, 'ratio');
  assert.equal(understand('王浩名参与编写的那本教材叫什么？').slot, 'title');
  assert.equal(understand('达州那场快递员大赛哪支队伍拿了第一？').slot, 'organisation');
  assert.equal(understand('How many workplace rest rooms did Shanghai build in 2023?').slot, 'count');
});

test('the constraints: year, plan or outcome, per unit or total, a period for money', () => {
  const outcome = understand('上海2024年最后实际建成了多少间职工工间休息室？');
  assert.equal(outcome.year, '2024');
  assert.equal(outcome.stage, 'outcome');
  assert.equal(understand('上海工会2024年打算再建多少间职工工间休息室？').stage, 'plan');
  assert.equal(understand('邓州爱心早餐一份早饭的成本是多少钱？').scope, 'per-unit');
  assert.equal(understand('西林县每个乡镇的职工之家各投了多少钱？').scope, 'per-unit');
  assert.equal(understand('盐田区总工会一共发出了多少份意见书？').scope, 'total');
  assert.equal(understand('沈阳工匠日定在每年的哪一天？').scope, undefined, '每年 does not make a date per unit');
  assert.equal(understand('每个月能补贴多少钱？').period, '月');
  assert.equal(understand('谁说“为花炮工人放一场焰火”？').quote, '为花炮工人放一场焰火');
});

test('what a count is of when named first, a day rather than a year, a company asked by its name', () => {
  assert.equal(understand('广东那4万多名吃年夜饭的劳动者代表里，外卖配送员有多少人？').countedBefore, '配送员');
  assert.equal(understand('甘肃省目前的高技能人才总量有多少？').countedBefore, '人才');
  // 多少人报名 counts people, not 比赛; 建成了多少间 counts what 多少间 says.
  assert.equal(understand('青岛市南区的调饮师比赛有多少人报名？').countedBefore, undefined);
  assert.equal(understand('上海市总工会2023年建成了多少间职工工间休息室？').countedBefore, undefined);
  assert.equal(understand('湖北的意见是哪一天出台的？').day, true);
  assert.equal(understand('湖北的意见是什么时候出台的？').day, undefined);
  assert.equal(understand('拖欠他工资的那家陕西公司叫什么名字？').slot, 'organisation');
  assert.equal(understand('这位劳模叫什么名字？').slot, 'person');
});

test('two asks are answered separately; what is missing is named from the question', () => {
  assert.deepEqual(splitAsks('青岛市南区首届调饮师职业技能竞赛有多少名选手报名？多少人进入决赛？'), ['青岛市南区首届调饮师职业技能竞赛有多少名选手报名？', '多少人进入决赛？']);
  assert.deepEqual(splitAsks('甘肃的若干措施由几家单位联合印发，一共提出多少条具体措施？'), ['甘肃的若干措施由几家单位联合印发', '一共提出多少条具体措施？']);
  assert.deepEqual(splitAsks('邓州每天有多少环卫工人能吃上爱心早餐？'), ['邓州每天有多少环卫工人能吃上爱心早餐？']);
  assert.equal(notReportedPhrase('请问上海2024年实际建成了多少间？', understand('上海2024年实际建成了多少间？')), '上海2024年实际建成了多少间（具体数字）');
});

test('follow-ups: "那吴忠呢" switches place; a question naming its own topic stands alone', () => {
  const history = [{ question: '湖北计划哪一年实现工人文化宫全覆盖？' }];
  assert.deepEqual(switchTargets('那吴忠呢？'), ['吴忠']);
  assert.equal(looksLikeFollowUp('那吴忠呢？', history), true);
  assert.equal(looksLikeFollowUp('那有多少名志愿者参与？', history), true);
  assert.equal(looksLikeFollowUp('多少人参加？', history), true);
  assert.equal(looksLikeFollowUp('哪些报道提到了环卫工人？', history), false);
  assert.equal(looksLikeFollowUp('深圳龙岗那个冬日送暖心粥的活动一共惠及了多少人？', history), false);
  assert.equal(looksLikeFollowUp('那吴忠呢？', []), false);
});
