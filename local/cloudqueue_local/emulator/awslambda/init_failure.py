"""Why a function's code failed to start, and where in that code.

The runtime interface client posts ``/runtime/init/error`` when it cannot load the handler;
``InitFailure.describe`` turns that into one line for the console, naming the file and line
of the function's own code where the error comes from.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class InitFailure:
    """The runtime could not load the handler (``/runtime/init/error``).

    ``error_type`` is what the runtime interface client names it, as on Lambda:
    ``Runtime.UserCodeSyntaxError``, ``Runtime.ImportModuleError``, ``Runtime.HandlerNotFound``,
    or the exception's class name for an error raised while the code was imported.
    """

    payload: bytes
    error_type: str

    def describe(self, task_root: Path, project_root: Path) -> str:
        """One line for the console: the error, and the file and line it comes from where known."""
        try:
            body = json.loads(self.payload)
        except ValueError:
            body = {}
        message = str(body.get("errorMessage") or "").strip() if isinstance(body, dict) else ""
        trace = body.get("stackTrace") if isinstance(body, dict) else None
        location = _traced_location(trace, task_root) or _failed_import(message, task_root)
        if location is None:
            return f"{self.error_type}: {message}"
        path, line = location
        shown = path.relative_to(project_root) if path.is_relative_to(project_root) else path
        return f"{self.error_type} in {shown} line {line}: {message}"


# Where awslambdaric's stack traces name a frame: 'File "x.py" Line 3' (syntax errors) or
# 'File "x.py", line 3, in <module>' (an exception raised at import).
_FRAME = re.compile(r'File "(?P<file>[^"]+)",? [Ll]ine (?P<line>\d+)')
_NO_MODULE = re.compile(r"No module named '(?P<module>[\w.]+)'")
_NO_NAME = re.compile(r"cannot import name '(?P<name>\w+)' from '(?P<module>[\w.]+)'")


def _traced_location(trace: object, task_root: Path) -> tuple[Path, int] | None:
    """The deepest frame of the function's own code in an init error's stack trace."""
    entries = trace if isinstance(trace, list) else []
    frames = [match for entry in entries for match in _FRAME.finditer(str(entry))]
    for match in reversed(frames):
        path = (task_root / match["file"]).resolve()
        if path.is_relative_to(task_root):
            return path, int(match["line"])
    return None


def _failed_import(message: str, task_root: Path) -> tuple[Path, int] | None:
    """The import statement a ``Runtime.ImportModuleError`` comes from, which the runtime does
    not report: in the function's code, the most recently edited file that imports the name."""
    if missing := _NO_MODULE.search(message):
        module, name = missing["module"], None
    elif missing := _NO_NAME.search(message):
        module, name = missing["module"], missing["name"]
    else:
        return None
    for path in sorted(task_root.rglob("*.py"), key=_modified, reverse=True):
        try:
            tree = ast.parse(path.read_bytes(), str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
                if name is not None:
                    names = [module] if node.module == module and name in {a.name for a in node.names} else []
                else:
                    names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            if any(found == module or found.startswith(f"{module}.") for found in names):
                return path, node.lineno
    return None


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


__all__ = ["InitFailure"]
