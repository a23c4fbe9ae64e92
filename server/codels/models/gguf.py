"""What a GGUF model file says about itself, and which model family that makes it.

A vocabulary-only load through llama.cpp (no weights) gives the metadata and the FIM token ids it
finds in the vocabulary; those pick the family whose ``fim_tokens`` they are, and the
architecture tells apart families that share them (Qwen2.5-Coder and CodeGemma). A model without
FIM tokens completes from the text before the cursor only, and :class:`FamilyChoice` says so.
This module imports :mod:`codels.models.catalogue` and, lazily, ``llama_cpp``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codels.models.catalogue import Catalogue, Family, ModelError, check_gguf

FIM_ROLES = ("pre", "suf", "mid", "pad", "rep", "sep")
"""The FIM token roles llama.cpp knows (prefix, suffix, middle, pad, repository, file separator)."""


@dataclass(frozen=True)
class ModelFileFacts:
    """Metadata of one GGUF file, as llama.cpp reads it."""

    path: str
    architecture: str
    model_name: str
    """``general.name`` (free text chosen by whoever converted the model)."""
    context_length: int | None
    """The trained context length (``<arch>.context_length``)."""
    chat_template: str
    """The Jinja chat template in the file ("" if none)."""
    fim_tokens: dict[str, str] = field(default_factory=dict)
    """FIM role (pre, suf, mid, pad, rep, sep) -> token text, for the roles the vocabulary has."""
    special_ids: dict[str, int] = field(default_factory=dict)
    """Normalised text -> id of the FIM, end-of-text and begin-of-text tokens llama.cpp knows."""
    single_tokens: frozenset[str] = frozenset()
    """Of the texts probed, those that the tokenizer turns into exactly one special token."""

    @property
    def can_infill(self) -> bool:
        """Whether llama.cpp found prefix and suffix FIM tokens."""
        return "pre" in self.fim_tokens and "suf" in self.fim_tokens


@dataclass(frozen=True)
class FamilyChoice:
    """The family picked for a model file, and why (said to the user)."""

    family: Family | None
    """None: no infilling; completions use the text before the cursor only."""
    reason: str
    warning: str = ""
    """Set when the file disagrees with what the catalogue or the settings said."""


def normalise_token(text: str) -> str:
    """A token's text without SentencePiece's word marker and surrounding spaces."""
    return text.replace("\u2581", " ").strip()


def read_model_file(path: Path, probe: Iterable[str] = ()) -> ModelFileFacts:
    """Read ``path``'s metadata with a vocabulary-only llama.cpp load.

    ``probe`` lists token texts to test (each family's special tokens); the facts say which of
    them this vocabulary has as single special tokens.
    """
    import llama_cpp

    check_gguf(path)
    try:
        with _quiet_stderr():
            llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ModelError(
            f"llama.cpp could not read {path} ({exc}); the file may be damaged or made for a "
            "newer llama.cpp"
        ) from exc
    try:
        return facts_from_llama(llm, path, probe)
    finally:
        llm.close()


def facts_from_llama(llm: Any, path: Path | str, probe: Iterable[str] = ()) -> ModelFileFacts:
    """The facts of a loaded ``llama_cpp.Llama`` (full or vocabulary-only)."""
    import llama_cpp

    metadata: dict[str, str] = dict(llm.metadata or {})
    architecture = metadata.get("general.architecture", "")
    context_length: int | None = None
    with contextlib.suppress(ValueError):
        context_length = int(metadata.get(f"{architecture}.context_length", ""))
    vocab = llama_cpp.llama_model_get_vocab(llm._model.model)

    def text_of(token: int) -> str:
        raw = llama_cpp.llama_vocab_get_text(vocab, token)
        return raw.decode("utf-8", "replace") if raw else ""

    fim_tokens: dict[str, str] = {}
    special_ids: dict[str, int] = {}
    for role in FIM_ROLES:
        token = getattr(llama_cpp, f"llama_vocab_fim_{role}")(vocab)
        if token >= 0:
            fim_tokens[role] = text_of(token)
            special_ids[normalise_token(fim_tokens[role])] = token
    for getter in ("llama_vocab_eot", "llama_vocab_eos", "llama_vocab_bos"):
        function = getattr(llama_cpp, getter, None)
        token = function(vocab) if function is not None else -1
        if token >= 0:
            special_ids.setdefault(normalise_token(text_of(token)), token)

    single: set[str] = set()
    for text in set(probe):
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if len(ids) == 1 and (
            len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) > 1
        ):
            single.add(text)
    return ModelFileFacts(
        path=str(path),
        architecture=architecture,
        model_name=metadata.get("general.name", ""),
        context_length=context_length,
        chat_template=metadata.get("tokenizer.chat_template", ""),
        fim_tokens=fim_tokens,
        special_ids=special_ids,
        single_tokens=frozenset(single),
    )


def family_probe(catalogue: Catalogue) -> set[str]:
    """Every special token text the catalogue's families use (a probe for the tokenizer)."""
    texts: set[str] = set()
    for family in catalogue.families.values():
        texts.update(family.special_tokens)
        texts.update(family.stop)
        if family.fim_tokens is not None:
            texts.update(t for t in vars(family.fim_tokens).values() if t)
    return texts


def _fim_matches(family: Family, facts: ModelFileFacts) -> bool:
    """Whether ``family``'s FIM tokens are the ones in this vocabulary."""
    tokens = family.fim_tokens
    if tokens is None:
        return False
    if facts.can_infill:
        wanted = {"pre": tokens.prefix, "suf": tokens.suffix}
        if tokens.middle:
            wanted["mid"] = tokens.middle
        return all(
            normalise_token(facts.fim_tokens.get(role, "")) == normalise_token(text)
            for role, text in wanted.items()
        )
    # llama.cpp did not name FIM tokens (an old conversion): the tokenizer may still know them.
    needed = [t for t in (tokens.prefix, tokens.suffix, tokens.middle) if t]
    return all(text in facts.single_tokens for text in needed)


def choose_family(
    facts: ModelFileFacts, catalogue: Catalogue, declared: str | None = None
) -> FamilyChoice:
    """Pick the family for a model file; ``declared`` is the catalogue's (or the user's) word."""
    candidates = [f for f in catalogue.families.values() if _fim_matches(f, facts)]
    by_architecture = [f for f in candidates if facts.architecture in f.architectures]
    tokens = ", ".join(facts.fim_tokens.get(role, "?") for role in ("pre", "suf", "mid"))
    if declared and any(f.name == declared for f in candidates):
        family = catalogue.families[declared]
        return FamilyChoice(family, f"{family.name}: as the catalogue says; FIM tokens {tokens}")
    ranked = by_architecture or candidates
    pick = ranked[0] if ranked else None
    warning = ""
    if declared and pick is not None:
        warning = (
            f"the catalogue says {declared} but the file's FIM tokens are those of {pick.name}; "
            f"using {pick.name}"
        )
    elif declared and pick is None:
        warning = (
            f"the catalogue says {declared} but the file has none of its FIM tokens; "
            "completing from the text before the cursor only"
        )
    if pick is None:
        found = ", ".join(f"{r}={t}" for r, t in facts.fim_tokens.items()) or "none"
        return FamilyChoice(
            None,
            f"no family: this {facts.architecture or 'unknown'} model has no fill-in-the-middle "
            f"tokens that codels knows (found: {found}), so infilling is unavailable and "
            "completions use the text before the cursor only",
            warning,
        )
    how = f"architecture {facts.architecture}" if pick in by_architecture else "FIM tokens only"
    reason = f"{pick.name}: recognised by its FIM tokens {tokens} ({how})"
    return FamilyChoice(pick, reason, warning)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence llama.cpp's C-level chatter on stderr (it ignores ``verbose`` for some lines)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)
