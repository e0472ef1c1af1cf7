/**
 * Runs the fused-vs-tfjs equivalence check (equivalence.ts) on the WebGPU backend in Node and prints its report as
 * JSON. `--full` runs every case; the default is the quick set. Exit code 2 when no WebGPU adapter is available.
 *   npx tsx src/ml/fused/checkEquivalence.ts [--full]
 */
import { initBackend } from '../backend';
import { fusedEquivalence } from './equivalence';

async function main(): Promise<number> {
  try {
    await initBackend(['webgpu']);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    return 2;
  }
  const report = await fusedEquivalence({ quick: !process.argv.includes('--full') });
  console.log(JSON.stringify(report));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
