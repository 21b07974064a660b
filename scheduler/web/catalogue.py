"""Extract the pages' messages and merge them into the vi and en catalogues.

Run `python -m scheduler.web.catalogue` after adding or changing `_()` strings; it keeps
every existing translation and adds new messages with an empty translation to fill in.
`--check` only reports what is missing (the tests run it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import write_po

from scheduler.web import HERE, i18n

METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


def extract() -> Catalog:
    """Collect every translatable message of the web package."""
    template = Catalog(project="wardcast", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(HERE), METHODS, OPTIONS, keywords=DEFAULT_KEYWORDS, strip_comment_tags=True):
        template.add(message, None, [(filename, lineno)], auto_comments=comments,
                     context=context)
    return template


def merged(lang: str, template: Catalog) -> Catalog:
    """The language's catalogue with the template's messages (translations kept)."""
    path = i18n.po_path(lang)
    catalog = i18n.read_catalog(lang) if path.exists() else Catalog(locale=lang)
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    return catalog


def problems(lang: str, template: Catalog) -> list[str]:
    """Messages missing from a catalogue (and, for Vietnamese, left untranslated)."""
    catalog = i18n.read_catalog(lang)
    found = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        if entry is None:
            found.append(f"{lang}: missing {message.id!r}")
        elif lang == i18n.DEFAULT_LANGUAGE and (not entry.string or entry.fuzzy):
            found.append(f"{lang}: untranslated {message.id!r}")
    return found


def write(lang: str, catalog: Catalog) -> Path:
    path = i18n.po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        # no line numbers: they change with every edit and would make merges noisy
        write_po(handle, catalog, width=100, include_lineno=False, omit_header=False)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report missing messages")
    args = parser.parse_args(argv)
    template = extract()
    if args.check:
        found = [p for lang in i18n.LANGUAGES for p in problems(lang, template)]
        for line in found:
            print(line, file=sys.stderr)  # noqa: T201 - a command-line report
        return 1 if found else 0
    for lang in i18n.LANGUAGES:
        print(write(lang, merged(lang, template)))  # noqa: T201 - a command-line report
    return 0


if __name__ == "__main__":
    sys.exit(main())
