"""The in-process engine's token tables and prompt tokenization, with a stand-in vocabulary."""

import re

from codels.engines.kv_plan import common_prefix
from codels.engines.llama_tokens import ModelTokens, Vocabulary, special_pattern
from codels.languages.python.keywords import BLOCK_OPENER_WORDS

PIECES = [
    b"if",
    b" if",
    b"\tif",
    b"  if",
    b"iffy",
    b" if_",
    b" if(",
    b" else",
    b"else:",
    b"  ",
    b" x",
    b"async",
    b" case1",
    b"<|fim_prefix|>",
    b"def",
    b"",
]


class VocabularyStub:
    """A tokenizer over :data:`PIECES`: one token per piece, words split on spaces."""

    def n_vocab(self) -> int:
        return len(PIECES)

    def detokenize(self, tokens: list[int]) -> bytes:
        return b"".join(PIECES[token] for token in tokens)

    def tokenize(self, data: bytes, add_bos: bool, special: bool) -> list[int]:
        assert not special
        tokens = [100] if add_bos else []
        return tokens + [1000 + len(word) for word in data.split(b" ") if word]


def test_the_first_token_table_bans_every_token_that_begins_no_word():
    vocabulary = Vocabulary.of(VocabularyStub())
    banned = vocabulary.not_beginning_with(BLOCK_OPENER_WORDS)
    # Today's rule: at most one space or tab, a word, then no letter, digit or underscore.
    rule = re.compile(rb"[ \t]?(?:" + b"|".join(w.encode() for w in BLOCK_OPENER_WORDS) + rb")")
    expected = [
        token
        for token, piece in enumerate(PIECES)
        if not (match := rule.match(piece)) or re.match(rb"[A-Za-z0-9_]", piece[match.end() :])
    ]
    assert [PIECES[token] for token in banned] == [PIECES[token] for token in expected]
    allowed = sorted(set(range(len(PIECES))) - set(banned.tolist()))
    assert [PIECES[token] for token in allowed] == [
        b"if",
        b" if",
        b"\tif",
        b" if(",
        b" else",
        b"else:",
        b"async",
        b"def",
    ]
    assert banned.dtype.name == "int32"


def test_the_first_token_table_is_made_once_per_word_tuple():
    vocabulary = Vocabulary.of(VocabularyStub())
    assert vocabulary.not_beginning_with(("if",)) is vocabulary.not_beginning_with(("if",))
    only_else = vocabulary.not_beginning_with(("else",))
    assert b" if" in [PIECES[token] for token in only_else]
    assert b" else" not in [PIECES[token] for token in only_else]


def test_the_space_tables_hold_tokens_that_begin_with_one_or_two_blanks():
    vocabulary = Vocabulary.of(VocabularyStub())
    assert [PIECES[t] for t in vocabulary.two] == [b"  if", b"  "]
    assert b" x" in [PIECES[t] for t in vocabulary.after("x")]
    assert vocabulary.after("") is vocabulary.two


def test_a_prompt_takes_special_tokens_by_id_and_their_text_elsewhere_as_text():
    special = {"<|fim_prefix|>": 7, "<|fim_suffix|>": 8}
    tokens = ModelTokens(special_ids=special, special_pattern=special_pattern(special))
    assert tokens.tokenize_prompt(VocabularyStub(), "<|fim_prefix|>ab c<|fim_suffix|>") == [
        100,
        7,
        1002,
        1001,
        8,
    ]
    assert ModelTokens().tokenize_prompt(VocabularyStub(), "<|fim_prefix|>") == [100, 1014]


def test_the_common_prefix_leaves_the_last_prompt_token_to_evaluate():
    assert common_prefix([1, 2, 3], [1, 2, 3]) == 2
    assert common_prefix([1, 2, 3, 4], [1, 2, 9, 4, 5]) == 2
    assert common_prefix([], [1]) == 0
