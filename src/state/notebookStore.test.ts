import { describe, expect, it } from 'vitest';
import { defaultSpec } from '../core/experiment/spec';
import type { LoadedInfo } from '../workers/traceProtocol';
import { createNotebookStore } from './notebookStore';
import { runKeyOf } from './runController';

const info = (label: string) => ({ label }) as unknown as LoadedInfo;

describe('notebook store', () => {
  it('drops answers of a load that a newer one replaced, and keeps the loaded set when a load fails', () => {
    const store = createNotebookStore();
    const s = () => store.getState();
    const a = s().beginLoad('a');
    s().finishLoad(a, info('a'));
    expect(s().current?.info.label).toBe('a');
    const b = s().beginLoad('b');
    const c = s().beginLoad('c');
    s().finishLoad(b, info('b'));
    s().failLoad(b, 'b', 'late failure');
    expect(s().current?.info.label).toBe('a');
    expect(s().loadError).toBeNull();
    s().failLoad(c, 'c', 'bad file');
    expect(s().loading).toBeNull();
    expect(s().loadError).toEqual({ label: 'c', message: 'bad file' });
    expect(s().current?.info.label).toBe('a');
    s().beginLoad('d');
    expect(s().loadError).toBeNull();
  });

  it('edits the spec one validated field at a time', () => {
    const store = createNotebookStore();
    expect(store.getState().setField('hidden', '16')).toBeNull();
    expect(store.getState().spec.model.hiddenUnits).toBe(16);
    expect(store.getState().setField('hidden', '0')).toMatch(/Too small/);
    expect(store.getState().spec.model.hiddenUnits).toBe(16);
  });

  it('keys results by the experiment without its view, and ignores results of another run', () => {
    const spec = defaultSpec();
    expect(runKeyOf({ ...spec, view: { panel: 'reuse', layer: 3 } }, 1)).toBe(runKeyOf(spec, 1));
    expect(runKeyOf({ ...spec, seed: 1 }, 1)).not.toBe(runKeyOf(spec, 1));
    expect(runKeyOf(spec, 2)).not.toBe(runKeyOf(spec, 1));
    const store = createNotebookStore();
    store.getState().beginRun('k1');
    store.getState().beginRun('k2');
    store.getState().updateTraining('k1', { status: 'done' });
    expect(store.getState().training.status).toBe('starting');
    store.getState().updateTraining('k2', { status: 'running' });
    expect(store.getState().training.status).toBe('running');
  });
});
