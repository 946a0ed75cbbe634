"""Bulk import and export of articles: Markdown files with YAML front matter, CSV and JSON.

A file is imported whole or not at all: a malformed file is reported with its name, line and reason and nothing
from it is stored, while the other files go ahead. An article whose id exists already is updated (a new version
only if something changed); a dry run reports what would be created, updated or left alone without writing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kb.articles import ArticleCreate, ArticleUpdate, create_article, set_status, update_article
from kb.models import Article

IMPORT_SUFFIXES = (".md", ".markdown", ".csv", ".json")
LIST_FIELDS = ("questions", "tags")
CSV_FIELDS = ("id", "lang", "title", "body", "questions", "tags", "topic", "product", "group", "status")
CSV_LIST_SEPARATOR = "|"
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): an export writes such a cell
# with a "'" before it, so a spreadsheet shows it as text (OWASP's advice), and an import takes that "'" off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_QUOTE = "'"


class ArticleImportError(ValueError):
    """A file that cannot be imported; the message names the file, the line and the reason."""


@dataclass(frozen=True)
class ImportedArticle:
    """An article read from a file, with where it came from."""

    source: Path
    article: ArticleCreate
    line: int = 1


def _invalid(source: str, line: int | None, error: ValidationError) -> ArticleImportError:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"]) or "article"
    at = f"{source}:{line}" if line else source
    return ArticleImportError(f"{at}: field {where!r}: {problem['msg']}")


def _validated(source: str, line: int | None, fields: dict[str, Any], default_status: str) -> ImportedArticle:
    fields = {"status": default_status, **fields}
    try:
        return ImportedArticle(Path(source), ArticleCreate.model_validate(fields), line or 1)
    except ValidationError as error:
        raise _invalid(source, line, error) from error


def parse_markdown_text(source: str, text: str, default_status: str = "published") -> ImportedArticle:
    """One Markdown article: `---` YAML front matter (id, lang, title, questions, tags, …) then the body."""
    if not text.startswith("---"):
        raise ArticleImportError(f"{source}:1: a Markdown article must start with '---' front matter")
    end = text.find("\n---", 3)
    if end < 0:
        raise ArticleImportError(f"{source}:1: the front matter opened on line 1 is never closed with '---'")
    try:
        meta = yaml.safe_load(text[3:end]) or {}
    except yaml.YAMLError as error:
        line = getattr(getattr(error, "problem_mark", None), "line", 0) + 2
        raise ArticleImportError(f"{source}:{line}: the front matter is not valid YAML ({error})") from error
    if not isinstance(meta, dict):
        raise ArticleImportError(f"{source}:2: the front matter must be a mapping of field: value")
    body = text[end + 4 :].lstrip("\n")
    return _validated(source, None, {**meta, "body": body}, default_status)


def parse_markdown(path: Path, default_status: str = "published") -> ImportedArticle:
    """Parse one Markdown file (see `parse_markdown_text`)."""
    return parse_markdown_text(str(path), Path(path).read_text(encoding="utf-8"), default_status)


def _split_list(cell: str) -> list[str]:
    r"""A CSV cell's list items: separated by '|', where '\|' is a '|' inside an item and '\\' a backslash.

    >>> _split_list(r"Visa \| Mastercard?|C:\temp|a\\")
    ['Visa | Mastercard?', 'C:\\temp', 'a\\']
    """
    items, current, position = [], [], 0
    while position < len(cell):
        character = cell[position]
        if character == "\\" and cell[position + 1 : position + 2] in ("|", "\\"):
            current.append(cell[position + 1])
            position += 2
            continue
        if character == CSV_LIST_SEPARATOR:
            items.append("".join(current))
            current = []
        else:
            current.append(character)
        position += 1
    return [*items, "".join(current)]


def _is_formula_like(cell: str) -> bool:
    """Whether a cell, past any quotes "'" before it, starts like a formula."""
    return cell.lstrip(FORMULA_QUOTE).startswith(FORMULA_STARTS)


def neutralise_cell(cell: str) -> str:
    r"""A cell a spreadsheet shows as text, never runs: "'" before one that starts like a formula (also one that is
    already quoted that way, so that `unquote_cell` gives every cell back as it was).

    >>> [neutralise_cell(c) for c in ("=1+2", "-5 days", "@SUM(A1)", "\tx", "plain", "'=x", "'plain", "")]
    ["'=1+2", "'-5 days", "'@SUM(A1)", "'\tx", 'plain', "''=x", "'plain", '']
    """
    return FORMULA_QUOTE + cell if _is_formula_like(cell) else cell


def unquote_cell(cell: str) -> str:
    """The cell `neutralise_cell` was given: one "'" off a cell that, past it, starts like a formula.

    >>> [unquote_cell(c) for c in ("'=1+2", "''=x", "'plain", "=1+2")]
    ['=1+2', "'=x", "'plain", '=1+2']
    """
    return cell[1:] if cell.startswith(FORMULA_QUOTE) and _is_formula_like(cell) else cell


def _join_list(items: list[str]) -> str:
    return CSV_LIST_SEPARATOR.join(item.replace("\\", "\\\\").replace("|", "\\|") for item in items)


def parse_csv_text(source: str, text: str, default_status: str = "published") -> list[ImportedArticle]:
    """One article per CSV row; a header names the columns; questions and tags are separated by '|' ('\\|' within
    one)."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = reader.fieldnames or []
    unknown = [name for name in header if name not in CSV_FIELDS]
    if unknown:
        raise ArticleImportError(f"{source}:1: unknown column(s) {', '.join(unknown)}: use {', '.join(CSV_FIELDS)}")
    articles = []
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                raise ArticleImportError(f"{source}:{line}: more cells than the header has columns")
            fields: dict[str, Any] = {k: unquote_cell(v) for k, v in row.items() if v not in (None, "")}
            for name in LIST_FIELDS:
                if name in fields:
                    fields[name] = [part.strip() for part in _split_list(fields[name]) if part.strip()]
            articles.append(_validated(source, line, fields, default_status))
    except csv.Error as error:
        raise ArticleImportError(f"{source}:{reader.line_num}: not valid CSV ({error})") from error
    return articles


