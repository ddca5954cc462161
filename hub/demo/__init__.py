"""The demo team's data, loaded by ``salon demo`` and by ``salon up`` the first time, and by the
test suite's fixtures: a small team, three projects and runs whose curves look like training
(``team``), datasets with a few thousand rows (``datasets``), a discussion with mentions
(``discussions``) and a model registry with a review (``models``). Everything goes through the
services as one of the team would, so the audit trail and activity feed read as real use."""

from hub.demo.team import PROJECTS, load_demo, load_people, who_is_who

__all__ = ["PROJECTS", "load_demo", "load_people", "who_is_who"]
