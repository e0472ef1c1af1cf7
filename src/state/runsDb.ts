/**
 * Kept runs in IndexedDB (database `speclab-runs`, one record per run, keyed by id). Every failure (private mode,
 * quota, no IndexedDB) leaves the runs in memory for this page and says why, never loses the run on screen.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { runRecordSchema, type RunRecord } from '../core/runs/record';

interface RunsSchema extends DBSchema {
  runs: { key: string; value: RunRecord; indexes: { createdAt: number } };
}

export const RUNS_DB = 'speclab-runs';

export interface RunsDb {
  /** Every kept run, oldest first; records that no longer match the schema are skipped (and counted). */
  list(): Promise<{ runs: RunRecord[]; skipped: number }>;
  put(run: RunRecord): Promise<void>;
  delete(id: string): Promise<void>;
}

class IdbRunsDb implements RunsDb {
  private db: Promise<IDBPDatabase<RunsSchema>> | null = null;

  private open(): Promise<IDBPDatabase<RunsSchema>> {
    this.db ??= openDB<RunsSchema>(RUNS_DB, 1, {
      upgrade(db) {
        db.createObjectStore('runs', { keyPath: 'id' }).createIndex('createdAt', 'createdAt');
      },
    });
    return this.db;
  }

  async list() {
    const all = await (await this.open()).getAllFromIndex('runs', 'createdAt');
    const runs: RunRecord[] = [];
    for (const r of all) {
      const p = runRecordSchema.safeParse(r);
      if (p.success) runs.push(p.data);
    }
    return { runs, skipped: all.length - runs.length };
  }

  async put(run: RunRecord) {
    await (await this.open()).put('runs', run);
  }

  async delete(id: string) {
    await (await this.open()).delete('runs', id);
  }
}

/** Runs kept for this page only (no IndexedDB here). */
export function memoryRunsDb(): RunsDb {
  const m = new Map<string, RunRecord>();
  return {
    list: async () => ({ runs: [...m.values()].sort((a, b) => a.createdAt - b.createdAt), skipped: 0 }),
    put: async (r) => void m.set(r.id, r),
    delete: async (id) => void m.delete(id),
  };
}

export function openRunsDb(): RunsDb {
  return typeof indexedDB === 'undefined' ? memoryRunsDb() : new IdbRunsDb();
}
