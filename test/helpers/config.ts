import { loadConfig, type Config } from '../../src/config.ts';

/** The real configuration a user gets, with test paths. The model is found as the app finds it
 * (EMBEDDING_MODEL_PATH, then the download cache); test/run.ts skips files that need it when it
 * cannot be had. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    env: {
      ...(process.env.EMBEDDING_MODEL_PATH ? { EMBEDDING_MODEL_PATH: process.env.EMBEDDING_MODEL_PATH } : {}),
      LOG_LEVEL: 'silent',
      ...env,
    },
    dotenvDir: false,
  });
}
