"""Post rendering through Jinja templates in ``publisher/templates/posts/``.

Each channel kind has a template ``posts/<kind>.txt.j2``; an OPD may override it with its own
(``PostTemplate`` rows, e.g. a standard KIP footer and hashtags). OPD templates are rendered in
Jinja's sandbox, since they are written by users.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.runtime import new_context
from jinja2.sandbox import SandboxedEnvironment

from .channels.base import RenderContext
from .models import Category
from .timeutil import format_local

CATEGORY_LABELS = {
    Category.BERKALA: "Informasi Berkala",
    Category.SERTA_MERTA: "Informasi Serta Merta",
    Category.SETIAP_SAAT: "Informasi Setiap Saat",
    Category.DIKECUALIKAN: "Informasi Dikecualikan",
}


def _truncate_words(text: str, limit: int, suffix: str = "…") -> str:
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(suffix))]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + suffix


def _filters(env: Environment) -> None:
    env.filters["local"] = lambda moment, tz, fmt="%d-%m-%Y %H:%M": format_local(moment, tz, fmt)
    env.filters["truncate_words"] = _truncate_words
    env.globals["category_label"] = lambda c: CATEGORY_LABELS.get(c, c)


class Renderer:
    """Renders channel post templates, with per-OPD overrides loaded by ``load_overrides``."""

    def __init__(self, load_overrides: Callable[[], dict[tuple[int, str], str]] | None = None):
        self.env = Environment(
            loader=PackageLoader("publisher", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html", "xml")),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # package templates do not change under a running process
        )
        _filters(self.env)
        self.sandbox = SandboxedEnvironment(
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False
        )
        _filters(self.sandbox)
        self._load_overrides = load_overrides
        self._overrides: dict[tuple[int, str], Template] | None = None
        self._lock = threading.Lock()
        self._globals_cache: dict[int, tuple[Template, dict[str, Any]]] = {}

    def refresh(self) -> None:
        """Reload OPD overrides (called when one changes, and periodically by workers)."""
        if self._load_overrides is None:
            self._overrides = {}
            return
        compiled = {
            key: self.sandbox.from_string(body) for key, body in self._load_overrides().items()
        }
        with self._lock:
            self._overrides = compiled
            self._globals_cache.clear()

    def warm(self, kinds: Iterable[str]) -> None:
        """Load the overrides and compile the built-in templates of ``kinds`` now, so the
        first publications after a worker starts do not wait for it."""
        self.refresh()
        for kind in kinds:
            try:
                self.env.get_template(f"posts/{kind}.txt.j2")
            except TemplateNotFound:  # a kind that renders without a template of its own
                continue

    def template_for(self, kind: str, opd_id: int | None) -> Template:
        """The OPD's override for ``kind`` if it has one, else the built-in template."""
        if self._overrides is None:
            self.refresh()
        if opd_id is not None and self._overrides:
            override = self._overrides.get((opd_id, kind))
            if override is not None:
                return override
        return self.env.get_template(f"posts/{kind}.txt.j2")

    def render(self, kind: str, ctx: RenderContext, **extra: Any) -> str:
        """Render ``posts/<kind>.txt.j2`` (or the OPD's override) for one publication."""
        template = self.template_for(kind, ctx.opd.id)
        template_globals = self._globals(template)
        variables = {**template_globals, "item": ctx.item, "opd": ctx.opd,
                     "media": ctx.media, "ctx": ctx, **extra}
        # A shared context with the globals merged in once: Template.render() would copy the
        # globals into a new context on every call, which is most of the cost of a short post
        # rendered thousands of times a second by the queue. This is Template.new_context with
        # the globals as a plain dict: the template's own ChainMap is walked key by key in
        # Python for every context made from it.
        context = new_context(template.environment, template.name, template.blocks, variables,
                              shared=True, globals=template_globals)
        return template.environment.concat(template.root_render_func(context)).strip()

    def _globals(self, template: Template) -> dict[str, Any]:
        cached = self._globals_cache.get(id(template))
        if cached is None or cached[0] is not template:
            cached = (template, dict(template.globals))
            self._globals_cache[id(template)] = cached
        return cached[1]

    @staticmethod
    def check_template(body: str) -> None:
        """Raise jinja2.TemplateSyntaxError if an OPD's template does not compile."""
        SandboxedEnvironment().parse(body)
