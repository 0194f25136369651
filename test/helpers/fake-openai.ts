export * from '../../src/eval/fake-openai.ts';
