"""Rendering mail from templates: a kind, a language and a context become a subject, text and HTML.

Templates live in one folder per language (``en``, ``zh-CN``), three per kind of mail:
``<kind>.subject.j2``, ``<kind>.txt.j2`` and ``<kind>.html.j2``. Files whose name starts with ``_``
are partials (the HTML frame, the signature, shared wording). A user's override folder has the
same layout and replaces single files; everything it does not hold comes from the built-in set.

The HTML is rendered with autoescaping on, the subject and text with it off, so untrusted text
(meeting subjects, names) is escaped where it could inject markup and kept literal where it
cannot. A field the context lacks is an error, never an empty string: a confirmation that
silently omits the meeting's time is worse than one that is not sent. The body templates also see
``subject``, the rendered subject line.

Every template, built-in or the user's, runs in jinja2's immutable sandbox: a template sees the
fields it is given and their safe attributes, never a module, a function's globals, the
environment or a file (``cycler.__init__.__globals__.os`` is refused), and cannot change the
context. A template that tries is a ``TemplateError``, so its mail is held, not sent.
"""

from __future__ import annotations

import importlib.resources
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mailer.headers import sanitise
from rules.errors import UserError

FALLBACK_LANGUAGE = "en"
SUBJECT_LIMIT = 200
PARTS = ("subject", "txt", "html")

_KIND = re.compile(r"[a-z][a-z0-9_-]*")
_BLANK_RUN = re.compile(r"\n{3,}")


class TemplateError(UserError):
    """A template is missing, broken, or asks for a field the context does not have."""


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def builtin_templates() -> Path:
    """The folder of the built-in templates, installed or in the source tree.

    An installed wheel carries them as ``mailer/templates``; a source checkout has them at the
    top level, beside ``mailer/``.
    """
    installed = importlib.resources.files("mailer") / "templates"
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    source = Path(__file__).resolve().parent.parent / "templates"
    if source.is_dir():
        return source
    raise TemplateError(
        f"the built-in mail templates are missing: looked in {installed} and {source}; "
        "reinstall aeflow"
    )


