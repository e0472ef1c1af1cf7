import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareRuns, stepsOf } from './compare';
import { migrateRunResults, modelResultOf, TRAINED_MODEL } from './names';
import { parseRunFile, RUN_FILE_VERSION, runFileText } from './record';
import { record } from './test-helpers';

/** Written by the exporter before results were keyed by model kind (version 1): an InterLayer run, then a joint run. */
const V1 = readFileSync(new URL('./fixtures/runs-v1.json', import.meta.url), 'utf8');

describe('run files keyed by model kind', () => {
  it('opens a version-1 file with each learned result under its own model kind', () => {
    const r = parseRunFile(V1, 'runs-v1.json');
    if (!r.ok) throw new Error(r.message);
    const [inter, joint] = r.runs;
    expect(inter.spec.model.kind).toBe('interlayer');
    expect(joint.spec.model.kind).toBe('joint');
    expect(Object.keys(inter.results).sort()).toEqual(['frequency', 'interlayer', 'markov', 'random', 'temporal']);
    expect(Object.keys(joint.results).sort()).toEqual(['frequency', 'joint', 'markov', 'random', 'temporal']);
    expect(modelResultOf(inter)?.recallAtK[0]).toBe(0.599);
    expect(modelResultOf(joint)?.recallAtK[0]).toBe(0.434);
    expect(joint.results.random).toEqual(inter.results.random);
  });

  it('writes version 2 and reads it back unchanged', () => {
    const r = parseRunFile(V1);
    if (!r.ok) throw new Error(r.message);
    const text = runFileText(r.runs);
    expect(JSON.parse(text).version).toBe(RUN_FILE_VERSION);
    expect(RUN_FILE_VERSION).toBe(2);
    const back = parseRunFile(text);
    expect(back).toEqual({ ok: true, runs: r.runs });
  });

  it('refuses versions it does not read, naming the ones it does', () => {
    const r = parseRunFile(V1.replace('"version": 1', '"version": 3'), 'f.json');
    expect(r).toEqual({ ok: false, message: 'f.json: run file version 3 is not supported (this page reads versions 1 and 2)' });
  });

  it('migrates only a learned result under "interlayer" of a run of another kind, and is idempotent', () => {
    const r = parseRunFile(V1);
    if (!r.ok) throw new Error(r.message);
    const [inter, joint] = r.runs;
    expect(migrateRunResults(inter)).toBe(inter);
    expect(migrateRunResults(joint)).toBe(joint);
    // A v1 joint record as IndexedDB kept it: moved once, then left alone.
    const { joint: learned, ...rest } = joint.results;
    const legacy = { ...joint, results: { ...rest, interlayer: learned } };
    const moved = migrateRunResults(legacy);
    expect(moved.results).toEqual(joint.results);
    expect(migrateRunResults(moved)).toBe(moved);
    // A baseline that happens to be keyed "interlayer" is not a learned result: not moved.
    const baselineOnly = { ...joint, results: { ...rest, interlayer: { ...learned, kind: 'baseline' as const } } };
    expect(migrateRunResults(baselineOnly)).toBe(baselineOnly);
  });

  it('compares each run with its own trained model under TRAINED_MODEL', () => {
    const r = parseRunFile(V1);
    if (!r.ok) throw new Error(r.message);
    const [inter, joint] = r.runs;
    expect(stepsOf(r.runs, TRAINED_MODEL)).toBe(2);
    const rows = compareRuns(r.runs, inter.id, TRAINED_MODEL);
    const recall = (i: number) => rows[i].cells.find((c) => c.metric === 'recallAtK' && c.step === 1)!;
    expect(recall(0)).toMatchObject({ value: 0.599, delta: 0 });
    expect(recall(1).value).toBe(0.434);
    expect(recall(1).delta).toBeCloseTo(0.434 - 0.599, 12);
    expect(rows[1].changed.map((c) => c.key)).toContain('model');
    // By name, a kind only one run has: the other's cells are empty.
    expect(compareRuns(r.runs, inter.id, 'joint')[0].cells.every((c) => c.value === null)).toBe(true);
    expect(joint.results.interlayer).toBeUndefined();
  });
});

describe('run files', () => {
  it('round-trip runs', () => {
    const runs = [record('a', [0.5, 0.4]), record('b', [0.6, 0.3], { seed: 3, trace: 'https://example.org/set' })];
    const r = parseRunFile(runFileText(runs));
    expect(r).toEqual({ ok: true, runs });
  });
  it('refuse what is not a valid run file, naming the problem', () => {
    const good = JSON.parse(runFileText([record('a', [0.5])])) as { runs: Record<string, unknown>[] };
    const bad = (mutate: (f: typeof good) => void) => {
      const f = structuredClone(good);
      mutate(f);
      return parseRunFile(JSON.stringify(f), 'runs.json');
    };
    expect(parseRunFile('{nope', 'x.json')).toMatchObject({ ok: false, message: expect.stringMatching(/^x\.json: not JSON/) });
    expect(parseRunFile('{"a":1}')).toMatchObject({ ok: false, message: expect.stringMatching(/not a SpecLab run file/) });
    expect(bad((f) => ((f as Record<string, unknown>).version = 9))).toMatchObject({ ok: false, message: expect.stringMatching(/version 9 is not supported/) });
    expect(bad((f) => ((f.runs[0].spec as Record<string, unknown>).seed = -1))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/runs\.0\.spec\.seed/),
    });
    expect(bad((f) => ((f.runs[0].spec as Record<string, unknown>).trace = 'javascript:alert(1)'))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/runs\.0\.spec\.trace/),
    });
    expect(bad((f) => (f.runs[0].__proto__x = 1))).toMatchObject({ ok: false, message: expect.stringMatching(/runs\.0/) });
    expect(bad((f) => (f.runs[0].name = 'x'.repeat(201)))).toMatchObject({ ok: false, message: expect.stringMatching(/runs\.0\.name/) });
    expect(bad((f) => (f.runs = []))).toMatchObject({ ok: false });
  });
});
