"""Settings: a frozen dataclass with defaults, read from what clients send.

Clients send camelCase keys, bare or under ``codels``. :func:`read_settings` reads each key on its
own with a strict cattrs converter: a bad value keeps that key's previous value and is reported in
a sentence naming the key and what was expected. Bad settings never stop the server.
:class:`Settings` extends :class:`~codels.engines.base.EngineOptions`, and each field declares
its own range, choices and command-line option (:func:`~codels.engines.base.setting`).

Imports cattrs, :mod:`codels.engines.base`, :mod:`codels.languages` (base, registry) and
:mod:`codels.pipeline.prompt`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_type_hints

import cattrs

from codels.engines.base import (
    SETTING_CHOICES,
    SETTING_OPTION,
    SETTING_RANGE,
    EngineOptions,
    setting,
)
from codels.languages.base import Language
from codels.languages.registry import SUPPORTED_LANGUAGE_IDS, setting_language_id
from codels.pipeline.prompt import PromptBudget

log = logging.getLogger(__name__)

AUTOMATIC = "automatic"
"""``triggerMode``: the model runs for the requests an editor makes while the person types."""
MANUAL = "manual"
"""``triggerMode``: the model runs only for explicit requests (a key such as Alt+\\)."""
TRIGGER_MODES = (AUTOMATIC, MANUAL)
_ITEM_CHOICES = "codels.item_choices"
"""Field metadata: the values each item of a list setting may take."""


@dataclass(frozen=True)
class Settings(EngineOptions):
    """Everything a user can configure, under ``codels.*`` in editors.

    The engine's settings are the fields of :class:`EngineOptions`, declared there once; the
    fields below are the rest.
    """

    enabled: bool = True
    """Offer completions at all."""
    max_tokens: int = setting(128, between=(1, 4096), option="most tokens generated")
    """Most tokens generated for one completion."""
    prompt_tokens: int = setting(1536, between=(64, 131072))
    """Token budget of the prompt."""
    suffix_tokens: int = setting(384, between=(0, 8192))
    """Most tokens of text after the cursor in the prompt (384: more right on real modules than
    128; after an edit before it, the engine keeps its cached chunks, shifted)."""
    time_budget_ms: int = setting(0, between=(0, 600_000))
    """After this long, a block completion stops at its last whole line (0: no budget; off by
    default: on the evaluation it cut blocks short, and the bench's p95 did not need it)."""
    show_early_ms: int = setting(250, between=(0, 60_000))
    """After this long, a block completion still being generated is answered with its complete
    lines while the generation goes on; the next request at the same place (typing into it,
    accepting part of it) is served from it (0: wait for the whole block)."""
    speculate: bool = False
    """After a suggestion that ends its line, generate the next line's as if it were accepted."""
    prefill_on_open: bool = True
    """When a document is opened or comes back into focus, evaluate the prompt at its cursor in
    the background, so that the first suggestion there does not start cold (stopped at once by
    any request)."""
    trigger_mode: str = setting(AUTOMATIC, one_of=TRIGGER_MODES)
    """When the model runs: ``automatic`` (for the requests an editor makes while typing) or
    ``manual`` (only for explicit ones; an automatic request is then answered only from a
    suggestion already generated, such as the rest of the one being typed into)."""
    debounce_ms: int = setting(0, between=(0, 5000))
    """How long an automatic request waits before it reaches the model; a newer request for the
    same document meanwhile replaces it (0: no wait; editors wait a little themselves)."""
    invoked_suggestions: int = setting(3, between=(1, 5))
    """Most suggestions for an explicit request (trigger kind ``Invoked``), to cycle through:
    the usual one and others sampled; automatic requests always get one."""
    keep_acceptance_stats: bool = True
    """Count, in a local file, how many suggestions were shown and accepted (``codels stats``;
    nothing is sent anywhere)."""
    complete_in_strings: bool = False
    """Complete inside string literals too."""
    complete_in_comments: bool = False
    """Complete inside comments too."""
    languages: tuple[str, ...] = dataclasses.field(
        default=SUPPORTED_LANGUAGE_IDS, metadata={_ITEM_CHOICES: SUPPORTED_LANGUAGE_IDS}
    )
    """The LSP language ids codels works in (completions and code actions); by default every
    one it reads."""
    ignore_files: tuple[str, ...] = ()
    """More files never read into a prompt, as gitignore patterns (secret files always are)."""
    respect_gitignore: bool = True
    """Never read files that git ignores into a prompt."""
    log_document_text: bool = False
    """Let the log hold document text: prompts, completions, LSP messages (for debugging)."""
    action_prompt: str = setting("chat", one_of=("chat", "fim"))
    """How code actions ask the model to write a function: ``chat`` (the model's instruction
    template) or ``fim`` (fill in the middle); chosen by ``codels eval --action``."""
    action_max_tokens: int = setting(512, between=(16, 4096))
    """Most tokens a code action may generate."""
    check_examples: bool = True
    """Run the docstring's examples on a function the generate action wrote (in the sandbox)
    and try again, up to twice, when one fails."""

    def engine_options(self) -> EngineOptions:
        """The part of the settings that decides what is loaded and how.

        A plain :class:`EngineOptions`: only that class compares equal to the options loaded.
        """
        return EngineOptions(
            **{field.name: getattr(self, field.name) for field in dataclasses.fields(EngineOptions)}
        )

    def works_in(self, language: Language, language_id: str) -> bool:
        """Whether the ``languages`` setting lets codels work in a ``language_id`` document."""
        return setting_language_id(language, language_id) in self.languages

    def prompt_budget(self) -> PromptBudget:
        """The prompt's token budget."""
        return PromptBudget(total_tokens=self.prompt_tokens, suffix_tokens=self.suffix_tokens)


def _declared(key: str) -> dict[str, Any]:
    """The settings whose field metadata holds ``key``, with its value, in field order."""
    return {f.name: f.metadata[key] for f in dataclasses.fields(Settings) if key in f.metadata}


_RANGES: dict[str, tuple[int, int]] = _declared(SETTING_RANGE)
_CHOICES: dict[str, tuple[str, ...]] = _declared(SETTING_CHOICES)
ITEM_CHOICES: dict[str, tuple[str, ...]] = _declared(_ITEM_CHOICES)
"""The list settings whose items are each one of a few values, with those values."""
COMMAND_LINE_OPTIONS: dict[str, str] = _declared(SETTING_OPTION)
"""The settings a command takes as options, with their help: ``--context-size`` sets
``contextSize``."""


def setting_choices(name: str) -> tuple[str, ...] | None:
    """The values setting ``name`` (snake_case) may take, for a setting with a few; else None."""
    return _CHOICES.get(name)


def changed_settings(old: Settings, new: Settings) -> list[str]:
    """The settings ``new`` changes from ``old``, as ``name value`` (for the log)."""
    return [
        f"{camel_case(field.name)} {_shown(getattr(new, field.name))}"
        for field in dataclasses.fields(Settings)
        if getattr(old, field.name) != getattr(new, field.name)
    ]


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def camel_case(name: str) -> str:
    """``context_size`` -> ``contextSize``."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def snake_case(name: str) -> str:
    """``contextSize`` -> ``context_size``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _strict(kind: type) -> Callable[[Any, type], Any]:
    def structure(value: Any, _type: type) -> Any:
        # bool is a subclass of int: a JSON true must not pass as a thread count.
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise TypeError(f"expected {_TYPE_WORDS[kind]}")
        return value

    return structure


def _strings(value: Any, _type: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError("expected a list of strings")
    return tuple(value)


_TYPE_WORDS: dict[Any, str] = {
    bool: "true or false",
    int: "an integer",
    str: "a string",
    tuple[str, ...]: "a list of strings",
}

converter = cattrs.Converter()
"""Structures settings values strictly: no "4" for 4, no "false" for False."""
for _kind in (bool, int, str):
    converter.register_structure_hook(_kind, _strict(_kind))
converter.register_structure_hook_func(lambda kind: kind == tuple[str, ...], _strings)

_FIELD_TYPES: dict[str, Any] = get_type_hints(Settings)


def read_settings(raw: Any, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Read client settings over ``base``; returns the settings and one sentence per problem."""
    base = base or Settings()
    if raw is None:
        return base, []
    if isinstance(raw, Mapping) and isinstance(raw.get("codels"), Mapping):
        raw = raw["codels"]
    if not isinstance(raw, Mapping):
        return base, [
            f"codels settings must be an object of codels.* keys, got {type(raw).__name__}; "
            "using the previous settings"
        ]
    values: dict[str, Any] = {}
    problems: list[str] = []
    fields = {camel_case(f.name): f.name for f in dataclasses.fields(Settings)}
    for key, value in raw.items():
        name = fields.get(key) or (snake_case(key) if snake_case(key) in _FIELD_TYPES else None)
        if name is None:
            log.info("ignoring unknown setting codels.%s", key)
            continue
        if value is None:
            continue
        structured, problem = _setting_value(name, value, base)
        if problem is not None:
            problems.append(problem)
            continue
        values[name] = structured
    settings, problem = _within_context(dataclasses.replace(base, **values), base)
    if problem is not None:
        problems.append(problem)
    return settings, problems


def _setting_value(name: str, value: Any, base: Settings) -> tuple[Any, str | None]:
    """Setting ``name``'s ``value`` structured and checked; else None and the problem."""
    expected = _FIELD_TYPES[name]
    try:
        structured: Any = converter.structure(value, expected)
    except (TypeError, ValueError, cattrs.BaseValidationError):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:39] + "…"
        return None, (
            f"setting codels.{camel_case(name)} should be {_TYPE_WORDS[expected]}, "
            f"got {shown}; keeping {getattr(base, name)!r}"
        )
    low_high = _RANGES.get(name)
    if low_high and not low_high[0] <= structured <= low_high[1]:
        return None, (
            f"setting codels.{camel_case(name)} should be between {low_high[0]} and "
            f"{low_high[1]}, got {structured}; keeping {getattr(base, name)!r}"
        )
    allowed = ITEM_CHOICES.get(name)
    unknown = [item for item in structured if item not in allowed] if allowed else []
    if unknown:
        return None, (
            f"setting codels.{camel_case(name)} may hold only {', '.join(allowed or ())}; "
            f"got {', '.join(map(repr, unknown))}; keeping {list(getattr(base, name))!r}"
        )
    choices = _CHOICES.get(name)
    if choices and structured not in choices:
        return None, (
            f"setting codels.{camel_case(name)} should be one of {', '.join(choices)}, "
            f"got {structured!r}; keeping {getattr(base, name)!r}"
        )
    return structured, None


def _within_context(settings: Settings, base: Settings) -> tuple[Settings, str | None]:
    """``settings``, or ``base``'s three sizes where the prompt and answer overflow the context."""
    if settings.prompt_tokens + settings.max_tokens <= settings.context_size:
        return settings, None
    problem = (
        f"codels.promptTokens ({settings.prompt_tokens}) plus codels.maxTokens "
        f"({settings.max_tokens}) exceed codels.contextSize ({settings.context_size}); "
        "raise contextSize or lower the others (keeping the previous three)"
    )
    kept = dataclasses.replace(
        settings,
        prompt_tokens=base.prompt_tokens,
        max_tokens=base.max_tokens,
        context_size=base.context_size,
    )
    return kept, problem
