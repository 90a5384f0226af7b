"""Declared plugin parameters and the parsing of ``-p key=value``."""

from __future__ import annotations

import pytest

from denoisekit.params import Param, ParamError, params_to_text, resolve_params, split_assignments

DECLARED = (
    Param("sigma", "range", 25.0, 0, 255, help="noise level"),
    Param("strength", "float", 0.5, 0, 1),
    Param("steps", "int", 3, 1, 10),
    Param("clip", "bool", True),
    Param("mode", "str", "fast", choices=("fast", "best")),
)


def test_defaults_when_nothing_is_given():
    assert resolve_params(DECLARED, [], "corruption 'x'") == {
        "sigma": 25.0, "strength": 0.5, "steps": 3, "clip": True, "mode": "fast",
    }


def test_values_are_converted_to_their_declared_types():
    values = resolve_params(DECLARED, ["sigma=30", "strength=0.25", "steps=7", "clip=false", "mode=best"], "x")
    assert values == {"sigma": 30.0, "strength": 0.25, "steps": 7, "clip": False, "mode": "best"}
    assert isinstance(values["sigma"], float) and isinstance(values["steps"], int)


def test_a_mapping_of_texts_is_accepted_too():
    assert resolve_params(DECLARED, {"steps": "2"}, "x")["steps"] == 2


@pytest.mark.parametrize("text, expected", [("10:40", (10.0, 40.0)), ("0:255", (0.0, 255.0)), ("7.5", 7.5),
                                            ("20:20", (20.0, 20.0))])
def test_range_parameters_take_one_value_or_lo_hi(text, expected):
    assert resolve_params(DECLARED, [f"sigma={text}"], "x")["sigma"] == expected


@pytest.mark.parametrize("text, expected", [("true", True), ("1", True), ("yes", True), ("On", True),
                                            ("false", False), ("0", False), ("no", False), ("OFF", False)])
def test_bool_spellings(text, expected):
    assert resolve_params(DECLARED, [f"clip={text}"], "x")["clip"] is expected


@pytest.mark.parametrize(
    "item, fragment",
    [
        ("sigma=300", "outside 0..255"),
        ("sigma=-1", "outside 0..255"),
        ("sigma=10:300", "outside 0..255"),
        ("sigma=40:10", "low end is above the high end"),
        ("sigma=abc", "not a valid range"),
        ("sigma=1:2:3", "not a valid range"),
        ("strength=1.5", "outside 0..1"),
        ("steps=0", "outside 1..10"),
        ("steps=2.5", "not a valid int"),
        ("clip=maybe", "not a valid bool"),
        ("mode=slow", "must be one of fast, best"),
        ("sigma=nan", "not a finite number"),  # NaN passes every bound: it hung `corrupt`
        ("sigma=5:nan", "not a finite number"),
        ("strength=nan", "not a finite number"),
        ("sigma=inf", "not a finite number"),
    ],
)
def test_invalid_values_raise_naming_the_owner_and_the_parameter(item, fragment):
    with pytest.raises(ParamError) as info:
        resolve_params(DECLARED, [item], "corruption 'gaussian'")
    message = str(info.value)
    assert fragment in message
    assert "corruption 'gaussian'" in message
    assert item.split("=")[0] in message


def test_a_bound_on_one_side_only_is_checked():
    lower_only = (Param("size", "int", 8, min=1),)
    upper_only = (Param("rate", "float", 0.1, max=1.0),)
    assert resolve_params(lower_only, ["size=1000000"], "x")["size"] == 1000000
    assert resolve_params(upper_only, ["rate=-5"], "x")["rate"] == -5.0
    with pytest.raises(ParamError, match=r"size=0 is outside 1\.\.$"):
        resolve_params(lower_only, ["size=0"], "x")
    with pytest.raises(ParamError, match=r"rate=2 is outside \.\.1$"):
        resolve_params(upper_only, ["rate=2"], "x")


def test_an_unknown_key_names_the_plugins_parameters():
    with pytest.raises(ParamError) as info:
        resolve_params(DECLARED, ["sigmaa=3"], "corruption 'gaussian'")
    message = str(info.value)
    assert "'sigmaa'" in message and "corruption 'gaussian'" in message
    for p in DECLARED:
        assert p.name in message
    with pytest.raises(ParamError, match="none"):
        resolve_params((), ["x=1"], "corruption 'grayscale'")


@pytest.mark.parametrize("item", ["sigma25", "=3", "  =3", ""])
def test_not_key_value_raises(item):
    with pytest.raises(ParamError, match="key=value"):
        split_assignments([item])
    with pytest.raises(ParamError, match="key=value"):
        resolve_params(DECLARED, [item], "x")


def test_split_assignments_strips_and_keeps_later_values():
    assert split_assignments([" sigma = 25 ", "clip=false", "sigma=30"]) == {"sigma": "30", "clip": "false"}
    assert split_assignments(["expr=a=b"]) == {"expr": "a=b"}


def test_values_as_text_parse_back_to_the_same_values():
    values = resolve_params(DECLARED, ["sigma=5:55", "strength=0.125", "clip=no"], "x")
    texts = params_to_text(values)
    assert texts["sigma"] == "5:55" and texts["clip"] == "False"
    assert resolve_params(DECLARED, texts, "x") == values


def test_describe_and_json_show_type_default_and_bounds():
    sigma = DECLARED[0]
    assert sigma.describe() == "sigma=25 (range, 0..255)"
    assert DECLARED[4].describe() == "mode=fast (str, one of fast|best)"
    assert sigma.to_json() == {"name": "sigma", "type": "range", "default": 25.0, "min": 0, "max": 255,
                               "choices": None, "help": "noise level"}


def test_an_unknown_param_type_is_rejected_when_declared():
    with pytest.raises(ValueError, match="type must be one of"):
        Param("x", "complex")
