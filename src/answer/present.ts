// How every channel (Telegram, terminal, JSON) shows an answer's completeness: an answer that
// does not cover everything asked starts with what is not reported, so nobody reads the closest
// fact as the answer.
import type { Answer } from './types.ts';

/** An answer line that says the articles do not report something. */
export const SAYS_NOT_REPORTED = /没有给出|未给出|没有提到|未提及|没有报道|未报道|没有说明|未说明|没有公布|未公布|没有披露|未披露|没有相关|无法回答|不能回答|没有找到/;

/** The answer text, its not-reported line first when it is partial and does not already say so. */
export function answerText(answer: Pick<Answer, 'text' | 'coverage' | 'notReported'>): string {
  const firstLine = answer.text.split('\n')[0];
  if (answer.coverage === 'full' || answer.notReported.length === 0 || SAYS_NOT_REPORTED.test(firstLine)) return answer.text;
  return `报道没有给出：${answer.notReported.join('；')}。\n${answer.text}`;
}
