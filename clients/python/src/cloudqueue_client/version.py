"""The package's version, and the User-Agent its requests carry."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cloudqueue-client")
except PackageNotFoundError:  # installed inside another distribution (the CloudQueue project)
    __version__ = "0.1.0"

USER_AGENT = f"cloudqueue-client/{__version__}"
