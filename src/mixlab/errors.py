"""Errors a user can fix, and readers that raise them naming the file and the fix.

A command given a missing, empty or foreign file ends with one line -- `mixlab <command>: error:
<file>: <what is wrong>; <what to do>` and exit status 2 -- instead of a traceback from deep
inside pandas, json or torch.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path


class InputError(ValueError):
    """A file or folder given to mixlab cannot be used; the message names it and the fix."""


@contextlib.contextmanager
def reading(path, what: str, fix: str):
    """Any failure while reading `path` becomes an InputError: `<path>: not <what> (<cause>); <fix>`."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; {fix}")
    try:
        yield path
    except InputError:
        raise
    except IsADirectoryError:
        raise InputError(f"{path}: a folder, expected {what}; {fix}") from None
    except PermissionError:
        raise InputError(f"{path}: not readable (permission denied); check its permissions") from None
    except Exception as exc:  # noqa: BLE001 -- whatever the parser raised, the user's fix is the same
        cause = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not {what} ({cause}); {fix}") from None


def read_csv(path, what: str, fix: str, columns=(), **kwargs):
    """A CSV as a DataFrame, with the columns a caller needs checked by name."""
    import pandas as pd

    with reading(path, what, fix) as p:
        table = pd.read_csv(p, **kwargs)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{path}: not {what} (no column {', '.join(map(repr, missing))}); {fix}")
    return table


def read_json(path, what: str, fix: str, keys=()):
    with reading(path, what, fix) as p:
        data = json.loads(p.read_text())
    missing = [k for k in keys if not isinstance(data, dict) or k not in data]
    if missing:
        raise InputError(f"{path}: not {what} (no key {', '.join(map(repr, missing))}); {fix}")
    return data


def read_yaml(path, what: str, fix: str):
    import yaml

    with reading(path, what, fix) as p:
        return yaml.safe_load(p.read_text())
