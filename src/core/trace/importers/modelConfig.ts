/**
 * The routing shape from a model's Hugging Face `config.json`, for layouts that do not carry it (SGLang's flat
 * routed_experts): layers = num_hidden_layers (SGLang routes every layer, -1 marking dense ones), top-k =
 * num_experts_per_tok, experts = n_routed_experts (DeepSeek), num_local_experts (Mixtral) or num_experts (Qwen MoE).
 */
export interface ConfigShape {
  numLayers: number;
  topK: number;
  numExperts?: number;
}

export function shapeFromModelConfig(text: string, where: string): ConfigShape {
  let c: unknown;
  try {
    c = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON (${(e as Error).message})`);
  }
  if (!c || typeof c !== 'object' || Array.isArray(c)) throw new Error(`${where}: expected a model config object`);
  const o = c as Record<string, unknown>;
  // Multimodal configs nest the language model's under text_config.
  const cfg = o.text_config && typeof o.text_config === 'object' ? (o.text_config as Record<string, unknown>) : o;
  const int = (key: string, required: boolean): number | undefined => {
    const v = cfg[key];
    if (v === undefined) {
      if (required) throw new Error(`${where}: no "${key}" (a Mixture-of-Experts model's config.json has it)`);
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${where}: "${key}" must be a positive integer (got ${JSON.stringify(v)})`);
    return v;
  };
  const numLayers = int('num_hidden_layers', true)!;
  const topK = int('num_experts_per_tok', true)!;
  const numExperts = int('n_routed_experts', false) ?? int('num_local_experts', false) ?? int('num_experts', false);
  if (numExperts !== undefined && topK > numExperts) throw new Error(`${where}: num_experts_per_tok ${topK} is more than the ${numExperts} experts`);
  return { numLayers, topK, ...(numExperts !== undefined && { numExperts }) };
}
