/**
 * The source tree's import directions: src/core (formats, metrics, experiment, runs) depends on no other part of
 * the page; src/workers on no UI; and src/core, src/state, src/workers and src/cli import each other in no circle.
 * Read from the files themselves (static imports, re-exports, `import()`), so a new import in the wrong
 * direction fails here, named by file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'node_modules' && name !== 'fixtures' && name !== '__snapshots__') out.push(...sourceFiles(p));
    } else if (/\.(ts|tsx)$/.test(name) && !/\.d\.ts$/.test(name)) out.push(p);
  }
  return out;
}

const isTest = (f: string) => /\.(test|regress)\.tsx?$/.test(f);

/**
 * Module specifiers of a file: `import … from`, `export … from`, `import '…'`, `import('…')`; with
 * `runtimeOnly`, without `import type` / `export type` (erased when compiled: no circle at run time).
 */
export function specifiers(text: string, runtimeOnly = false): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(/\b(import|export)(\s+type\b)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g)) if (!(runtimeOnly && m[2])) out.push(m[3]);
  for (const re of [/\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g]) for (const m of code.matchAll(re)) out.push(m[1]);
  return out;
}

/** A relative specifier as a file of the tree (query suffixes such as `?worker` dropped), or null. */
function resolveImport(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(from), spec.replace(/\?.*$/, ''));
  for (const c of [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts'), join(base, 'index.tsx')]) if (existsSync(c) && statSync(c).isFile()) return c;
  return null;
}

/** Every source file (tests left out) → the tree files it imports (`runtimeOnly`: type-only imports left out). */
function importGraph(runtimeOnly = false): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of sourceFiles(SRC)) {
    if (isTest(f)) continue;
    g.set(
      f,
      specifiers(readFileSync(f, 'utf8'), runtimeOnly)
        .map((s) => resolveImport(f, s))
        .filter((x): x is string => x !== null),
    );
  }
  return g;
}

const rel = (f: string) => relative(ROOT, f);
const partOf = (f: string) => rel(f).split('/')[1];

/** Strongly connected groups of more than one file (or a file importing itself): the import circles. */
export function circles(graph: Map<string, string[]>, within: (f: string) => boolean): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of (graph.get(v) ?? []).filter(within)) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(group.map(rel).sort());
    }
  };
  for (const v of [...graph.keys()].filter(within)) if (!idx.has(v)) visit(v);
  return out;
}

/** Which parts of src a part must not import. */
const FORBIDDEN: Record<string, readonly string[]> = {
  core: ['ml', 'ui', 'state', 'workers', 'cli'],
  workers: ['ui'],
};

/** Imports in a forbidden direction that are still to be moved, as 'from → to' (none now). */
const PENDING = new Set<string>([]);

describe('import directions', () => {
  const graph = importGraph();

  it('reads imports of every form', () => {
    expect(
      specifiers(
        `import a from './a';\nimport { b,\n c } from "../b";\nexport * from './c';\nimport './d';\nconst e = await import('./e');\n// import x from './not';\n/* import y from './no' */`,
      ),
    ).toEqual(['./a', '../b', './c', './d', './e']);
    expect(specifiers(`import type { A } from './a';\nexport type { B } from './b';\nimport { type C, d } from './c';`, true)).toEqual(['./c']);
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get(join(SRC, 'main.tsx'))).toContain(join(SRC, 'core', 'zodJitless.ts'));
  });

  it('src/core imports nothing from src/ml, src/ui, src/state, src/workers or src/cli; src/workers nothing from src/ui', () => {
    const wrong: string[] = [];
    for (const [f, deps] of graph) {
      const banned = FORBIDDEN[partOf(f)];
      if (!banned) continue;
      for (const d of deps) if (banned.includes(partOf(d))) wrong.push(`${rel(f)} → ${rel(d)}`);
    }
    expect(wrong.filter((w) => !PENDING.has(w))).toEqual([]);
    expect(
      [...PENDING].filter((p) => !wrong.includes(p)),
      'imports already moved: remove them from PENDING',
    ).toEqual([]);
  });

  it('finds a circle when there is one', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
    ]);
    expect(circles(g, () => true).map((c) => c.length)).toEqual([3]);
    expect(circles(new Map([['a', ['a']]]), () => true)).toHaveLength(1);
  });

  // At run time: the store's slices and the store name each other's types only (zustand's slice pattern).
  const runtime = importGraph(true);
  for (const part of ['core', 'state', 'workers', 'cli', 'ml'])
    it(`src/${part} has no import circle`, () => {
      expect(circles(runtime, (f) => partOf(f) === part)).toEqual([]);
    });
});
