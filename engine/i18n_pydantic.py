"""pydantic's validation messages in the current language.

pydantic writes its messages in English only; each error carries its ``type`` and the
numbers of its message (``ctx``), so the common ones are rewritten here from a translated
template. In English, and for a type not listed, pydantic's own message is kept.
"""

from __future__ import annotations

from engine.i18n import N_, _, language

TEMPLATES = {
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "multiple_of": N_("Input should be a multiple of {multiple_of}"),
    "finite_number": N_("Input should be a finite number"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "string_type": N_("Input should be a valid string"),
    "list_type": N_("Input should be a valid list"),
    "tuple_type": N_("Input should be a valid tuple"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a mapping of keys"),
    "literal_error": N_("Input should be {expected}"),
    "too_short": N_("should have at least {min_length} items, found {actual_length}"),
    "too_long": N_("should have at most {max_length} items, found {actual_length}"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "value_error": N_("Value error, {error}"),
}


def pydantic_message(error: dict) -> str:
    """The message of one pydantic error (an item of ``ValidationError.errors()``)."""
    template = TEMPLATES.get(error.get("type"))
    if template is None or language() == "en":
        return error["msg"]
    try:
        return _(template).format(**error.get("ctx", {}))
    except (KeyError, IndexError, ValueError):
        return error["msg"]
