import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.ts';

/** The real configuration a user gets, with the model folder CI provides and test paths. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    env: {
      EMBEDDING_MODEL_PATH: process.env.EMBEDDING_MODEL_PATH ?? path.resolve('..', 'shared', 'models'),
      LOG_LEVEL: 'silent',
      ...env,
    },
    dotenvDir: false,
  });
}
