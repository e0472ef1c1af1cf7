/**
 * The page's decode worker: src/core/trace/decode.worker.ts behind the page's zod setting. The trace worker
 * starts it through a GuardedRunner (trace.worker.ts), so a file that overruns its budget ends only this worker.
 */
import '../core/zodJitless'; // before the manifest schema is built
import '../core/trace/decode.worker';
