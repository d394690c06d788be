"""Fixtures of the eval tests."""

import pytest

from evalhelpers import ict_head_mm


@pytest.fixture(scope="session")
def head():
    """(vertices mm, faces, nose tip) of the ICT-FaceKit neutral skin."""
    return ict_head_mm()
