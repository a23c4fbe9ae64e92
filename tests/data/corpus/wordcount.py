"""Count words in text files and print the most common ones."""

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

WORD = re.compile(r"[A-Za-z']+")


def read_words(path: Path) -> list[str]:
    """Return the lower-cased words of a text file."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return [word.lower() for word in WORD.findall(text)]


def count_words(paths: list[Path], stopwords: set[str]) -> Counter[str]:
    """Count the words of all files, leaving out stopwords."""
    counts: Counter[str] = Counter()
    for path in paths:
        words = read_words(path)
        counts.update(word for word in words if word not in stopwords)
    return counts


def load_stopwords(path: Path | None) -> set[str]:
    """Read one stopword per line; no file means no stopwords."""
    if path is None:
        return set()
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.strip().lower() for line in lines if line.strip()}


def format_table(counts: Counter[str], top: int) -> str:
    """Format the most common words as a two-column table."""
    rows = counts.most_common(top)
    width = max((len(word) for word, _ in rows), default=4)
    lines = [f"{'word':<{width}}  count"]
    for word, count in rows:
        lines.append(f"{word:<{width}}  {count:>5}")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", type=Path, help="text files to read")
    parser.add_argument("--top", type=int, default=10, help="how many words to show")
    parser.add_argument("--stopwords", type=Path, help="file of words to ignore")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    missing = [path for path in args.files if not path.exists()]
    if missing:
        print(f"no such file: {missing[0]}", file=sys.stderr)
        return 1
    counts = count_words(args.files, load_stopwords(args.stopwords))
    print(format_table(counts, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
