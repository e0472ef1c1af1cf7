import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers import MixtralConfig, MixtralForCausalLM

from speclab_collect.capture import RoutingRecorder, capture_routing, find_routers, positions

L, E, K = 3, 8, 2


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(123)
    cfg = MixtralConfig(
        vocab_size=300,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=L,
        num_attention_heads=4,
        num_key_value_heads=2,
        num_local_experts=E,
        num_experts_per_tok=K,
        pad_token_id=0,
    )
    return MixtralForCausalLM(cfg).eval()


def padded_batch(lengths, side, seed=0, width=None):
    g = torch.Generator().manual_seed(seed)
    width = width or max(lengths)
    ids = torch.zeros((len(lengths), width), dtype=torch.long)  # 0 is the pad id
    mask = torch.zeros_like(ids)
    for r, n in enumerate(lengths):
        cols = slice(0, n) if side == "right" else slice(width - n, width)
        ids[r, cols] = torch.randint(1, 300, (n,), generator=g)
        mask[r, cols] = 1
    return ids, mask


def test_find_routers(model):
    found = find_routers(model)
    assert [i for i, _ in found] == list(range(L))
    assert all(r is model.model.layers[i].mlp.gate for i, r in found)
    with pytest.raises(ValueError, match="no decoder layers"):
        find_routers(torch.nn.Linear(2, 2))


@pytest.mark.parametrize("side", ["right", "left"])
def test_capture_matches_the_models_own_routing(model, side):
    """One forward pass, three independent views of the routing must agree with what we record:
    the model's output_router_logits, the router recomputed from its input (post-attention RMSNorm output),
    and the expert ids/weights actually handed to the experts module."""
    ids, mask = padded_batch([7, 3, 5], side)
    real = mask.bool().reshape(-1)
    normed, consumed = {}, {}
    hooks = []
    for i, layer in enumerate(model.model.layers):
        hooks.append(layer.post_attention_layernorm.register_forward_hook(lambda m, a, o, i=i: normed.__setitem__(i, o)))
        # MixtralSparseMoeBlock calls experts(hidden_states, top_k_index, top_k_weights).
        hooks.append(layer.mlp.experts.register_forward_pre_hook(lambda m, a, i=i: consumed.__setitem__(i, (a[1], a[2]))))
    try:
        with torch.no_grad(), RoutingRecorder(model) as rec:
            out = model(input_ids=ids, attention_mask=mask, position_ids=positions(mask), output_router_logits=True)
            got = rec.collect(ids, mask)
    finally:
        for h in hooks:
            h.remove()

    n = int(mask.sum())
    assert len(got) == n
    assert got.experts.shape == (n, L, K) and got.weights.shape == (n, L, K) and got.logits.shape == (n, L, E)
    assert got.weights.dtype == np.float32 and got.logits.dtype == np.float32
    # Padding is dropped; tokens come row by row with positions counting real tokens only.
    assert got.row.tolist() == [0] * 7 + [1] * 3 + [2] * 5
    assert got.pos.tolist() == list(range(7)) + list(range(3)) + list(range(5))
    np.testing.assert_array_equal(got.token_id, ids[mask.bool()].numpy())

    assert isinstance(out.router_logits, tuple) and len(out.router_logits) == L
    for layer in range(L):
        # 1. The model's own router logits (flattened [B*S, E], padding included).
        own = out.router_logits[layer][real]
        np.testing.assert_array_equal(got.logits[:, layer], own.float().numpy())
        # 2. The router recomputed from the post-attention-normalised hidden state.
        h = normed[layer].reshape(-1, normed[layer].shape[-1])[real]
        with torch.no_grad():
            recomputed = F.linear(h, model.model.layers[layer].mlp.gate.weight)
        np.testing.assert_allclose(got.logits[:, layer], recomputed.numpy(), rtol=1e-5, atol=1e-6)
        # 3. Exactly the ids and weights the experts module consumed.
        idx, w = consumed[layer]
        np.testing.assert_array_equal(got.experts[:, layer], idx[real].numpy())
        np.testing.assert_array_equal(got.weights[:, layer], w[real].numpy())
        # And they follow Mixtral's rule: softmax over all experts, top-k, renormalise.
        probs = torch.softmax(own.float(), -1)
        top, top_idx = torch.topk(probs, K, -1)
        np.testing.assert_array_equal(got.experts[:, layer], top_idx.numpy())
        np.testing.assert_allclose(got.weights[:, layer], (top / top.sum(-1, keepdim=True)).numpy(), rtol=1e-6)
    # Rank 0 is the first choice.
    assert np.all(got.weights[:, :, 0] >= got.weights[:, :, 1])


