"""Routing capture on tiny random configs of every supported family: what we record must be exactly what the
model routes (ids and weights handed to the experts), from the post-attention-normalised router input, for real
tokens only; lookahead logits must equal the later routers applied to the captured input."""

import numpy as np
import pytest
import torch
import transformers as T

from speclab_collect.capture import RoutingRecorder, capture_routing, find_moe_layers, run_forward

V = 300


def tiny(family):
    torch.manual_seed(7)
    if family == "mixtral":
        cfg = T.MixtralConfig(
            vocab_size=V,
            hidden_size=32,
            intermediate_size=32,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=2,
            num_local_experts=8,
            num_experts_per_tok=2,
            pad_token_id=0,
        )
    elif family == "olmoe":
        cfg = T.OlmoeConfig(
            vocab_size=V,
            hidden_size=32,
            intermediate_size=32,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=4,
            num_experts=8,
            num_experts_per_tok=2,
            pad_token_id=0,
            eos_token_id=1,
        )
    elif family == "qwen2_moe":  # a dense layer in the middle: moeLayerIds must skip it
        cfg = T.Qwen2MoeConfig(
            vocab_size=V,
            hidden_size=32,
            intermediate_size=64,
            moe_intermediate_size=16,
            shared_expert_intermediate_size=16,
            num_hidden_layers=4,
            num_attention_heads=4,
            num_key_value_heads=2,
            num_experts=8,
            num_experts_per_tok=2,
            mlp_only_layers=[1],
            norm_topk_prob=True,
            pad_token_id=0,
        )
    elif family == "qwen3_moe":
        cfg = T.Qwen3MoeConfig(
            vocab_size=V,
            hidden_size=32,
            intermediate_size=64,
            moe_intermediate_size=16,
            num_hidden_layers=4,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=8,
            num_experts=8,
            num_experts_per_tok=2,
            decoder_sparse_step=2,
            pad_token_id=0,
        )
    else:  # switch: small expert capacity so that some tokens overflow
        cfg = T.SwitchTransformersConfig(
            vocab_size=V,
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=4,
            num_decoder_layers=4,
            num_heads=4,
            num_experts=4,
            expert_capacity=3,
            encoder_sparse_step=2,
            decoder_sparse_step=2,
            pad_token_id=0,
            decoder_start_token_id=0,
        )
        return T.SwitchTransformersForConditionalGeneration(cfg).eval()
    return T.AutoModelForCausalLM.from_config(cfg).eval()


FAMILIES = ["mixtral", "olmoe", "qwen2_moe", "qwen3_moe", "switch"]
EXPECTED_IDS = {"mixtral": [0, 1, 2], "olmoe": [0, 1, 2], "qwen2_moe": [0, 2, 3], "qwen3_moe": [1, 3], "switch": [1, 3, 5, 7]}


@pytest.fixture(scope="module", params=FAMILIES)
def fam(request):
    return request.param, tiny(request.param)


