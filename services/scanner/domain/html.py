"""An inbound mail's HTML made safe to show, and its plain-text version (pure).

Sanitising is nh3's (the Ammonia sanitiser: an HTML5 parser and an allow-list, not patterns):
- no script, no event handler, no form, frame, object, embed, link or meta element;
- no style that loads anything: <style> elements go with their content, and a style attribute
  that names a url(), image-set(), @import, expression() or a CSS escape (which could spell them)
  is dropped whole;
- no remote image is loaded: an <img> whose src is http(s) loses its src and the address is
  recorded in `blocked` (the agent's client may offer to load it); cid: images stay (they point
  to the message's own inline parts), so do data: images; relative addresses are removed;
- links stay, with rel="noopener noreferrer" and target="_blank".

The plain text comes from inscriptis (layout-aware: tables, lists and paragraphs become lines and
columns, not Markdown). It was chosen over html2text, which is GPL-3.0 and writes Markdown
(escaped asterisks, link syntax) where an agent wants plain text; its cost is lxml in the layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape

import nh3

EXTRA_TAGS = {"font", "center", "tfoot", "big", "address"}
GENERIC_ATTRIBUTES = {"style", "align", "valign", "bgcolor", "width", "height", "dir", "lang", "title", "class"}
EXTRA_ATTRIBUTES = {
    "a": {"name", "title"},
    "font": {"color", "face", "size"},
    "img": {"border", "vspace", "hspace"},
    "table": {"border", "cellpadding", "cellspacing", "frame", "rules"},
    "td": {"nowrap"},
    "th": {"nowrap"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}
# What in a style attribute could make the browser fetch something (or run script in old IE).
LOADING_STYLE = re.compile(r"url\s*\(|image-set|image\s*\(|@import|expression|behavior|-moz-binding|\\", re.IGNORECASE)
REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
DATA_IMAGE = re.compile(r"^\s*data:image/(?:png|gif|jpe?g|webp|bmp);", re.IGNORECASE)


@dataclass
class Sanitised:
    html: str
    blocked: list[str] = field(default_factory=list)  # remote images not loaded, in document order


def sanitise(html: str) -> Sanitised:
    """The HTML made safe to show in the agent's client, and the remote images it would have loaded."""
    blocked: list[str] = []

    def attribute(element: str, name: str, value: str) -> str | None:
        if name == "style":
            return None if LOADING_STYLE.search(value) else value
        if element == "img" and name == "src":
            if REMOTE.match(value):
                blocked.append(value.strip())
                return None
            if value.strip().lower().startswith("data:") and not DATA_IMAGE.match(value):
                return None
        if element == "a" and name == "href" and value.strip().lower().startswith("data:"):
            return None  # a data: link opens a document of the sender's making
        return value

    attributes: dict[str, set[str]] = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    for tag, names in EXTRA_ATTRIBUTES.items():
        attributes.setdefault(tag, set()).update(names)
    attributes["*"] = GENERIC_ATTRIBUTES
    clean = nh3.clean(
        html,
        tags=nh3.ALLOWED_TAGS | EXTRA_TAGS,
        clean_content_tags={"script", "style", "title", "head"},
        attributes=attributes,
        attribute_filter=attribute,
        strip_comments=True,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        url_schemes=URL_SCHEMES,
        url_relative="deny",
    )
    return Sanitised(clean, blocked)


def to_text(html: str) -> str:
    """A plain-text version of an HTML body (inscriptis), '' when it has no text."""
    from inscriptis import get_text  # lxml: loaded only for the messages that need it

    try:
        text = get_text(html)
    except Exception:  # lxml refuses some inputs (e.g. only a declaration): fall back
        text = unescape(nh3.clean(html, tags=set()))
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
