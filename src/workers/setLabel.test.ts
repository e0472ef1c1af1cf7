import { describe, expect, it } from 'vitest';
import { labelOfPaths } from './setLabel';

describe('labelOfPaths', () => {
  it('names a folder pick after its folder, the deepest one every file shares', () => {
    expect(labelOfPaths(['puffin-1-100/prompt_1_data.csv', 'puffin-1-100/prompt_2_data.csv'])).toBe('puffin-1-100');
    expect(labelOfPaths(['deepseek/puffin-1-100/a.csv', 'deepseek/puffin-101-1000/b.csv'])).toBe('deepseek');
    expect(labelOfPaths(['set/x/a.csv', 'set/x/b.csv', 'set/x/c/d.csv'])).toBe('set/x');
  });

  it('names one file by its name', () => {
    expect(labelOfPaths(['gsm8k_2_routing.jsonl'])).toBe('gsm8k_2_routing.jsonl');
    expect(labelOfPaths(['logs/gsm8k_2_routing.jsonl'])).toBe('gsm8k_2_routing.jsonl');
  });

  it('names loose files by the first one and how many more, never "N files"', () => {
    const label = labelOfPaths(['prompt_1_data.csv', 'prompt_2_data.csv', 'prompt_10_data.csv']);
    expect(label).toBe('prompt_1_data.csv and 2 more');
    expect(labelOfPaths(['a/x.csv', 'b/y.csv'])).toBe('x.csv and 1 more');
    expect(labelOfPaths([])).toBe('no files');
  });
});
