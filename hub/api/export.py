"""Print the schema's SDL: ``python -m hub.api.export > schema/hub.graphql`` (or make schema)."""

from __future__ import annotations

import sys

from hub.api.schema import sdl

if __name__ == "__main__":
    sys.stdout.write(sdl())
