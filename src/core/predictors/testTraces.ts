// Test data built from the shared Mixtral trace (../shared/traces-real): the same routing with gaps in positions.
import { importJsonl } from '../trace/importers';
import { readReal } from '../trace/importers/test-helpers';
import type { TraceSet } from '../trace/types';

interface Rec {
  problem_id: number;
  token_idx: number;
  layer: number;
  experts: number[];
}
const records = readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Rec);
const jsonl = (rs: Rec[]) => importJsonl([{ name: 'r.jsonl', text: rs.map((r) => JSON.stringify(r)).join('\n') }]).set;

/** The shared Mixtral routing; `spread` writes token positions 0, 10, 20, ...; `drop` loses layer 5 of these tokens of problem 0. */
export function mixtralVariant(o: { spread?: boolean; drop?: number[] } = {}): TraceSet {
  return jsonl(
    records
      .filter((r) => !(r.problem_id === 0 && o.drop?.includes(r.token_idx) && r.layer === 5))
      .map((r) => ({ ...r, token_idx: o.spread ? r.token_idx * 10 : r.token_idx })),
  );
}
