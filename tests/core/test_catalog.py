"""Every UI string is in the catalog, and English is available for each of them."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["core", "people", "events", "registrations", "campaigns", "reports", "templates"]


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found: set[str] = set()
    for folder in SOURCES:
        path = ROOT / folder
        if not path.exists():
            continue
        # babel.cfg patterns are relative to the project root: rebase them on the folder.
        prefix = f"{folder}/"
        local_map = [
            (pattern[len(prefix) :] if pattern.startswith(prefix) else pattern, method)
            for pattern, method in method_map
        ]
        local_options = {
            (k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in options_map.items()
        }
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(path), local_map, local_options, keywords=keywords
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in found if m}


def test_every_string_has_an_english_translation():
    with (ROOT / "locale/en/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh)
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id)
        for m in catalog
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(_extracted() - translated)
    assert not missing, (
        f"{len(missing)} strings lack an English translation (run `make messages`, then "
        f"translate locale/en): {missing[:20]}"
    )


def test_english_placeholders_match():
    with (ROOT / "locale/en/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh)
    import re

    pattern = re.compile(r"%\((\w+)\)[sd]")
    for message in catalog:
        if not message.id or isinstance(message.id, tuple):
            continue
        if message.string:
            assert set(pattern.findall(message.id)) == set(pattern.findall(message.string)), (
                message.id
            )


def test_every_template_compiles():
    """A template that does not parse is also silently skipped by the extraction."""
    from core.templating import templates

    env = templates.env
    names = env.list_templates(extensions=["html", "txt"])
    assert len(names) > 50
    for name in names:
        env.get_template(name)
