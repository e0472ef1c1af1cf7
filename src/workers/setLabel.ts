/**
 * The name of a trace set opened from disk, as the page shows it and a link names it (`local:<name>`): the folder
 * the files share (the deepest one), else the one file's name, else the first file's name and how many more.
 */
export function labelOfPaths(paths: readonly string[]): string {
  if (paths.length === 0) return 'no files';
  const parts = paths.map((p) => p.split('/').filter(Boolean));
  const names = parts.map((p) => p[p.length - 1] ?? '');
  if (paths.length === 1) return names[0] || paths[0];
  // Folders every file lies under, outermost first.
  const common: string[] = [];
  const shortest = Math.min(...parts.map((p) => p.length - 1));
  for (let i = 0; i < shortest; i++) {
    const d = parts[0][i];
    if (!parts.every((p) => p[i] === d)) break;
    common.push(d);
  }
  if (common.length) return common.join('/');
  const more = paths.length - 1;
  return `${names[0]} and ${more} more`;
}