class Renderer:
    """Renders mail from the built-in templates, with single files replaced from ``override``."""

    def __init__(self, override: Path | None = None) -> None:
        if override is not None and not override.is_dir():
            raise TemplateError(f"{override}: the template override folder does not exist")
        self._builtin = builtin_templates()
        self._folders = (override, self._builtin) if override is not None else (self._builtin,)
        self._environments: dict[str, tuple[jinja2.Environment, jinja2.Environment]] = {}

    def languages(self) -> list[str]:
        """Every language that has a template folder, built in or overridden."""
        return sorted(
            {
                entry.name
                for folder in self._folders
                for entry in folder.iterdir()
                if entry.is_dir() and not entry.name.startswith((".", "_"))
            }
        )

    def kinds(self) -> list[str]:
        """Every kind of mail with its three templates in at least one language."""
        found = set()
        for language in self.languages():
            for folder in self._folders:
                for path in (folder / language).glob("*.subject.j2"):
                    kind = path.name.removesuffix(".subject.j2")
                    if self._complete(kind, language):
                        found.add(kind)
        return sorted(found)

    def render(self, kind: str, language: str, context: Mapping[str, object]) -> RenderedMail:
        """The mail of ``kind`` in ``language`` (or English when that language lacks it)."""
        if not _KIND.fullmatch(kind):
            raise TemplateError(f"{kind!r} is not a kind of mail (expected a name like 'minutes')")
        chosen = self._language_for(kind, self._resolve_language(language))
        text_env, html_env = self._environments_for(chosen)
        subject = sanitise(
            self._render(text_env, f"{kind}.subject.j2", context), limit=SUBJECT_LIMIT
        )
        body = {**context, "subject": subject}
        return RenderedMail(
            subject=subject,
            text=_tidy(self._render(text_env, f"{kind}.txt.j2", body)),
            html=_tidy(self._render(html_env, f"{kind}.html.j2", body)),
        )

    # --- choosing the templates ---------------------------------------------------------------

    def _resolve_language(self, language: str) -> str:
        """The template folder for a language tag: exact match first (ignoring case and ``_``),
        then the same primary language ("zh" or "zh-Hans" -> "zh-CN"), then English."""
        wanted = language.strip().replace("_", "-").lower()
        known = self.languages()
        for name in known:
            if name.lower() == wanted:
                return name
        primary = wanted.split("-", 1)[0]
        for name in known:
            if primary and name.lower().split("-", 1)[0] == primary:
                return name
        return FALLBACK_LANGUAGE

    def _language_for(self, kind: str, language: str) -> str:
        # A mail is rendered whole in one language: a kind missing in the client's language is
        # sent in English rather than with an English subject on a Chinese body.
        for candidate in dict.fromkeys((language, FALLBACK_LANGUAGE)):
            present = [part for part in PARTS if self._find(f"{kind}.{part}.j2", candidate)]
            if len(present) == len(PARTS):
                return candidate
            if present:
                missing = sorted(set(PARTS) - set(present))
                raise TemplateError(
                    f"the templates of {kind!r} in {candidate} are incomplete: "
                    f"{', '.join(f'{kind}.{part}.j2' for part in missing)} missing from "
                    f"{self._searched(candidate)}"
                )
        languages = " and ".join(dict.fromkeys((language, FALLBACK_LANGUAGE)))
        raise TemplateError(
            f"no templates for the kind of mail {kind!r} in {languages}: looked for "
            f"{kind}.subject.j2, {kind}.txt.j2 and {kind}.html.j2 in "
            f"{self._searched(language)}"
            + (f" and {self._searched(FALLBACK_LANGUAGE)}" if language != FALLBACK_LANGUAGE else "")
        )

    def _complete(self, kind: str, language: str) -> bool:
        return all(self._find(f"{kind}.{part}.j2", language) for part in PARTS)

    def _find(self, name: str, language: str) -> Path | None:
        for folder in self._folders:
            path = folder / language / name
            if path.is_file():
                return path
        return None

    def _searched(self, language: str) -> str:
        return ", ".join(str(folder / language) for folder in self._folders)

    def _environments_for(self, language: str) -> tuple[jinja2.Environment, jinja2.Environment]:
        if language not in self._environments:
            loader = jinja2.ChoiceLoader(
                [jinja2.FileSystemLoader(folder / language) for folder in self._folders]
            )
            self._environments[language] = (
                _environment(loader, autoescape=False),
                _environment(loader, autoescape=True),
            )
        return self._environments[language]

    # --- rendering ----------------------------------------------------------------------------

    def _render(self, env: jinja2.Environment, name: str, context: Mapping[str, object]) -> str:
        try:
            return env.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as error:
            where = error.filename or name
            raise TemplateError(f"{where}, line {error.lineno}: {error.message}") from error
        except jinja2.TemplateNotFound as error:
            raise TemplateError(
                f"{_template_line(error) or name}: the template {error.name!r} is missing"
            ) from error
        except SecurityError as error:
            raise TemplateError(
                f"{_template_line(error) or name}: {str(error.message).rstrip('.')}; a template "
                "may use the fields of its mail, not Python's internals or the system"
            ) from error
        except jinja2.UndefinedError as error:
            raise TemplateError(
                f"{_template_line(error) or name}: {error.message} (the context has no such field)"
            ) from error


def _environment(loader: jinja2.BaseLoader, *, autoescape: bool) -> jinja2.Environment:
    # Sandboxed for every template: an override folder is text a user (or whoever can write to
    # it) supplies, and the built-in templates never need more than their context.
    return ImmutableSandboxedEnvironment(
        loader=loader,
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _template_line(error: BaseException) -> str:
    """``file, line N`` of the innermost template frame of ``error``, when there is one.

    Jinja rewrites tracebacks so that frames inside a template carry its file name and line.
    """
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.endswith(".j2")]
    return f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else ""


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one newline at the end.

    Templates may then be laid out for reading, with optional sections that leave blank lines.
    """
    lines = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_RUN.sub("\n\n", lines).strip("\n") + "\n"
