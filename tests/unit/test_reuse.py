from codels.completion.caches import ResultCache, ShownSuggestions

TEXT = "def f(x):\n    return \n\nprint(f(2))\n"
CURSOR = TEXT.index("return ") + len("return ")


def typed(text: str, offset: int, characters: str) -> str:
    return text[:offset] + characters + text[offset:]


def test_typing_the_start_of_the_suggestion_serves_the_rest():
    shown = ShownSuggestions()
    shown.remember("u", TEXT, CURSOR, "x * 2")
    assert shown.typed_ahead("u", typed(TEXT, CURSOR, "x"), CURSOR + 1) == " * 2"
    assert shown.typed_ahead("u", typed(TEXT, CURSOR, "x *"), CURSOR + 3) == " 2"


def test_typing_something_else_or_everything_is_not_typing_ahead():
    shown = ShownSuggestions()
    shown.remember("u", TEXT, CURSOR, "x * 2")
    assert shown.typed_ahead("u", typed(TEXT, CURSOR, "y"), CURSOR + 1) is None
    assert shown.typed_ahead("u", typed(TEXT, CURSOR, "x * 2"), CURSOR + 5) is None
    assert shown.typed_ahead("u", TEXT, CURSOR) is None
    assert shown.typed_ahead("other", typed(TEXT, CURSOR, "x"), CURSOR + 1) is None


def test_an_edit_elsewhere_ends_typing_ahead():
    shown = ShownSuggestions()
    shown.remember("u", TEXT, CURSOR, "x * 2")
    changed_after = typed(TEXT, CURSOR, "x").replace("f(2)", "f(3)")
    assert shown.typed_ahead("u", changed_after, CURSOR + 1) is None
    changed_before = "# note\n" + typed(TEXT, CURSOR, "x")
    assert shown.typed_ahead("u", changed_before, CURSOR + 1 + 7) is None


def test_forgetting():
    shown = ShownSuggestions()
    shown.remember("u", TEXT, CURSOR, "x * 2")
    shown.forget("u")
    assert shown.typed_ahead("u", typed(TEXT, CURSOR, "x"), CURSOR + 1) is None
    shown.remember("u", TEXT, CURSOR, "x * 2")
    shown.remember("u", TEXT, CURSOR, "")  # an empty answer replaces what was shown
    assert shown.typed_ahead("u", typed(TEXT, CURSOR, "x"), CURSOR + 1) is None


def test_result_cache_is_keyed_by_the_text_around_the_cursor_and_bounded():
    cache = ResultCache(capacity=2)
    cache.put(TEXT, CURSOR, "x * 2")
    assert cache.get(TEXT, CURSOR) == "x * 2"
    assert cache.get(TEXT, CURSOR - 1) is None
    cache.put(TEXT, 1, "a")
    cache.put(TEXT, 2, "b")
    assert len(cache) == 2 and cache.get(TEXT, CURSOR) is None