def _skip(text: str, position: int, characters: str = " \t\r\n") -> int:
    while position < len(text) and text[position] in characters:
        position += 1
    return position


def _articles_start(text: str, decoder: json.JSONDecoder) -> int:
    """Where the value of the top-level object's last "articles" key starts (the one `json.loads` keeps), however
    the key is spelled (escapes) and whatever strings before it hold."""
    position, start = _skip(text, _skip(text, 0) + 1), -1
    while position < len(text) and text[position] != "}":
        key, position = decoder.raw_decode(text, position)
        position = _skip(text, _skip(text, position) + 1)  # past the colon
        if key == "articles":
            start = position
        _, position = decoder.raw_decode(text, position)
        position = _skip(text, position, " \t\r\n,")
    return start


def _json_items(source: str, text: str) -> list[tuple[int, Any]]:
    """The items of a JSON array (or of {"articles": [...]}) with the line each starts on."""
    decoder = json.JSONDecoder()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ArticleImportError(f"{source}:{error.lineno}: not valid JSON ({error.msg})") from error
    except RecursionError as error:
        raise ArticleImportError(f"{source}:1: the JSON is nested too deeply to be a list of articles") from error
    if isinstance(document, dict) and isinstance(document.get("articles"), list):
        start = _articles_start(text, decoder)
    elif isinstance(document, list):
        start = _skip(text, 0)
    else:
        raise ArticleImportError(f'{source}:1: expected a list of articles or {{"articles": [...]}}')
    items, position = [], start + 1
    while True:
        position = _skip(text, position, " \t\r\n,")
        if position >= len(text) or text[position] == "]":
            return items
        item, end = decoder.raw_decode(text, position)
        items.append((text.count("\n", 0, position) + 1, item))
        position = end


def parse_json_text(source: str, text: str, default_status: str = "published") -> list[ImportedArticle]:
    """Articles from a JSON list of objects with the article's fields (what `export_json` writes)."""
    articles = []
    for line, item in _json_items(source, text):
        if not isinstance(item, dict):
            raise ArticleImportError(f"{source}:{line}: each article must be an object of field: value")
        articles.append(_validated(source, line, item, default_status))
    return articles


def parse_file(source: str, text: str, default_status: str = "published") -> list[ImportedArticle]:
    """The articles in one file, by its suffix; ArticleImportError (file, line, reason) if any is malformed."""
    suffix = Path(source).suffix.lower()
    if suffix in (".md", ".markdown"):
        articles = [parse_markdown_text(source, text, default_status)]
    elif suffix == ".csv":
        articles = parse_csv_text(source, text, default_status)
    elif suffix == ".json":
        articles = parse_json_text(source, text, default_status)
    else:
        raise ArticleImportError(f"{source}: unsupported file type {suffix or '(none)'!r}: use .md, .csv or .json")
    seen: dict[str, int] = {}
    for item in articles:
        article_id = item.article.id
        if article_id is None:
            raise ArticleImportError(
                f"{source}:{item.line}: an imported article needs an id (so a re-import updates it)"
            )
        if article_id in seen:
            raise ArticleImportError(
                f"{source}:{item.line}: id {article_id!r} already appears on line {seen[article_id]}"
            )
        seen[article_id] = item.line
    return articles


