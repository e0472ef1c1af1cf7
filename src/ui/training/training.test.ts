import { describe, expect, it } from 'vitest';
import { keyText, withKeyValue } from '../../core/experiment/url';
import { defaultSpec } from '../../core/experiment/spec';
import { LEARNED_PREDICTORS } from '../../ml/config';
import { plural } from '../format';
import { runErrorText } from '../runs/RunList';
import { friendlyFieldMessage } from './fieldErrors';
import { MODEL_FIELDS, MODEL_INFO, modelInfo } from './models';
import { etaSeconds, formatDuration } from './RunBar';

const refusal = (key: 'ctx' | 'drop' | 'epochs' | 'lr' | 'sched', text: string) => {
  const r = withKeyValue(defaultSpec(), key, text);
  if (r.ok) throw new Error(`${key}=${text} was accepted`);
  return r.message;
};

describe('form messages in plain words', () => {
  it('turns schema and codec wording into short sentences', () => {
    expect(friendlyFieldMessage(refusal('ctx', '99'))).toBe('Too big: at most 16.');
    expect(friendlyFieldMessage(refusal('epochs', '0'))).toBe('Too small: at least 1.');
    expect(friendlyFieldMessage(refusal('drop', '1.5'))).toBe('Too big: at most 0.9.');
    expect(friendlyFieldMessage(refusal('ctx', '2.5'))).toMatch(/^Must be a whole number/);
    expect(friendlyFieldMessage(refusal('lr', 'abc'))).toMatch(/^Must be a number, not "abc"/);
    expect(friendlyFieldMessage(refusal('sched', 'linear'))).toMatch(/^Must be one of cosine, constant, not "linear"\.$/);
    for (const m of [refusal('ctx', '99'), refusal('lr', 'abc'), refusal('sched', 'x')]) expect(friendlyFieldMessage(m)).not.toMatch(/expected|<=|>=/);
  });
  it('leaves unknown messages as they are', () => {
    expect(friendlyFieldMessage('something else')).toBe('something else');
  });
});

describe('run messages', () => {
  it('a failure of training and baselines on the same split is said once', () => {
    expect(runErrorText('split left the test part empty; split left the test part empty')).toBe('split left the test part empty');
    expect(runErrorText('a; b')).toBe('a; b');
    expect(runErrorText('only one')).toBe('only one');
  });
  it('time left from the steps done since the first report', () => {
    expect(etaSeconds(null, 5, 10, 1000)).toBeNull();
    expect(etaSeconds({ step: 1, at: 0 }, 1, 10, 5000)).toBeNull();
    expect(etaSeconds({ step: 1, at: 0 }, 3, 10, 4000)).toBeCloseTo(14);
    expect(formatDuration(8.4)).toBe('8 s');
    expect(formatDuration(75)).toBe('1 min 15 s');
    expect(formatDuration(120)).toBe('2 min');
    expect(formatDuration(3720)).toBe('1 h 2 min');
  });
  it('counts agree with their nouns', () => {
    expect(plural(1, 'sequence')).toBe('1 sequence');
    expect(plural(2, 'sequence')).toBe('2 sequences');
    expect(plural(1200, 'token')).toBe('1,200 tokens');
  });
});

describe('model table', () => {
  it('describes each model and lists only fields of the form', () => {
    for (const [kind, info] of Object.entries(MODEL_INFO)) {
      expect(info.title.length, kind).toBeGreaterThan(0);
      for (const f of info.fields) expect(MODEL_FIELDS).toContain(f);
    }
    expect(modelInfo('interlayer').fields).toContain('lsh');
    expect(modelInfo('interlayer').fields).not.toContain('vocab');
    expect(modelInfo('token-aware').fields).toContain('vocab');
    // Every model field has a key the link knows.
    for (const f of MODEL_FIELDS) expect(typeof keyText(defaultSpec(), f)).toBe('string');
  });
  it('a model of the list without an entry shows by its key with every model field', () => {
    const unknown = modelInfo('some-new-model');
    expect(unknown.title).toBe('some-new-model');
    expect(unknown.fields).toEqual(MODEL_FIELDS);
    for (const kind of LEARNED_PREDICTORS) expect(modelInfo(kind).title.length).toBeGreaterThan(0);
  });
});
