/**
 * Import first (before anything that builds zod schemas, e.g. src/core/trace/manifest.ts): the page (src/main.tsx)
 * and every worker entry do.
 * zod 4 probes `new Function` when a z.object() schema is created, unless jitless. Our CSP has no
 * 'unsafe-eval', so the probe fails anyway, but Chromium files a securitypolicyviolation for it.
 */
import { config } from 'zod';

config({ jitless: true });
