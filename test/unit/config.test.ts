import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, maskUrl } from '../../src/config.js';

describe('config', () => {
  it('has defaults that work on this machine', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 3000,
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/opsgraph',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: 'opsgraph',
      BULL_BOARD_ENABLED: false,
      NODE_ENV: 'development',
    });
  });

  it('coerces values and treats empty variables as unset', () => {
    const c = loadConfig({ PORT: '8080', BULL_BOARD_ENABLED: 'true', REDIS_PREFIX: '' });
    expect(c.PORT).toBe(8080);
    expect(c.BULL_BOARD_ENABLED).toBe(true);
    expect(c.REDIS_PREFIX).toBe('opsgraph');
  });

  it('names every bad variable in one error', () => {
    const attempt = () => loadConfig({ PORT: 'eighty', REDIS_URL: 'http://nope', REDIS_PREFIX: 'has space' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/PORT.*REDIS_URL.*REDIS_PREFIX/);
  });

  it('masks passwords in URLs it prints', () => {
    expect(maskUrl('postgresql://app:hunter2@db:5432/opsgraph')).toBe('postgresql://app:****@db:5432/opsgraph');
    expect(maskUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(maskUrl('::not a url::')).toBe('<unparseable url>');
  });
});
