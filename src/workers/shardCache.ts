/**
 * IndexedDB cache of shard bytes keyed by their SHA-256 (the manifest's checksum), so a reload reads shards from
 * disk instead of the network. Content-addressed: a key can only ever hold one content, so entries never go
 * stale; only bytes whose digest matched are stored, and readers verify again anyway. Bounded by size, least
 * recently used out first. Every failure (private mode, quota, no IndexedDB) turns the cache off, never a load.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

interface CacheDb extends DBSchema {
  bytes: { key: string; value: ArrayBuffer };
  meta: { key: string; value: { sha256: string; size: number; usedAt: number }; indexes: { usedAt: number } };
}

export const CACHE_DB = 'speclab-shard-cache';
/** Total bytes kept; older shards are evicted past this. */
export const CACHE_MAX_BYTES = 1024 * 1024 * 1024;

export interface ShardCache {
  get(sha256: string): Promise<Uint8Array | null>;
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  /** Why the cache is off, or null while it works. */
  readonly disabled: string | null;
}

class IdbShardCache implements ShardCache {
  disabled: string | null = null;
  private db: Promise<IDBPDatabase<CacheDb>> | null = null;

  constructor(private readonly maxBytes: number) {}

  private open(): Promise<IDBPDatabase<CacheDb>> {
    this.db ??= openDB<CacheDb>(CACHE_DB, 1, {
      upgrade(db) {
        db.createObjectStore('bytes');
        db.createObjectStore('meta', { keyPath: 'sha256' }).createIndex('usedAt', 'usedAt');
      },
    });
    return this.db;
  }

  private off(e: unknown): null {
    this.disabled = `shard cache off: ${e instanceof Error ? e.message : String(e)}`;
    return null;
  }

  async get(sha256: string): Promise<Uint8Array | null> {
    if (this.disabled) return null;
    try {
      const db = await this.open();
      const buf = await db.get('bytes', sha256);
      if (!buf) return null;
      await db.put('meta', { sha256, size: buf.byteLength, usedAt: Date.now() });
      return new Uint8Array(buf);
    } catch (e) {
      return this.off(e);
    }
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    if (this.disabled || bytes.byteLength > this.maxBytes) return;
    try {
      const db = await this.open();
      const tx = db.transaction(['bytes', 'meta'], 'readwrite');
      // A copy: the caller keeps (and may transfer) its own buffer.
      await tx.objectStore('bytes').put(bytes.slice().buffer, sha256);
      await tx.objectStore('meta').put({ sha256, size: bytes.byteLength, usedAt: Date.now() });
      await tx.done;
      await this.evict(db);
    } catch (e) {
      this.off(e);
    }
  }

  private async evict(db: IDBPDatabase<CacheDb>): Promise<void> {
    const all = await db.getAllFromIndex('meta', 'usedAt');
    let total = all.reduce((n, m) => n + m.size, 0);
    for (const m of all) {
      if (total <= this.maxBytes) break;
      const tx = db.transaction(['bytes', 'meta'], 'readwrite');
      await Promise.all([tx.objectStore('bytes').delete(m.sha256), tx.objectStore('meta').delete(m.sha256), tx.done]);
      total -= m.size;
    }
  }
}

/** A cache that stores nothing, where IndexedDB does not exist (Node, some private modes). */
const noCache = (why: string): ShardCache => ({ disabled: why, get: async () => null, put: async () => {} });

export function openShardCache(maxBytes = CACHE_MAX_BYTES): ShardCache {
  return typeof indexedDB === 'undefined' ? noCache('shard cache off: no IndexedDB here') : new IdbShardCache(maxBytes);
}
