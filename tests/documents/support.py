"""Reading generated Word files in the tests, and making small templates to upload."""
from __future__ import annotations

import io
import zipfile


def docx_text(data: bytes) -> str:
    """Every text of the document: body paragraphs, tables (nested too), headers and footers."""
    from docx import Document

    document = Document(io.BytesIO(data))
    parts: list[str] = []

    def walk(container):
        for paragraph in container.paragraphs:
            parts.append(paragraph.text)
        for table in container.tables:
            for row in table.rows:
                for cell in row.cells:
                    walk(cell)

    walk(document)
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_header, section.first_page_footer):
            if part is not None:
                walk(part)
    # Babel separates thousands and the euro sign with no-break spaces: plain spaces here.
    return "\n".join(parts).replace("\u202f", " ").replace("\xa0", " ")


def docx_images(data: bytes) -> int:
    """How many pictures the body shows (drawn signatures, QR code, logo)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("word/document.xml").decode()
    return xml.count("<pic:pic")


def make_template(*paragraphs: str) -> bytes:
    from docx import Document

    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def shown(name: str) -> str:
    """A template paragraph showing a variable (a name inside a list, in a loop over the list)."""
    if "[]." in name:
        items, field = name.split("[].", 1)
        return f"{{% for item in {items} %}}{{{{ item.{field} }}}} {{% endfor %}}"
    return f"{{{{ {name} }}}}"


def convention_template(*extra: str) -> bytes:
    """A convention template showing every mandatory mention, then ``extra`` paragraphs."""
    from trainingmgr.documents.catalogue import mandatory_of

    return make_template("Convention", *map(shown, mandatory_of("convention")), *extra)
