/** Test-only helpers shared by the importer tests (Node: reads the real traces next to the repo). */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { TraceError } from '../types';

/** `../shared/traces-real/` relative to the repo root (read-only test data, never copied into the repo). */
export const REAL = fileURLToPath(new URL('../../../../../shared/traces-real/', import.meta.url));

export function readReal(rel: string): string {
  return readFileSync(REAL + rel, 'utf8');
}

export function listReal(dir: string): string[] {
  return readdirSync(REAL + dir);
}

/** Asserts `fn` throws a TraceError at `where` whose message contains every one of `parts`. */
export function expectTraceError(fn: () => unknown, where: string, ...parts: string[]): TraceError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a TraceError').toBeInstanceOf(TraceError);
  const te = err as TraceError;
  expect(te.where).toBe(where);
  expect(te.message.startsWith(`${where}: `)).toBe(true);
  for (const p of parts) expect(te.message).toContain(p);
  return te;
}
