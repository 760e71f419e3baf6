"""What the property-based tests search with (Hypothesis): values of every type for any key of
a params file, and the rule every refusal must keep."""

from hypothesis import strategies as st

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.integers(),  # and beyond: YAML integers have no size limit
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
# Words of advice that must never reach a user about a file they cannot trust, such as torch's
# "re-running torch.load with weights_only set to False will likely succeed".
UNSAFE_ADVICE = ("weights_only", "trust", "set to false", "re-run")


def key_paths(raw: dict, prefix: str = "") -> list[str]:
    """Every key of a nested mapping, as `section.key`, sections included."""
    paths = []
    for key, value in raw.items():
        paths.append(f"{prefix}{key}")
        if isinstance(value, dict):
            paths += key_paths(value, f"{prefix}{key}.")
    return paths


def assert_one_clear_line(error: Exception, prefix: str = "") -> None:
    """A refusal a person can read and act on: one line, naming what was wrong first, with no
    advice to lower a safety check."""
    message = str(error)
    assert message.startswith(prefix) and message.strip(), message
    assert "\n" not in message and "\r" not in message, message
    assert not any(words in message.lower() for words in UNSAFE_ADVICE), message
