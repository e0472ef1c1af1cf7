import { describe, expect, it } from 'vitest';
import { shapeFromModelConfig } from './modelConfig';

// The fields as the published configs of the shared traces' models have them.
const DEEPSEEK_V2_LITE = {
  architectures: ['DeepseekV2ForCausalLM'],
  num_hidden_layers: 27,
  first_k_dense_replace: 1,
  n_routed_experts: 64,
  num_experts_per_tok: 6,
};
const MIXTRAL = { architectures: ['MixtralForCausalLM'], num_hidden_layers: 32, num_local_experts: 8, num_experts_per_tok: 2 };

describe('shapeFromModelConfig', () => {
  it('reads layers, top-k and experts from DeepSeek, Mixtral and nested (text_config) configs', () => {
    expect(shapeFromModelConfig(JSON.stringify(DEEPSEEK_V2_LITE), 'config.json')).toEqual({ numLayers: 27, topK: 6, numExperts: 64 });
    expect(shapeFromModelConfig(JSON.stringify(MIXTRAL), 'config.json')).toEqual({ numLayers: 32, topK: 2, numExperts: 8 });
    expect(shapeFromModelConfig(JSON.stringify({ text_config: { num_hidden_layers: 48, num_experts: 128, num_experts_per_tok: 8 } }), 'c.json')).toEqual({
      numLayers: 48,
      topK: 8,
      numExperts: 128,
    });
  });

  it('names the file and the field that is missing or wrong', () => {
    expect(() => shapeFromModelConfig('{', 'm/config.json')).toThrow(/^m\/config\.json: not JSON/);
    expect(() => shapeFromModelConfig(JSON.stringify({ num_hidden_layers: 32 }), 'm/config.json')).toThrow('m/config.json: no "num_experts_per_tok"');
    expect(() => shapeFromModelConfig(JSON.stringify({ ...MIXTRAL, num_hidden_layers: '32' }), 'c.json')).toThrow(
      '"num_hidden_layers" must be a positive integer (got "32")',
    );
    expect(() => shapeFromModelConfig(JSON.stringify({ ...MIXTRAL, num_experts_per_tok: 9 }), 'c.json')).toThrow(
      'num_experts_per_tok 9 is more than the 8 experts',
    );
  });
});
