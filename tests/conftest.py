import pytest
import torch


@pytest.fixture(autouse=True)
def _threads():
    """One intra-op thread: the tests' tensors are small, and extra threads only add contention."""
    torch.set_num_threads(1)
    yield


@pytest.fixture(scope="session")
def sample_scene():
    """The bundled analytic scene, small: 12 views of 48² (mm world frame, object off the origin)."""
    from neuhead.data.analytic import make_sample_scene

    return make_sample_scene(n_views=12, res=48, seed=1)
