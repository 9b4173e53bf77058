"""The served pages' templates: serve/templates first, then the report's (its sections and macros).

The same environment settings as the report (report.html.make_environment): autoescape on for
every template, so a value is escaped unless it is our own markup.
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2
from markupsafe import Markup

from selftaught.report.html import make_environment


@functools.cache
def environment() -> jinja2.Environment:
    return make_environment(jinja2.PackageLoader("selftaught.serve", "templates"))


def render(name: str, **context: Any) -> Markup:
    """A template rendered with `context`; safe as a whole since autoescape escaped every value in it."""
    return Markup(environment().get_template(name).render(**context))
