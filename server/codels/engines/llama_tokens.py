"""A loaded model's tokens: special-token ids, prompt tokenization and the tables of banned tokens.

The tables are numpy arrays made once per model (and once per word tuple), so a constrained
step converts no ids. This module imports :mod:`codels.models` and, lazily, ``llama_cpp`` and
numpy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from codels.models.catalogue import Family
from codels.models.gguf import ModelFileFacts, normalise_token


@dataclass(frozen=True)
class Vocabulary:
    """Ids of tokens by how they begin: with a space or tab, with two, with a given word."""

    one: Any = ()
    """Tokens that begin with a space or tab."""
    two: Any = ()
    """Tokens that begin with two (spaces or tabs)."""
    pieces: tuple[bytes, ...] = ()
    """Each token's bytes, by id (what :meth:`not_beginning_with` matches words against)."""
    _not_beginning: dict[tuple[str, ...], Any] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, llm: Any) -> Vocabulary:
        """Read them from ``llm``'s vocabulary (about 0.3 s for 150,000 tokens)."""
        import numpy

        one, two, pieces = [], [], []
        for token in range(llm.n_vocab()):
            piece = llm.detokenize([token])
            pieces.append(piece)
            if piece[:1] in (b" ", b"\t"):
                one.append(token)
                if piece[1:2] in (b" ", b"\t"):
                    two.append(token)
        one_ids, two_ids = (numpy.asarray(ids, dtype=numpy.intc) for ids in (one, two))
        return cls(one_ids, two_ids, tuple(pieces))

    def after(self, text: str) -> Any:
        """The tokens that would indent an answer that is ``text`` so far (spaces only)."""
        return self.one if text else self.two

    def not_beginning_with(self, words: tuple[str, ...]) -> Any:
        """Every token but those that begin one of ``words``, made once per word tuple.

        A token begins a word when it is at most one space or tab, then the word, not followed
        by a letter, digit or underscore (``" if"``, ``"else"``, but not ``"iffy"``).
        """
        banned = self._not_beginning.get(words)
        if banned is None:
            import numpy

            alternatives = b"|".join(re.escape(word.encode("utf-8")) for word in words)
            begins = re.compile(rb"[ \t]?(?:" + alternatives + rb")(?![A-Za-z0-9_])")
            ids = [token for token, piece in enumerate(self.pieces) if not begins.match(piece)]
            banned = self._not_beginning[words] = numpy.asarray(ids, dtype=numpy.intc)
        return banned


@dataclass(frozen=True)
class ModelTokens:
    """What the engine needs of a model's tokens besides the model itself."""

    stop_ids: frozenset[int] = frozenset()
    """End of text and the family's cut tokens: sampling one ends generation."""
    special_ids: dict[str, int] = field(default_factory=dict)
    special_pattern: re.Pattern[str] | None = None
    """Splits a prompt at the special tokens' texts (see :func:`special_pattern`)."""
    vocabulary: Vocabulary = field(default_factory=Vocabulary)

    @classmethod
    def of(cls, llm: Any, facts: ModelFileFacts, family: Family | None) -> ModelTokens:
        """Work them out for ``llm``, whose file ``facts`` describe, prompted as ``family``."""
        special = special_token_ids(llm, facts, family)
        cut = family.cut_strings if family else ()
        stop_ids = {llm.token_eos()} | {special[token] for token in cut if token in special}
        vocabulary = Vocabulary.of(llm)
        return cls(frozenset(stop_ids), special, special_pattern(special), vocabulary)

    def tokenize_prompt(self, llm: Any, prompt: str) -> list[int]:
        """Tokens of ``prompt``: the family's special tokens by id, all other text as plain text.

        So a special token's text inside the user's code (``<|fim_prefix|>`` in a string, say)
        stays text and cannot steer the model.
        """
        tokens: list[int] = llm.tokenize(b"", add_bos=True, special=False)
        pattern = self.special_pattern
        pieces = pattern.split(prompt) if pattern is not None else [prompt]
        for index, piece in enumerate(pieces):
            if index % 2:
                tokens.append(self.special_ids[piece])
            elif piece:
                data = piece.encode("utf-8", "replace")
                tokens.extend(llm.tokenize(data, add_bos=False, special=False))
        return tokens


def special_token_ids(llm: Any, facts: ModelFileFacts, family: Family | None) -> dict[str, int]:
    """Token id of each special token text the family's templates and stops use.

    A text the tokenizer maps to one special token takes that id; otherwise (Code Llama spells
    ``<PRE>`` as ``▁<PRE>``) the id llama.cpp gave that role. Texts this vocabulary lacks
    are left out: they stay plain text.
    """
    if family is None:
        return {}
    ids: dict[str, int] = {}
    for text in {*family.special_tokens, *family.stop, *family.markers}:
        if text in facts.single_tokens:
            ids[text] = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)[0]
        elif (token := facts.special_ids.get(normalise_token(text))) is not None:
            ids[text] = token
    return ids


def special_pattern(ids: dict[str, int]) -> re.Pattern[str] | None:
    """A regex that splits a prompt at these special tokens (longest first), capturing them."""
    if not ids:
        return None
    texts = sorted(ids, key=len, reverse=True)
    return re.compile("(" + "|".join(re.escape(text) for text in texts) + ")")


def ban(ids: Any) -> Any:
    """A llama-cpp-python logits processor that rules the token ``ids`` out."""
    import llama_cpp
    import numpy

    def processor(_input_ids: Any, scores: Any) -> Any:
        scores[ids] = -numpy.inf
        return scores

    return llama_cpp.LogitsProcessorList([processor])
