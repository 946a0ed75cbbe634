"""Reading articles from Markdown files with YAML front matter (the demo KB and editors' imports)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from kb.articles import ArticleCreate


class ArticleImportError(ValueError):
    """A file that cannot be imported; the message names the file, the line and the reason."""


@dataclass(frozen=True)
class ImportedArticle:
    """An article read from a file, with where it came from."""

    source: Path
    article: ArticleCreate


def parse_markdown(path: Path, default_status: str = "published") -> ImportedArticle:
    """Parse one Markdown file: `---` YAML front matter (id, lang, title, questions, tags, …) then the body."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise ArticleImportError(f"{path}:1: a Markdown article must start with '---' front matter")
    end = text.find("\n---", 3)
    if end < 0:
        raise ArticleImportError(f"{path}:1: the front matter opened on line 1 is never closed with '---'")
    try:
        meta = yaml.safe_load(text[3:end]) or {}
    except yaml.YAMLError as error:
        line = getattr(getattr(error, "problem_mark", None), "line", 0) + 2
        raise ArticleImportError(f"{path}:{line}: the front matter is not valid YAML ({error})") from error
    if not isinstance(meta, dict):
        raise ArticleImportError(f"{path}:2: the front matter must be a mapping of field: value")
    body = text[end + 4 :].lstrip("\n")
    fields = {"status": default_status, **meta, "body": body}
    try:
        return ImportedArticle(path, ArticleCreate.model_validate(fields))
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise ArticleImportError(f"{path}: field {where!r}: {problem['msg']}") from error


def read_folder(folder: Path) -> list[ImportedArticle]:
    """Every `*.md` article below a folder, sorted by path; the first bad file stops the import with its reason."""
    return [parse_markdown(path) for path in sorted(Path(folder).rglob("*.md"))]
