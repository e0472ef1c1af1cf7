import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { rechunk } from '../core/trace/chunk';
import { sha256Hex } from '../core/trace/hash';
import { parseManifest, serializeManifest } from '../core/trace/manifest';
import type { TraceSource } from '../core/trace/read';
import { decodeShard, encodeShard } from '../core/trace/shard';
import { TraceError, type Manifest, type ShardEntry, type TraceChunk, type TraceSet } from '../core/trace/types';

/** A trace source over a folder on disk. */
export function dirSource(dir: string): TraceSource {
  const abs = resolve(dir);
  const path = (name: string) => {
    if (basename(name) !== name) throw new TraceError('file names in a trace set may not contain folders', join(abs, name));
    return join(abs, name);
  };
  const read = async (name: string) => {
    try {
      return await readFile(path(name));
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err instanceof TraceError) throw err;
      throw new TraceError(err.code === 'ENOENT' ? 'file not found' : err.message, path(name));
    }
  };
  return {
    label: abs,
    readText: async (name) => (await read(name)).toString('utf8'),
    readBytes: async (name) => {
      const b = await read(name);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    },
  };
}

async function writeFileDurably(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export interface WriteOptions {
  /** Rows per shard. */
  shardTokens?: number;
}

/**
 * Writes a trace set: shards first (each published by rename once complete), the manifest last, so a
 * folder whose manifest exists is always whole. Returns the manifest written.
 */
export async function writeTraceSet(dir: string, set: TraceSet, opts: WriteOptions = {}): Promise<Manifest> {
  return writeTraceChunks(dir, set.manifest, rechunk(set, opts.shardTokens ?? 262_144));
}

/**
 * Writes chunks as they come, one shard each (so a trace larger than memory can be written from a generator),
 * then the manifest with their checksums. `manifest.shards` is ignored.
 */
export async function writeTraceChunks(dir: string, base: Manifest, chunks: Iterable<TraceChunk>, onShard?: (i: number) => void): Promise<Manifest> {
  await mkdir(dir, { recursive: true });
  const manifestPath = join(dir, 'manifest.json');
  // An older manifest must not describe shards that are about to be replaced.
  await rm(manifestPath, { force: true });
  const shards: ShardEntry[] = [];
  let i = 0;
  for (const piece of chunks) {
    const file = `shard-${String(i).padStart(5, '0')}.arrow`;
    const bytes = encodeShard(piece, base);
    await writeFileDurably(join(dir, file), bytes);
    shards.push({ file, tokens: piece.tokens, sha256: await sha256Hex(bytes) });
    onShard?.(i);
    i++;
  }
  const manifest: Manifest = { ...base, shards };
  await writeFileDurably(manifestPath, serializeManifest(manifest));
  await verifyWrittenSet(dir, manifest);
  return manifest;
}

/**
 * Reads a just-written trace set back from disk, one shard at a time (memory stays at one shard): the manifest
 * must parse and equal what was meant to be written, and every shard it lists must match its checksum and
 * decode with the listed token count. A writer reports success only after this passes.
 */
export async function verifyWrittenSet(dir: string, expected: Manifest): Promise<void> {
  const src = dirSource(dir);
  const where = `${src.label}/manifest.json`;
  const onDisk = parseManifest(await src.readText('manifest.json'), where);
  // Compared as parsed (the schema orders and normalises fields), so only a real difference counts.
  if (serializeManifest(onDisk) !== serializeManifest(parseManifest(serializeManifest(expected), where)))
    throw new TraceError('read back after writing, the manifest differs from the one written', where);
  for (const entry of onDisk.shards) {
    const at = `${src.label}/${entry.file}`;
    const bytes = await src.readBytes(entry.file);
    const sum = await sha256Hex(bytes);
    if (sum !== entry.sha256) throw new TraceError(`read back after writing, SHA-256 is ${sum}, the manifest says ${entry.sha256}`, at);
    decodeShard(bytes, onDisk, at, entry.tokens);
  }
}

export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}
