const intFormat = new Intl.NumberFormat('en-US');

/** 1234567 -> "1,234,567" (fixed locale so the page and tests agree). */
export function formatInt(n: number): string {
  return intFormat.format(n);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** 0.1234 -> "12.3%". */
export function formatPct(v: number, digits = 1): string {
  return `${(v * 100).toFixed(digits)}%`;
}

/** (1, 'sequence') -> "1 sequence", (2, 'sequence') -> "2 sequences"; the plural form when it is not word + s. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${formatInt(n)} ${n === 1 ? word : many}`;
}