def right_padded(lengths, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.zeros((len(lengths), max(lengths)), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, n in enumerate(lengths):
        ids[r, :n] = torch.randint(2, V, (n,), generator=g)
        mask[r, :n] = 1
    return ids, mask


def router_input_module(model, m):
    """The norm whose output feeds the router of MoE layer m (post-attention norm / Switch FF layer norm)."""
    if m.kind == "switch":
        stack = model.encoder if m.stack == "encoder" else model.decoder
        return stack.block[m.block].layer[-1].layer_norm
    return model.model.layers[m.block].post_attention_layernorm


def test_moe_layer_ids(fam):
    name, model = fam
    layers = find_moe_layers(model)
    assert [m.layer_id for m in layers] == EXPECTED_IDS[name]
    if name == "switch":
        assert [m.stack for m in layers] == ["encoder", "encoder", "decoder", "decoder"]
        assert all(m.top_k == 1 for m in layers)


def test_capture_equals_the_models_own_routing(fam):
    name, model = fam
    layers = find_moe_layers(model)
    ids, mask = right_padded([9, 4, 7])
    real = mask.bool().reshape(-1)
    normed, consumed, router_in = {}, {}, {}
    hooks = []
    for li, m in enumerate(layers):
        hooks.append(router_input_module(model, m).register_forward_hook(lambda mod, a, o, li=li: normed.__setitem__(li, o.detach())))
        hooks.append(m.router.register_forward_pre_hook(lambda mod, a, li=li: router_in.__setitem__(li, a[0].detach())))
        experts = (
            (model.encoder if m.stack == "encoder" else model.decoder).block[m.block].layer[-1].mlp.experts
            if m.kind == "switch"
            else model.model.layers[m.block].mlp.experts
        )
        # The experts module is called as experts(hidden_states, ids_or_dispatch, weights).
        hooks.append(experts.register_forward_pre_hook(lambda mod, a, li=li: consumed.__setitem__(li, (a[1], a[2]))))
    try:
        with torch.no_grad(), RoutingRecorder(model) as rec:
            run_forward(model, ids, mask)
            got = rec.collect(ids, mask)
    finally:
        for h in hooks:
            h.remove()

    n = int(mask.sum())
    Lm, K, E = len(layers), layers[0].top_k, layers[0].num_experts
    assert got.experts.shape == (n, Lm, K) and got.logits.shape == (n, Lm, E)
    assert got.row.tolist() == [0] * 9 + [1] * 4 + [2] * 7
    assert got.pos.tolist() == list(range(9)) + list(range(4)) + list(range(7))
    np.testing.assert_array_equal(got.token_id, ids[mask.bool()].numpy())
    dropped = 0
    for li, m in enumerate(layers):
        # The router's input is the post-attention-normalised hidden state (not the block's hidden_states).
        x = router_in[li].reshape(-1, router_in[li].shape[-1])
        torch.testing.assert_close(x, normed[li].reshape(x.shape), rtol=0, atol=0)
        with torch.no_grad():
            np.testing.assert_allclose(got.logits[:, li], m.logits(x[real]).float().numpy(), rtol=1e-5, atol=1e-6)
        sel, w = consumed[li]
        if m.kind == "switch":
            onehot = sel.reshape(-1, E)[real]
            kept = onehot.sum(-1) > 0
            assert np.array_equal(got.experts[kept.numpy(), li, 0], onehot[kept].argmax(-1).numpy())
            np.testing.assert_array_equal(got.weights[:, li, 0], (w.reshape(-1)[real] * kept).numpy())
            # Over-capacity tokens: expert skipped, weight 0, id = the expert the router chose (argmax).
            assert np.all(got.weights[~kept.numpy(), li, 0] == 0)
            np.testing.assert_array_equal(got.experts[:, li, 0], got.logits[:, li].argmax(-1))
            dropped += int((~kept).sum())
        else:
            np.testing.assert_array_equal(got.experts[:, li], sel[real].numpy())
            np.testing.assert_array_equal(got.weights[:, li], w[real].float().numpy())
            probs = torch.softmax(torch.from_numpy(got.logits[:, li]), -1)
            top, top_idx = torch.topk(probs, K, -1)
            np.testing.assert_array_equal(got.experts[:, li], top_idx.numpy())
            if getattr(model.config, "norm_topk_prob", True):  # Mixtral always renormalises
                np.testing.assert_allclose(got.weights[:, li].sum(-1), 1.0, rtol=1e-6)
            else:  # OLMoE / Qwen without norm_topk_prob: the plain softmax probabilities
                np.testing.assert_allclose(got.weights[:, li], top.numpy(), rtol=1e-6)
    if name == "switch":
        assert dropped > 0, "the tiny Switch config should overflow some expert"


def test_padding_excluded_and_irrelevant(fam):
    """Each row alone and the padded batch give the same routing for the real tokens."""
    name, model = fam
    lengths = [8, 3, 5]
    ids, mask = right_padded(lengths, seed=3)
    batch = capture_routing(model, ids, mask)
    alone = [capture_routing(model, ids[r : r + 1, :n]) for r, n in enumerate(lengths)]
    assert len(batch) == sum(lengths)
    np.testing.assert_allclose(batch.logits, np.concatenate([a.logits for a in alone]), rtol=1e-4, atol=1e-5)
    solo = np.concatenate([a.experts for a in alone])
    srt = np.sort(batch.logits, 2)[:, :, ::-1]
    K = batch.experts.shape[2]
    clear = (srt[:, :, K - 1] - srt[:, :, K]) > 1e-4
    assert np.array_equal(np.sort(batch.experts, 2)[clear], np.sort(solo, 2)[clear])
    if name == "switch":
        with pytest.raises(ValueError, match="right padding"):
            capture_routing(model, ids, mask.flip(1))
    else:  # decoder-only: left padding routes the same (positions count real tokens only)
        W = ids.shape[1]
        lids, lmask = torch.zeros_like(ids), torch.zeros_like(mask)
        for r, n in enumerate(lengths):
            lids[r, W - n :], lmask[r, W - n :] = ids[r, :n], 1
        left = capture_routing(model, lids, lmask)
        np.testing.assert_array_equal(left.token_id, batch.token_id)
        np.testing.assert_array_equal(left.pos, batch.pos)
        np.testing.assert_allclose(left.logits, batch.logits, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("H", [1, 2])
def test_lookahead_equals_next_router_on_captured_input(fam, H):
    name, model = fam
    layers = find_moe_layers(model)
    ids, mask = right_padded([6, 2])
    real = mask.bool().reshape(-1)
    router_in = {}
    hooks = [
        m.router.register_forward_pre_hook(lambda mod, a, li=li: router_in.__setitem__(li, a[0].detach())) for li, m in enumerate(layers)
    ]
    try:
        with torch.no_grad(), RoutingRecorder(model, lookahead=H) as rec:
            run_forward(model, ids, mask)
            got = rec.collect(ids, mask)
    finally:
        for h in hooks:
            h.remove()
    E = layers[0].num_experts
    assert got.lookahead.shape == (len(got), len(layers), H, E)
    for li, m in enumerate(layers):
        x = router_in[li].reshape(-1, router_in[li].shape[-1])
        for h in range(1, H + 1):
            j = li + h
            if j >= len(layers) or layers[j].stack != m.stack:
                assert np.isnan(got.lookahead[:, li, h - 1]).all()
                continue
            with torch.no_grad():
                out = layers[j].router(x)  # the next router itself, run on layer l's input
            nxt = out[2] if m.kind == "switch" else out[0]
            np.testing.assert_array_equal(got.lookahead[:, li, h - 1], nxt.reshape(-1, E)[real].float().numpy())
    # h=1 at layer l is not layer l+1's own logits (different inputs), but both are finite and shaped alike.
    assert np.isfinite(got.logits).all()
