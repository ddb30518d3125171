import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfigText } from '../../src/config/loader.js';

const parse = (text: string) => parseConfigText(text, 'lab.yaml', { baseDir: '/srv/keymaster' });

describe('workers', () => {
  it('defaults to the number of cores', () => {
    expect(parse('').workers).toBe(availableParallelism());
  });

  it('takes 1 (the single process) and more', () => {
    expect(parse('workers: 1\n').workers).toBe(1);
    expect(parse('workers: 8\n').workers).toBe(8);
  });

  it.each(['0', '-1', '1.5', 'two', '1000'])('refuses workers: %s, naming the key and line', (value) => {
    try {
      parse(`listen: ["127.0.0.1:53"]\nworkers: ${value}\n`);
      expect.unreachable('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([expect.objectContaining({ path: 'workers', line: 2, message: expect.stringContaining('integer from 1 to 256') })]);
    }
  });
});
