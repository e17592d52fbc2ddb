"""Text handling for the assistant: splitting into passages and sentences, extracting uploads."""

import html
import io
import re
from urllib.parse import urlsplit

PASSAGE_WORDS = 180
PASSAGE_OVERLAP = 30


def https_url(url) -> str:
    """``url`` when it is an absolute https URL with a host, else "" (shown as a title without a link).

    Source links come from Canvas and uploads; anything else (javascript:, data:, http:,
    relative or malformed URLs) is never rendered as a link.
    """
    url = str(url or "")
    if not url or any(c.isspace() or ord(c) < 32 or ord(c) == 127 or c == "\\" for c in url):
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return ""
    if parts.scheme != "https" or not url.lower().startswith("https://") or not host:
        return ""
    return url


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'“(\[]?[A-Z0-9])|\n{2,}|\n(?=\s*[-*•]\s)")


def split_passages(text: str, *, words: int = PASSAGE_WORDS, overlap: int = PASSAGE_OVERLAP) -> list[str]:
    """Split text into passages of about ``words`` words along paragraph lines, with overlap."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    passages: list[str] = []
    current: list[str] = []
    for paragraph in paragraphs:
        tokens = paragraph.split()
        while tokens:
            room = words - len(current)
            current.extend(tokens[:room])
            tokens = tokens[room:]
            if len(current) >= words:
                passages.append(" ".join(current))
                current = current[-overlap:] if tokens else []
        if len(current) >= words * 0.6:
            passages.append(" ".join(current))
            current = []
    if current:
        passages.append(" ".join(current))
    return passages


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s and len(s.strip()) > 2]


_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(p|div|br|li|h[1-6]|tr|section|article|ul|ol)\b[^>]*>", re.I)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1>", re.I | re.S)


def html_to_text(markup: str) -> str:
    markup = _SCRIPT.sub(" ", markup)
    markup = _BLOCK.sub("\n\n", markup)
    return re.sub(r"\n\s*\n+", "\n\n", html.unescape(_TAG.sub(" ", markup))).strip()


class UnsupportedFile(ValueError):
    pass


def extract_text(*, name: str, data: bytes) -> str:
    """Plain text of an uploaded file: .txt, .md, .html/.htm, .pdf."""
    lower = name.lower()
    if lower.endswith((".txt", ".md", ".markdown", ".csv")):
        return data.decode("utf-8", errors="replace")
    if lower.endswith((".html", ".htm")):
        return html_to_text(data.decode("utf-8", errors="replace"))
    if lower.endswith(".pdf"):
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    raise UnsupportedFile("Upload a .txt, .md, .html or .pdf file.")
