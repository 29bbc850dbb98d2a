import json
import math

import pytest

from itc_lab import Alternative, Completion, CostModel, Message, Request, Token, Usage


def make_completion(seed: int = 0, cached: bool = False) -> Completion:
    return Completion(
        text="The answer is 4.",
        model="m",
        backend="test",
        seed=seed,
        tokens=(Token("The", -0.1, (Alternative("The", -0.1), Alternative("A", -2.5))),
                Token(" answer", -0.5), Token(" is 4.", -1.2)),
        prompt_tokens=12,
        completion_tokens=3,
        latency_s=0.25,
        finish_reason="stop",
        cached=cached,
        options={"temperature": 0.8, "stop": ["\n"]},
    )


def test_request_round_trips_through_json():
    req = Request(messages=[{"role": "system", "content": "Be brief."},
                            {"role": "user", "content": "2+2?"}],
                  model="m", temperature=0.3, top_p=0.9, top_k=40, max_tokens=32,
                  stop=["\n", "Q:"], seed=7, top_logprobs=5, think=True)
    again = Request.from_dict(json.loads(json.dumps(req.to_dict())))
    assert again == req
    assert again.key() == req.key()
    assert isinstance(again.messages[0], Message)


def test_request_key_depends_on_seed_model_and_text_only_through_content():
    a = Request(prompt="hi", model="m")
    assert a.key() == Request(prompt="hi", model="m").key()
    assert a.key() != a.with_seed(1).key()
    assert a.key() != a.with_model("other").key()
    assert a.key() != Request(prompt="hi ", model="m").key()
    assert len(a.key()) == 64


@pytest.mark.parametrize("kwargs, words", [
    ({}, "exactly one of prompt"),
    ({"prompt": "x", "messages": [{"role": "user", "content": "y"}]}, "exactly one"),
    ({"messages": []}, "messages is empty"),
    ({"messages": [{"role": "robot", "content": "y"}]}, "role must be one of"),
    ({"prompt": "x", "temperature": -1}, "temperature"),
    ({"prompt": "x", "top_p": 0}, "top_p"),
    ({"prompt": "x", "max_tokens": 0}, "max_tokens"),
    ({"prompt": "x", "seed": -3}, "seed"),
    ({"prompt": "x", "top_logprobs": 50}, "top_logprobs"),
])
def test_bad_requests_say_what_to_do(kwargs, words):
    with pytest.raises(ValueError, match=words):
        Request(**kwargs)


def test_single_stop_string_becomes_tuple():
    assert Request(prompt="x", stop="\n").stop == ("\n",)


def test_completion_round_trips_and_reports_logprobs():
    c = make_completion()
    again = Completion.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c
    assert again.tokens[0].top[1] == Alternative("A", -2.5)
    assert c.has_logprobs
    assert c.mean_logprob == pytest.approx((-0.1 - 0.5 - 1.2) / 3)
    assert c.tokens[0].prob == pytest.approx(math.exp(-0.1))
    assert Completion(text="x", model="m", backend="b", seed=0).mean_logprob is None


def test_unknown_fields_are_rejected_with_the_known_ones_named():
    d = make_completion().to_dict()
    d["colour"] = "red"
    with pytest.raises(ValueError, match="no field"):
        Completion.from_dict(d)


def test_usage_totals_and_cost():
    cm = CostModel(prompt_price=1.0, completion_price=2.0, currency="EUR")
    cs = [make_completion(0), make_completion(1, cached=True)]
    u = Usage.of(cs, cm)
    assert (u.calls, u.prompt_tokens, u.completion_tokens, u.cached_calls) == (2, 24, 6, 1)
    assert u.cost == pytest.approx((24 * 1.0 + 6 * 2.0) / 1e6)
    assert u.latency_s == pytest.approx(0.5)
    assert u.tokens_per_second == pytest.approx(12.0)
    both = u + Usage.of([make_completion(2)], cm)
    assert both.calls == 3 and both.cost == pytest.approx((36 + 18) / 1e6)
    assert Usage.from_dict(json.loads(json.dumps(u.to_dict()))) == u
    assert "EUR" in u.summary()


def test_cost_model_rejects_negative_prices():
    with pytest.raises(ValueError, match="per million"):
        CostModel(prompt_price=-1)


# -- validation: every bad field is a ValueError naming it -----------------------------------------

@pytest.mark.parametrize("kwargs, words", [
    # a huge max_tokens used to reach the engine and silently give 1 token
    ({"max_tokens": 2**63}, r"max_tokens must be a whole number from 1 to 1,000,000"),
    ({"max_tokens": 1_000_001}, r"max_tokens .* 1,000,000"),
    ({"max_tokens": 8.0}, "max_tokens"),
    ({"max_tokens": True}, "max_tokens"),
    # a string used to raise a raw TypeError from the comparison
    ({"top_p": "0.5"}, r"top_p must be a number in \(0, 1\], not '0.5'"),
    ({"top_p": None}, "top_p"),
    ({"temperature": "0.7"}, "temperature"),
    ({"top_k": 4.5}, "top_k"),
    # an empty stop string used to empty every sample; None used to be accepted
    ({"stop": [""]}, "stop\\[0\\] is the empty string"),
    ({"stop": ["\n", ""]}, "stop\\[1\\] is the empty string"),
    ({"stop": [None]}, r"stop\[0\] is None"),
    ({"stop": ["\n", 3]}, r"stop\[1\] is 3 \(int\)"),
    ({"stop": 3}, "stop must be a string or a list of strings"),
    ({"stop": {"a": 1}}, "stop must be a string or a list of strings"),
    ({"prompt": 42}, "prompt must be a string"),
])
def test_bad_fields_are_value_errors_naming_the_field(kwargs, words):
    kwargs = {"prompt": "x", **kwargs}
    with pytest.raises(ValueError, match=words):
        Request(**kwargs)


def test_limits_themselves_are_accepted():
    from itc_lab.types import MAX_SEED, MAX_TOKENS

    assert Request(prompt="x", max_tokens=MAX_TOKENS).max_tokens == 1_000_000
    assert Request(prompt="x", seed=MAX_SEED).seed == 2**32 - 1
    assert Request(prompt="x", stop=None).stop == ()
    assert Request(prompt="x", stop=["\n", "Q:"]).stop == ("\n", "Q:")


# -- seeds: the engines keep 32 bits, so larger seeds are refused, not wrapped ---------------------

@pytest.mark.parametrize("seed", [2**32, 2**32 + 5, 2**63, 2**64 + 1])
def test_seeds_past_32_bits_are_refused(seed):
    # seed 2**32 + i used to give exactly seed i's text on the embedded engine, and every seed
    # from 2**63 up seed 0's
    with pytest.raises(ValueError, match=r"seed must be a whole number from 0 to 4,294,967,295"):
        Request(prompt="x", seed=seed)
    with pytest.raises(ValueError, match="seed"):
        Request(prompt="x").with_seed(seed)


def test_the_seeds_of_a_batch_must_fit_too():
    from itc_lab.backends.base import seeds_of
    from itc_lab.types import MAX_SEED

    assert seeds_of(Request(prompt="x", seed=MAX_SEED - 7), 8)[-1] == MAX_SEED
    with pytest.raises(ValueError, match=r"needs seeds up to 4294967296.*at most 4,294,967,287"):
        seeds_of(Request(prompt="x", seed=MAX_SEED - 7), 9)
