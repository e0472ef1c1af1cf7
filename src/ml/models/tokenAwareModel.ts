/**
 * Token-aware model: the joint temporal + inter-layer model (jointModel.ts) with an embedding of the token
 * itself, for traces that record token ids (or token text: vocabulary.ts). Which experts a token is routed to
 * depends strongly on the token, most of all in the early layers. A trace with neither is refused with a message
 * (vocabulary.ts, tokenlessReason).
 */
import type { InterLayerConfig } from '../config';
import { JointModel } from './jointModel';
import type { ModelFactory } from './speculationModel';
import type { Vocabulary } from './vocabulary';

export function tokenAwareFactory(c: InterLayerConfig, vocabulary: Vocabulary): ModelFactory {
  const o = { history: c.history, vocabSize: vocabulary.size, dynamicContext: c.dynamicContext };
  return (shape, seed) => new JointModel(shape, seed, o);
}