def read_sources(path: Path) -> list[tuple[str, str]]:
    """(name, text) of a file, or of every importable file below a folder, sorted by path."""
    path = Path(path)
    if path.is_file():
        return [(str(path), path.read_text(encoding="utf-8"))]
    if not path.is_dir():
        raise ArticleImportError(f"{path}: no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMPORT_SUFFIXES)
    return [(str(p), p.read_text(encoding="utf-8")) for p in files]


def read_folder(folder: Path) -> list[ImportedArticle]:
    """Every `*.md` article below a folder, sorted by path; the first bad file stops with its reason."""
    return [parse_markdown(path) for path in sorted(Path(folder).rglob("*.md"))]


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do), and the files it refused with why."""

    dry_run: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "problems": self.problems,
        }


def _changes(article: Article, incoming: ArticleCreate) -> tuple[ArticleUpdate, str | None]:
    """The edit that turns a stored article into the imported one, and the status to set if it differs."""
    wanted = incoming.model_dump(exclude={"id", "status"}, exclude_unset=True, exclude_none=True)
    for name in LIST_FIELDS:
        if name in wanted:
            wanted[name] = list(dict.fromkeys(wanted[name]))
    edits = {name: value for name, value in wanted.items() if getattr(article, name) != value}
    return ArticleUpdate(**edits), incoming.status if incoming.status != article.status else None


def import_files(
    session: Session,
    files: Iterable[tuple[str, str]],
    author: str,
    dry_run: bool = False,
    default_status: str = "published",
) -> tuple[ImportReport, list[Article]]:
    """Create or update the articles in these (name, text) files (not committed); returns the report and the
    articles that changed (to refresh the index with)."""
    report = ImportReport(dry_run)
    changed: list[Article] = []
    claimed: dict[str, str] = {}
    for source, text in files:
        try:
            items = parse_file(source, text, default_status)
            for item in items:
                article_id = item.article.id or ""
                if article_id in claimed:
                    raise ArticleImportError(
                        f"{source}:{item.line}: id {article_id!r} is also in {claimed[article_id]}"
                    )
        except ArticleImportError as error:
            report.problems.append(str(error))
            continue
        for item in items:
            article_id = item.article.id or ""
            claimed[article_id] = source
            existing = session.get(Article, article_id)
            if existing is None:
                report.created.append(article_id)
                if not dry_run:
                    changed.append(create_article(session, item.article, author))
                continue
            edit, status = _changes(existing, item.article)
            if not edit.model_fields_set and status is None:
                report.unchanged.append(article_id)
                continue
            report.updated.append(article_id)
            if not dry_run:
                if edit.model_fields_set:
                    update_article(session, article_id, edit, author)
                if status is not None:
                    set_status(session, article_id, status, author)
                changed.append(existing)
    return report, changed


def export_records(articles: Iterable[Article]) -> list[dict[str, Any]]:
    """Articles as plain records with exactly the fields an import reads back."""
    return [
        {
            "id": a.id,
            "lang": a.lang,
            "title": a.title,
            "body": a.body,
            "questions": list(a.questions),
            "tags": list(a.tags),
            "topic": a.topic,
            "product": a.product,
            "group": a.group,
            "status": a.status,
        }
        for a in articles
    ]


def export_json(articles: Iterable[Article]) -> str:
    """A JSON document that `parse_json_text` imports back."""
    return json.dumps(export_records(articles), ensure_ascii=False, indent=2) + "\n"


def export_csv(articles: Iterable[Article]) -> str:
    """A CSV document that `parse_csv_text` imports back (questions and tags joined by '|', a '|' in one escaped),
    safe to open in a spreadsheet: no cell runs as a formula (`neutralise_cell`)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in export_records(articles):
        for name in LIST_FIELDS:
            record[name] = _join_list(record[name])
        writer.writerow({k: "" if v is None else neutralise_cell(str(v)) for k, v in record.items()})
    return buffer.getvalue()
