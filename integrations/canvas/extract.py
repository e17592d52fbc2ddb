"""Text from Canvas content: HTML to clean text, file text (PDF, DOCX, HTML, TXT, Markdown),
and passages ready for retrieval. Pure functions, no I/O beyond the bytes given."""

import io
import logging
import re
import unicodedata

from bs4 import BeautifulSoup

logger = logging.getLogger(__name__)

_DROP_TAGS = ("script", "style", "noscript", "iframe", "object", "embed", "svg", "template", "head")
_BLOCK_TAGS = (
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
    "blockquote", "pre", "table", "ul", "ol", "dd", "dt", "hr", "figcaption",
)  # fmt: skip
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Extensions and MIME types we extract text from.
TEXT_TYPES = {
    "pdf": ("application/pdf",),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",),
    "html": ("text/html", "application/xhtml+xml"),
    "txt": ("text/plain",),
    "md": ("text/markdown", "text/x-markdown"),
}
_EXTENSIONS = {"pdf": "pdf", "docx": "docx", "html": "html", "htm": "html", "txt": "txt", "md": "md", "markdown": "md"}


def clean_text(text: str) -> str:
    """Normalise text for storage: NFC, no control characters (PostgreSQL refuses NUL), tidy blank lines."""
    text = unicodedata.normalize("NFC", text or "")
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def html_to_text(html: str | None) -> str:
    """Visible text of an HTML fragment; block elements become line breaks, list items get a dash."""
    if not html:
        return ""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all("li"):
        tag.insert(0, "- ")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    return clean_text(soup.get_text())


def file_kind(*, filename: str, content_type: str) -> str | None:
    """'pdf', 'docx', 'html', 'txt' or 'md' when we can extract text from the file, else None."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    mime = (content_type or "").split(";")[0].strip().lower()
    for kind, mimes in TEXT_TYPES.items():
        if mime in mimes:
            return kind
    return None


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def file_to_text(data: bytes, *, kind: str) -> str:
    """Extract the text of a file; ValueError when the file cannot be read."""
    try:
        if kind == "pdf":
            from pypdf import PdfReader

            reader = PdfReader(io.BytesIO(data))
            return clean_text("\n\n".join((page.extract_text() or "") for page in reader.pages))
        if kind == "docx":
            import docx

            document = docx.Document(io.BytesIO(data))
            parts = [p.text for p in document.paragraphs]
            for table in document.tables:
                for row in table.rows:
                    parts.append(" | ".join(cell.text for cell in row.cells))
            return clean_text("\n".join(parts))
        if kind == "html":
            return html_to_text(_decode(data))
        if kind in ("txt", "md"):
            return clean_text(_decode(data))
    except Exception as exc:  # noqa: BLE001 - any parser failure means "unreadable file"
        raise ValueError(f"unreadable {kind} file: {type(exc).__name__}") from exc
    raise ValueError(f"unsupported file kind {kind}")


def split_passages(text: str, *, max_chars: int) -> list[str]:
    """Split text into passages of at most ``max_chars``, on paragraph, then line, then word bounds."""
    text = text.strip()
    if not text:
        return []
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            pieces.append(paragraph)
            continue
        for line in paragraph.split("\n"):
            pieces.extend(_split_long(line.strip(), max_chars))
    passages: list[str] = []
    current = ""
    for piece in pieces:
        if not piece:
            continue
        candidate = f"{current}\n\n{piece}" if current else piece
        if len(candidate) <= max_chars:
            current = candidate
        else:
            if current:
                passages.append(current)
            current = piece
    if current:
        passages.append(current)
    return passages


def _split_long(line: str, max_chars: int) -> list[str]:
    if len(line) <= max_chars:
        return [line]
    out, current = [], ""
    for word in re.split(r"(?<=\s)", line):
        while len(word) > max_chars:  # one enormous "word" (no spaces): hard cut
            if current:
                out.append(current.strip())
                current = ""
            out.append(word[:max_chars])
            word = word[max_chars:]
        if len(current) + len(word) > max_chars:
            out.append(current.strip())
            current = ""
        current += word
    if current.strip():
        out.append(current.strip())
    return out
