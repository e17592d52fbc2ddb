"""``{{ url|https_url }}``: the URL when it is an absolute https URL, else "" (no link)."""

from django import template

from assistant import text

register = template.Library()


@register.filter
def https_url(value) -> str:
    return text.https_url(value)
