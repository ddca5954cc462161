"""Which extra brings which package: ``pip install salon`` is the light client, the rest comes
with ``salon[server]``, ``[dashboard]``, ``[ray]``, ``[snapshots]``, ``[s3]``, ``[mlflow]`` or
``[all]``. A command that needs a missing one says which install brings it (``needs``), and the
command line turns the ImportError of one that was missing anyway into the same sentence."""

from __future__ import annotations

import importlib.util

# Top-level modules -> the extra whose packages provide them (tests/test_dependencies.py checks
# this against pyproject.toml).
EXTRA_OF = {
    "duckdb": "server",
    "duckdb_extension_httpfs": "server",
    "duckdb_extension_postgres_scanner": "server",
    "duckdb_extension_ducklake": "server",
    "strawberry": "server",
    "graphql": "server",
    "starlette": "server",
    "uvicorn": "server",
    "httpcore": "server",
    "lark": "server",
    "authlib": "server",
    "joserfc": "server",
    "argon2": "server",
    "cryptography": "server",
    "limits": "server",
    "multipart": "server",
    "itsdangerous": "server",
    "jinja2": "server",
    "markdown_it": "server",
    "nh3": "server",
    "standardwebhooks": "server",
    "nbformat": "server",
    "plotly": "server",
    "PIL": "server",
    "prometheus_client": "server",
    "numpy": "server",
    "orjson": "server",
    "streamlit": "dashboard",
    "pandas": "dashboard",
    "ray": "ray",
    "psutil": "ray",
    "kaleido": "snapshots",
    "boto3": "s3",
    "botocore": "s3",
    "mlflow": "mlflow",
    "sqlalchemy": "mlflow",
    "alembic": "mlflow",
    "psycopg": "mlflow",
}


class MissingExtra(Exception):
    """A command needs packages of an extra that is not installed."""

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"This needs Salon's {extra} part, which is not installed ({module} is missing): "
            f"pip install 'salon[{extra}]' (or 'salon[all]' for everything)."
        )
        self.extra = extra


def missing(error: ModuleNotFoundError) -> MissingExtra | None:
    """The extra that would have brought the module ``error`` misses, if any."""
    module = (error.name or "").split(".")[0]
    extra = EXTRA_OF.get(module)
    return MissingExtra(extra, module) if extra else None


def needs(*modules: str) -> None:
    """Raise :class:`MissingExtra` unless every module is importable."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise MissingExtra(EXTRA_OF[module], module)