def test_padding_does_not_change_routing(model):
    """Left-padded, right-padded and unpadded runs route each real token the same way."""
    lengths = [6, 2, 4]
    right = capture_routing(model, *padded_batch(lengths, "right", seed=1))
    left = capture_routing(model, *padded_batch(lengths, "left", seed=1, width=9))
    ids, mask = padded_batch(lengths, "right", seed=1)
    alone = [capture_routing(model, ids[r : r + 1, :n]) for r, n in enumerate(lengths)]
    np.testing.assert_array_equal(right.token_id, left.token_id)
    np.testing.assert_allclose(right.logits, left.logits, rtol=1e-4, atol=1e-5)
    solo_logits = np.concatenate([a.logits for a in alone])
    np.testing.assert_allclose(right.logits, solo_logits, rtol=1e-4, atol=1e-5)
    solo_experts = np.concatenate([a.experts for a in alone])
    # Expert ids must agree wherever the choice is not a float-rounding coin flip.
    srt = np.sort(right.logits, axis=2)[:, :, ::-1]
    clear = (srt[:, :, K - 1] - srt[:, :, K]) > 1e-4
    for a, b in ((right.experts, left.experts), (right.experts, solo_experts)):
        assert np.array_equal(np.sort(a, 2)[clear], np.sort(b, 2)[clear])


def test_capture_refuses_training_mode(model):
    model.train()
    try:
        with pytest.raises(ValueError, match="training mode"):
            capture_routing(model, torch.ones((1, 3), dtype=torch.long))
    finally:
        model.eval()


def test_recorder_refuses_two_forwards_without_collect(model):
    ids = torch.ones((1, 3), dtype=torch.long)
    # transformers 5.x leaves its own permanent hooks on the routers once output_router_logits was used.
    before = [len(r._forward_hooks) for _, r in find_routers(model)]
    with torch.no_grad(), RoutingRecorder(model) as rec:
        model.model(input_ids=ids)
        with pytest.raises(RuntimeError, match="ran twice"):
            model.model(input_ids=ids)
    # Our hooks are removed on exit.
    assert [len(r._forward_hooks) for _, r in find_routers(model)] == before


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("lookahead", [0, 2])
def test_packed_host_copy_gives_the_same_values(model, dtype, lookahead):
    """On a GPU collect() joins every layer's fields (and the ids and mask) as bytes into one buffer and copies it to
    the host at once; forced on the CPU here, it must give exactly what stacking the router outputs gives."""
    m = model.to(dtype)
    try:
        ids, mask = padded_batch([7, 3, 5], "left", seed=3)
        got = {}
        for pack in (False, True):
            # One recorder for several passes, as a collection run uses it; the second pass unpadded (no selection).
            with torch.no_grad(), RoutingRecorder(m, lookahead=lookahead) as rec:
                rec._pack = pack
                m.model(input_ids=ids, attention_mask=mask, position_ids=positions(mask))
                got[pack] = rec.collect(ids, mask)
                m.model(input_ids=ids[:1, 2:])
                got[(pack, "full")] = rec.collect(ids[:1, 2:])
        for a, b in ((got[False], got[True]), (got[(False, "full")], got[(True, "full")])):
            for name in ("row", "pos", "token_id", "experts", "weights", "logits", "lookahead"):
                x, y = getattr(a, name), getattr(b, name)
                if x is None:
                    assert y is None and lookahead == 0
                    continue
                assert x.dtype == y.dtype and x.shape == y.shape, name
                np.testing.assert_array_equal(x, y, err_msg=name)
        r = got[True]
        assert r.logits.dtype == np.float32 and r.weights.dtype == np.float32 and r.experts.dtype == np.int64
        assert len(r) == 15 and r.row.tolist() == [0] * 7 + [1] * 3 + [2] * 5
        if lookahead:
            assert r.lookahead.shape == (15, L, lookahead, E)
            # Layer l's lookahead h is router l+h applied to layer l's input: NaN past the last layer.
            assert np.isnan(r.lookahead[:, L - 1]).all() and not np.isnan(r.lookahead[:, 0]).any()
        # bf16 logits upcast exactly: every value is representable in the router's dtype.
        if dtype == torch.bfloat16:
            np.testing.assert_array_equal(torch.from_numpy(r.logits).to(dtype).float().numpy(), r.logits)
    finally:
        model.to(torch.float32)
