// Worker-thread bootstrap: worker threads do not inherit tsx's loader, so register it here, then load
// the TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
await import('./decodeWorker.ts');
