"""Reading rendered pages in the catalogue tests: a small HTML tree, the text of ``data-field`` elements,
the errors shown beside form fields, and the values a browser would submit from a form."""
from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# https://html.spec.whatwg.org/#valid-floating-point-number
HTML_FLOAT = re.compile(r"^-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?$")


class Node:
    def __init__(self, tag: str, attrs: dict, parent: Node | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs) -> list[Node]:
        found = []
        for node in self.iter():
            if tag is not None and node.tag != tag:
                continue
            if all(_attr_matches(node, key, value) for key, value in attrs.items()):
                found.append(node)
        return found

    def find(self, tag: str | None = None, **attrs) -> Node | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    @property
    def raw_text(self) -> str:
        parts = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.raw_text)
        return "".join(parts)

    @property
    def text(self) -> str:
        """Text content with runs of ordinary whitespace collapsed (narrow no-break spaces are kept)."""
        return re.sub(r"[ \t\r\n]+", " ", self.raw_text).strip()

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


def _attr_matches(node: Node, key: str, value) -> bool:
    key = key.rstrip("_").replace("_", "-")
    if key == "class":
        return value in node.classes
    if value is True:
        return key in node.attrs
    return node.attrs.get(key) == value


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: ("" if v is None else v) for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, {k: ("" if v is None else v) for k, v in attrs}, self.current)
        self.current.children.append(node)

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def page_of(response) -> Node:
    return parse(response.get_data(as_text=True))


def field_text(page: Node, name: str) -> str:
    """The text of the (first) element carrying ``data-field="name"``."""
    node = page.find(data_field=name)
    assert node is not None, f'no data-field="{name}" on the page'
    return node.text


def field_items(page: Node, name: str) -> list[str]:
    node = page.find(data_field=name)
    assert node is not None, f'no data-field="{name}" on the page'
    return [li.text for li in node.find_all("li")]


def field_errors(page: Node) -> dict[str, list[str]]:
    """{field id: [messages shown beside it]} for every field rendered as invalid."""
    errors: dict[str, list[str]] = {}
    for feedback in page.find_all(class_="invalid-feedback"):
        container = feedback.parent
        control = next((n for n in container.iter() if "is-invalid" in n.classes and n.attrs.get("id")), None)
        key = control.attrs["id"] if control is not None else "?"
        errors.setdefault(key, []).append(feedback.text)
    return errors


def form_errors(page: Node) -> list[str]:
    return [n.text for n in page.find_all(class_="alert-danger")]


def browser_form_data(page: Node, index: int = -1) -> dict[str, str]:
    """What a browser would submit from the page's ``index``-th POST form, untouched.

    Like a browser, an ``<input type="number">`` whose value is not a valid floating-point number is
    submitted empty (HTML value sanitisation), unchecked checkboxes are left out, a select sends its
    selected option (or its first one), and a textarea drops the newline that follows its start tag."""
    forms = [f for f in page.find_all("form") if (f.attrs.get("method") or "").lower() == "post"]
    form = forms[index]
    data: dict[str, str] = {}
    for node in form.iter():
        name = node.attrs.get("name")
        if not name:
            continue
        if node.tag == "input":
            kind = (node.attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "image", "file"):
                continue
            if kind in ("checkbox", "radio"):
                if "checked" in node.attrs:
                    data[name] = node.attrs.get("value") or "on"
                continue
            value = node.attrs.get("value", "")
            if kind == "number" and value and not HTML_FLOAT.match(value):
                value = ""
            data[name] = value
        elif node.tag == "textarea":
            value = node.raw_text
            if value.startswith("\r\n"):
                value = value[2:]
            elif value.startswith("\n"):
                value = value[1:]
            data[name] = value
        elif node.tag == "select":
            options = node.find_all("option")
            chosen = next((o for o in options if "selected" in o.attrs), options[0] if options else None)
            data[name] = "" if chosen is None else chosen.attrs.get("value", chosen.text)
    return data
