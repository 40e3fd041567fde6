"""The real-world corpus (corpus/README.md says where each message comes from)."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "README.md")


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()
