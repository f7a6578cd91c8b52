"""Settings schemas, as both programs load and document them: one error type whose message names
the bad key and the fix, and the reference page generated from a schema."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError


class ConfigError(ValueError):
    """Bad configuration; the message names the key and the fix."""


def describe(error: ValidationError, reference: str) -> str:
    """One line per bad key; `reference` names the page that lists every key."""
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key; remove it or check the spelling (see {reference})")
        else:
            lines.append(f"{key}: {item['msg']} (got {item.get('input')!r})")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def reference_markdown(schema: type[BaseModel], header: list[str]) -> str:
    """A settings reference page, generated from the schema so the two cannot drift apart."""
    lines = list(header)

    def walk(model: type[BaseModel], prefix: str) -> None:
        rows = []
        nested = []
        for name, field in model.model_fields.items():
            annotation = field.annotation
            # Optional sections (e.g. `TlsConfig | None`) are documented like required ones.
            members = [a for a in getattr(annotation, "__args__", ()) if a is not type(None)]
            if len(members) == 1 and isinstance(members[0], type) and issubclass(members[0], BaseModel):
                annotation = members[0]
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                nested.append((name, annotation))
                continue
            default = field.get_default(call_default_factory=True)
            rows.append(f"| `{prefix}{name}` | `{default!r}` | {field.description or ''} |")
        if rows:
            lines.extend([f"## `{prefix.rstrip('.') or 'top level'}`", "", "| key | default | meaning |",
                          "|---|---|---|", *rows, ""])
        for name, sub in nested:
            walk(sub, f"{prefix}{name}.")

    walk(schema, "")
    return "\n".join(lines)
